"""El informe de `make demo-4`: la tabla de la charla con las cifras medidas, en la terminal y en results/.

    esquemas.md    la tabla (markdown), la escala del stream y la máquina
    esquemas.json  todas las cifras, también cada latencia medida y el lag en el tiempo
    esquemas.png   latencia p50/p99 de cada esquema y el lag del stream con uno y dos consumidores

Solo biblioteca estándar para describir la máquina (Linux y macOS): nada de /proc.
"""

import json
import os
import platform
import shutil
import statistics
import subprocess
import time

from workshop.secrets import mask_url
from workshop.spanish import duration, number

from .common import say
from .stream import describe_cost

REST_CLIENTS = 4  # hilos de la app que llaman a la API a la vez
TALK = {"batch": ("Base de datos compartida (por lotes)", "alta", "fácil"),
        "rest": ("API REST (al vuelo)", "media", "media"),
        "stream": ("Streaming (cola de mensajes)", "baja", "muy difícil")}


def percentiles(values):
    """p50 y p99 (en segundos), método «inclusive» de statistics: estable también con pocos datos."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (None, None)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def timeline(samples, points=8):
    """Unos pocos puntos «tiempo: lag» repartidos por la ráfaga, para leerlos en la terminal."""
    if not samples:
        return "—"
    step = max(1, len(samples) // points)
    chosen = samples[::step]
    if chosen[-1] is not samples[-1]:
        chosen.append(samples[-1])
    return " · ".join(f"{number(t, 1)} s: {number(value, 0)}" for t, value in chosen)


def needs(database_url, workers, consumers):
    """Qué necesita cada esquema (los procesos que arrancó la demo, contados) y cómo falla."""
    database = "servidor PostgreSQL" if database_url.startswith("postgres") else "archivo SQLite"
    return {
        "batch": {"processes": f"1 trabajo programado (cron) + {database}",
                  "failure": "trabajo caído → la app sigue viendo las predicciones anteriores (obsoletas), "
                             "nunca a medias (una transacción)"},
        "rest": {"processes": f"gunicorn: 1 maestro + {workers} workers (y un balanceador en producción)",
                 "failure": "API caída o saturada → la app recibe un error y tiene que reintentar; la punta de "
                            "carga llega entera a la API"},
        "stream": {"processes": f"redis-server + {consumers} consumidores (+ el productor en la app)",
                   "failure": "consumidor caído → otro reclama sus pendientes; mensaje venenoso → muertos tras "
                              "N intentos; broker caído → la app y los consumidores reintentan y siguen al volver "
                              "(con el AOF, sin perder nada)"},
    }


def table_rows(results, settings, needed):
    """Una fila por esquema: las palabras de la charla, las cifras medidas, el calendario y lo que necesita."""
    latency, throughput = results["latency"], results["throughput"]
    staleness = settings.interval / 2 + results["job_seconds"]
    calendars = {"batch": f"cada {number(settings.interval, 1)} s: antigüedad media de la predicción "
                          "≈ intervalo/2 + duración "
                          f"= {duration(staleness)} (cada noche: ≈ 12 h)",
                 "rest": "al momento, en cada petición", "stream": "al momento, en cada evento"}
    return [{"scheme": name, "title": title, "talk_latency": talk_latency, "talk_management": talk_management,
             "p50_s": latency[name]["p50_s"], "p99_s": latency[name]["p99_s"], "read": latency[name]["read"],
             "sent": latency[name]["sent"], "per_s": throughput[name]["per_s"], "calendar": calendars[name],
             **needed[name]}
            for name, (title, talk_latency, talk_management) in TALK.items()]


def write_report(results, settings, version, started, needed):
    """Escribe esquemas.json, .md y .png en SCHEMES_OUTPUT e imprime la tabla en la terminal."""
    rows = table_rows(results, settings, needed)
    environment = machine()
    environment["duración de la demo"] = duration(time.monotonic() - started)
    # Los ajustes, con las URL de DATABASE_URL y REDIS_URL sin su contraseña.
    payload = {"environment": environment, "settings": {k: mask_url(str(v)) for k, v in vars(settings).items()},
               "model_version": version, "rows": rows, "scale": results["scale"],
               "durability": results.get("durability"),
               "latency_samples": {name: results["latency"][name]["samples"] for name in TALK}}
    output = settings.output
    output.mkdir(parents=True, exist_ok=True)
    (output / "esquemas.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    (output / "esquemas.md").write_text(markdown(rows, environment, settings, version, results["scale"],
                                                 results.get("durability")), encoding="utf-8")
    write_chart(output / "esquemas.png", payload, environment, settings)
    say("\n== 3. La tabla de la charla, medida en esta máquina\n")
    say(terminal_table(rows))
    say(f"\nTabla: {output / 'esquemas.md'} · gráfico: {output / 'esquemas.png'} · "
        f"duración: {environment['duración de la demo']}")


def terminal_table(rows):
    """La tabla de la charla en columnas alineadas, y debajo qué necesita cada esquema y cómo falla."""
    header = ("esquema", "latencia (charla)", "medida p50", "p99", "rendimiento", "gestión (charla)")
    lines = [[row["title"], row["talk_latency"], duration(row["p50_s"]), duration(row["p99_s"]),
              f"{number(row['per_s'], 0)} pred/s", row["talk_management"]] for row in rows]
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    text = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in [header, *lines]]
    text.insert(1, "  ".join("-" * width for width in widths))
    for row in rows:
        text += ["", f"{row['title']}", f"  necesita: {row['processes']}", f"  calendario: {row['calendar']}",
                 f"  modos de fallo: {row['failure']}"]
    return "\n".join(text)


def markdown(rows, environment, settings, version, scale, durability=None):
    header = ["esquema", "latencia (charla)", "medida p50 / p99", "rendimiento", "gestión (charla)", "qué necesita",
              "modos de fallo", "calendario"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join([row["title"], row["talk_latency"],
                                 f"{duration(row['p50_s'])} / {duration(row['p99_s'])}",
                                 f"{number(row['per_s'], 0)} pred/s", row["talk_management"], row["processes"],
                                 row["failure"], row["calendar"]]) + " |" for row in rows]
    parts = ["# Tres esquemas de integración, medidos", "",
             "Generado por `make demo-4`. Las cifras dependen de la máquina y de su carga.", "", *table, "",
             "- **Latencia** de extremo a extremo: desde que existe el dato de la paciente (fila guardada, evento "
             "publicado o petición enviada) hasta que la app puede leer su predicción. "
             f"{settings.patients} pacientes en {number(settings.seconds, 1)} s, cada una por los tres caminos.",
             f"- **Rendimiento** con una ráfaga de {number(settings.burst, 0)} pacientes: base de datos = lo que "
             f"puntúa el trabajo por segundo; API = predicciones/s con {REST_CLIENTS} clientes a la vez y una "
             "paciente por petición; stream = eventos/s desde el primero publicado hasta el último resultado, con un "
             "consumidor.",
             "- Coste simulado por evento en los consumidores (SCHEMES_EVENT_COST_MS): "
             f"{describe_cost(settings.cost_ms)}.",
             f"- Modelo {version}, el mismo en los tres esquemas.",
             "- Redis de la demo: AOF con appendfsync always (un evento cuyo XADD respondió sobrevive a un "
             "reinicio). " + (f"Su precio, XADD de uno en uno: {number(durability['always'], 0)}/s frente a "
                              f"{number(durability['everysec'], 0)}/s con everysec." if durability else
                              "El de REDIS_URL: su persistencia es la suya."), "",
             "## Escala elástica del stream", "",
             "| consumidores | eventos | hasta el último resultado | eventos/s | pico de lag |",
             "|---|---|---|---|---|"]
    parts += [f"| {consumers} | {number(run['events'], 0)} | {duration(run['seconds'])} | {number(run['per_s'], 0)} | "
              f"{number(run['peak'], 0)} |" for consumers, run in scale.items()]
    parts += ["", "## Máquina y parámetros", "", "| dato | valor |", "|---|---|"]
    parts += [f"| {key} | {value} |" for key, value in environment.items()]
    parts += [f"| {name} | {value} |" for name, value in (
        ("SCHEMES_PATIENTS", settings.patients), ("SCHEMES_SECONDS", number(settings.seconds, 1)),
        ("SCHEMES_BATCH_INTERVAL", number(settings.interval, 1)), ("SCHEMES_BURST", number(settings.burst, 0)),
        ("SCHEMES_EVENT_COST_MS", describe_cost(settings.cost_ms)))]
    return "\n".join(parts) + "\n"


def machine():
    return {"fecha": time.strftime("%Y-%m-%d %H:%M"), "núcleos": cores(), "CPU": cpu_name(),
            "sistema": platform.platform(), "python": platform.python_version(),
            "carga media (1 min) al terminar": number(os.getloadavg()[0], 2)}


def cores():
    """Los núcleos que puede usar este proceso: `os.process_cpu_count` (Python ≥ 3.13) o `os.cpu_count`."""
    counter = getattr(os, "process_cpu_count", None) or os.cpu_count
    return counter() or 1


def cpu_name():
    """El modelo de CPU: `sysctl` en macOS, `lscpu` en Linux; si no se puede saber, la arquitectura."""
    commands = {"Darwin": ["sysctl", "-n", "machdep.cpu.brand_string"], "Linux": ["lscpu"]}
    command = commands.get(platform.system())
    fallback = platform.processor() or platform.machine() or "?"
    if not command or not shutil.which(command[0]):
        return fallback
    try:
        text = subprocess.run(command, capture_output=True, text=True, timeout=5,
                              env={**os.environ, "LC_ALL": "C"}).stdout
    except (OSError, subprocess.SubprocessError):
        return fallback
    if command[0] == "lscpu":
        text = next((line.split(":", 1)[1] for line in text.splitlines() if line.startswith("Model name:")), "")
    return text.strip() or fallback


def write_chart(path, payload, environment, settings):
    import matplotlib

    matplotlib.use("Agg")  # sin pantalla: solo se guarda el PNG
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    rows = payload["rows"]
    for offset, key in enumerate(("p50_s", "p99_s")):
        left.bar([i + (offset - 0.5) * 0.4 for i in range(len(rows))], [row[key] or 0 for row in rows], 0.4,
                 label=key[:3])
    left.set_yscale("log")
    left.set_xticks(range(len(rows)), [row["title"].replace(" (", "\n(") for row in rows], fontsize=8)
    left.set_ylabel("tiempo (escala logarítmica)")
    left.set_title("Latencia de extremo a extremo: del dato a la predicción legible")
    left.legend()
    for consumers, run in payload["scale"].items():
        times, values = zip(*run["samples"], strict=True)
        right.plot(times, values, label=f"{consumers} consumidor{'es' if int(consumers) > 1 else ''}")
    right.set_xlabel("segundos desde el primer evento de la ráfaga")
    right.set_ylabel("eventos sin procesar (lag + pendientes)")
    right.set_title(f"Stream: ráfaga de {number(settings.burst, 0)} eventos; coste simulado por evento: "
                    f"{describe_cost(settings.cost_ms)}", fontsize=10)
    right.legend()
    # Números a la española en los ejes: «10 ms», «1,5 s», «2.000».
    left.yaxis.set_major_formatter(FuncFormatter(lambda value, _: duration(value)))
    right.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}".replace(".", ",")))  # 0,05 · 1,5
    right.yaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value, 0)))
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.suptitle(f"{environment['núcleos']} núcleos · {environment['fecha']} · las cifras varían según la máquina",
                    fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
