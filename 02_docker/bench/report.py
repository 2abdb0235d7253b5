"""Los resultados, en español: bench.json (crudo), bench.md (tablas y objetivos) y bench.png (gráfico).

Números en formato español: 1.234,5 peticiones/s; latencias como «2,10 ms».
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # sin pantalla: solo se guarda el PNG
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from workshop.spanish import duration, number  # noqa: E402

from .overload import overload_part  # noqa: E402
from .record import chart_title, read_record, results_of  # noqa: E402
from .servers import CONFIGS, FLOOD, HIGH, LOW  # noqa: E402

MAIN, SKLEARN, REFERENCE, KEYED = "gevent", "gevent-sklearn", "fastapi", "gevent-clave"
SHEDDING = (MAIN, "gevent-descarte-50", "gevent-sin-descarte")  # las filas de FLOOD conexiones
KINDS = {"health": "salud (GET)", "miss": "/v1/predict, fallo de caché", "hit": "/v1/predict, acierto de caché",
         "batch": "/v1/predict, lote de 100"}
ENGINE_LABELS = {"onnx": "ONNX Runtime", "sklearn": "scikit-learn"}
ENGINES = {"onnx": "ONNX Runtime (grafo ONNX)", "sklearn": "scikit-learn (predict_proba del pipeline)"}
# Objetivos de la configuración tal cual, en una misma ejecución: se miden e informan, no son pruebas.
MISS_OVER_HIT, MISS_OVER_HEALTH, P99_LOW_MS, OVER_REFERENCE = 0.9, 0.75, 2.0, 3.0


# ------------------------------------------------------------------ Formato español (workshop.spanish)

def latency(value):
    """Una latencia en milisegundos, con `workshop.spanish.duration`: «0,83 ms», «45,3 ms», «1,37 s»."""
    return duration(None if value is None else value / 1000)


def seconds(value, limit):
    return f"> {number(limit, 0)} s (bloqueado)" if value is None else latency(value * 1000)


def scenario_label(key):
    kind, connections = key.rsplit("-", 1)
    return f"{KINDS[kind]}, {number(int(connections), 0)} conexiones"


def not_ok(result):
    """Las respuestas que no son 2xx, por código: «0», «242 (503)», «3 (401: 1, 503: 2)»."""
    codes = {code: count for code, count in result.get("statuses", {}).items() if not code.startswith("2")}
    total = sum(codes.values())
    if len(codes) > 1:
        return f"{number(total, 0)} (" + ", ".join(f"{code}: {number(n, 0)}" for code, n in sorted(codes.items())) + ")"
    return f"{number(total, 0)} ({next(iter(codes))})" if codes else "0"


def answered(result):
    """La parte de las respuestas que fueron 2xx (las 503 cuentan como respuestas)."""
    return result["ok"] / result["requests"] if result.get("requests") else None


def cpu_per_request(result):
    """µs de CPU de los workers por respuesta, en la medida (psutil)."""
    spent = result.get("worker_cpu_s")
    return spent / result["requests"] * 1e6 if spent and result.get("requests") else None


def console_line(name, summary, batch=False):
    """La línea que se imprime tras cada medida."""
    items = f"  {number(summary['items_per_s'], 0)} pred/s" if batch else ""
    ok = (f"  p99 de las 2xx {latency(summary['ok_p99_ms'])} (en régimen {latency(summary.get('steady_ok_p99_ms'))})"
          if summary.get("ok_p99_ms") is not None else "")
    return (f"  {name:<22} {number(summary['rps'], 0):>7} pet/s{items}  p50 {latency(summary['p50_ms'])}  "
            f"p99 {latency(summary['p99_ms'])}{ok}  no 2xx {not_ok(summary)}  sin respuesta "
            f"{number(summary.get('socket_errors', 0) + summary.get('unanswered', 0), 0)}")


# ------------------------------------------------------------------ Tablas

def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def index(results):
    return {(r["config"], r["scenario"]): r for r in results}


def get(table, config, scenario, key="rps"):
    return table.get((config, scenario), {}).get(key)


def ratio(a, b):
    return a / b if a and b else None


def verdict(value, ok):
    return "—" if value is None else "sí" if ok else "**no**"


def targets(results):
    """(objetivo, medido, ¿cumple?) de la configuración tal cual."""
    t = index(results)
    miss = get(t, MAIN, f"miss-{LOW}")
    over_hit, over_health = ratio(miss, get(t, MAIN, f"hit-{LOW}")), ratio(miss, get(t, MAIN, f"health-{LOW}"))
    p99_low = get(t, MAIN, f"miss-{LOW}", "p99_ms")
    over_reference = ratio(get(t, MAIN, f"miss-{HIGH}"), get(t, REFERENCE, f"miss-{HIGH}"))
    high = [r for kind in ("health", "hit", "miss") if (r := t.get((MAIN, f"{kind}-{HIGH}")))]
    shed = sum(r["requests"] - r["ok"] + r["socket_errors"] for r in high) if high else None
    return [
        (f"fallo de caché ÷ acierto de caché, {LOW} conexiones ≥ {number(MISS_OVER_HIT, 2)}",
         number(over_hit, 2), verdict(over_hit, over_hit and over_hit >= MISS_OVER_HIT)),
        (f"fallo de caché ÷ salud, {LOW} conexiones ≥ {number(MISS_OVER_HEALTH, 2)}",
         number(over_health, 2), verdict(over_health, over_health and over_health >= MISS_OVER_HEALTH)),
        (f"p99 de /v1/predict, {LOW} conexiones ≤ {latency(P99_LOW_MS)}", latency(p99_low),
         verdict(p99_low, p99_low is not None and p99_low <= P99_LOW_MS)),
        (f"fallo de caché a {HIGH} conexiones ≥ {number(OVER_REFERENCE, 0)} × la referencia FastAPI",
         f"{number(over_reference, 2)} ×" if over_reference else "—",
         verdict(over_reference, over_reference and over_reference >= OVER_REFERENCE)),
        (f"ninguna respuesta no 2xx ni sin respuesta a {HIGH} conexiones (salud, acierto y fallo de caché)",
         number(shed, 0), verdict(shed, shed == 0)),
    ]


def ratios(results):
    """Cociente /v1/predict (fallo de caché) ÷ salud de cada configuración, a 2 y a 16 conexiones."""
    t = index(results)
    rows = []
    for config in dict.fromkeys(r["config"] for r in results):
        values = [ratio(get(t, config, f"miss-{c}"), get(t, config, f"health-{c}")) for c in (LOW, HIGH)]
        if any(values):
            rows.append([config, *(number(v, 2) for v in values)])
    return rows


def results_rows(results):
    rows = []
    for r in results:
        counted = r["scenario"][:3] in ("mis", "hit") and r["cache_hit"] + r["cache_miss"] > 0  # con X-Cache
        cache = f"{number(r['cache_hit'], 0)}/{number(r['cache_miss'], 0)}" if counted else "—"
        items = number(r["items_per_s"], 0) if not r["scenario"].startswith("health") else "—"
        share = "/".join(number(value, 0) for value in r.get("worker_cpu", [])) + " %" if r.get("worker_cpu") else "—"
        rows.append([r["config"], scenario_label(r["scenario"]), number(r["rps"], 0), items, latency(r["p50_ms"]),
                     latency(r["p99_ms"]), latency(r["max_ms"]), not_ok(r),
                     number(r.get("socket_errors", 0) + r.get("unanswered", 0), 0),
                     cache, share, number(cpu_per_request(r), 0)])
    return rows


def compare(results, configs, scenarios):
    """Una fila por configuración: peticiones/s y p99 de cada escenario."""
    t = index(results)
    rows = []
    for config in configs:
        if any((config, s) in t for s in scenarios):
            cells = []
            for s in scenarios:
                cells += [number(get(t, config, s), 0), latency(get(t, config, s, "p99_ms"))]
            rows.append([config, *cells])
    return rows


def compare_header(scenarios):
    header = ["configuración"]
    for s in scenarios:
        kind, connections = s.rsplit("-", 1)
        short = {"health": "salud", "miss": "predict", "batch": "lote"}.get(kind, kind)
        header += [f"{short} {connections} con. pet/s", f"{short} {connections} con. p99"]
    return header


def engine_rows(floor):
    return [[ENGINES[name], number(values["one"], 1), number(values["batch_row"], 2)]
            for name, values in floor["engines"].items()]


def header_part(environment, settings, measured):
    descriptions = {c.name: c.description for c in CONFIGS}
    return [
        "# Benchmark de la API de riesgo de diabetes", "",
        "Generado por `make bench`. Las cifras dependen de la máquina y de lo que haga a la vez: "
        "compáralas entre sí, dentro de la misma ejecución.", "",
        "## Máquina y versiones", "",
        markdown_table(["dato", "valor"], [[k, v] for k, v in environment.items()]), "",
        f"Carga con wrk en 127.0.0.1: {settings.seconds} s por medida, hasta {settings.threads} hilos, "
        f"{LOW} y {HIGH} conexiones abiertas (keep-alive; cada una manda la siguiente petición al recibir "
        "la respuesta).", "",
        "## Configuraciones", "",
        markdown_table(["configuración", "qué es"], [[name, descriptions[name]] for name in measured]), "",
    ]


def results_part(results, measured):
    parts = []
    if MAIN in measured:
        parts += ["## Objetivos (gunicorn.conf.py tal cual)", "",
                  "Se miden y se informan; no son pruebas.", "",
                  markdown_table(["objetivo", "medido", "¿cumple?"], targets(results)), ""]
    parts += ["## Resultados", "",
              "«CPU por worker»: cómo se repartió entre los procesos el tiempo de CPU de la medida (con pocas "
              "conexiones keep-alive, un 100/0 % sería un worker haciéndolo todo y el otro parado); «µs de CPU "
              "por petición»: la CPU que gastaron los workers en la medida ÷ las respuestas. «peticiones/s» cuenta "
              "todas las respuestas, también las no 2xx (la columna siguiente, por código); «sin respuesta»: "
              "fallos de conexión y plazos de wrk (5 s) y, donde se mide la latencia de las 2xx, las peticiones "
              "enviadas hace más de 2 s que seguían sin respuesta al terminar (post.lua).", "",
              markdown_table(["configuración", "escenario", "peticiones/s", "predicciones/s", "p50", "p99", "máx.",
                              "no 2xx", "sin respuesta", "caché aciertos/fallos", "CPU por worker",
                              "µs de CPU por petición"], results_rows(results)), "",
              "## /v1/predict (fallo de caché) ÷ salud", "",
              markdown_table(["configuración", f"{LOW} conexiones", f"{HIGH} conexiones"], ratios(results)), ""]
    engines_compared = [f"miss-{LOW}", f"miss-{HIGH}", f"batch-{HIGH}"]
    parts += ["## ONNX frente a scikit-learn, en el mismo servidor", "",
              markdown_table(compare_header(engines_compared), compare(results, [MAIN, SKLEARN], engines_compared)),
              ""]
    return parts


def servers_part(results, slow, slow_limit):
    workers_compared = [f"health-{HIGH}", f"miss-{LOW}", f"miss-{HIGH}"]
    servers = ["sync", MAIN, "gevent-sin-keepalive", "gevent-sin-log", "gevent-sin-turnos", REFERENCE]
    parts = ["## sync frente a gevent (con y sin keep-alive) y la referencia", "",
             markdown_table(compare_header(workers_compared), compare(results, servers, workers_compared)), ""]
    if slow:
        parts += ["## Clientes lentos", "",
                  f"100 conexiones abiertas que mandaron una petición a medias y se quedaron quietas; mientras, un "
                  f"cliente normal pide la salud y una predicción (límite {number(slow_limit, 0)} s). Objetivo: < 1 s.",
                  "", markdown_table(["configuración", "salud", "/v1/predict"],
                                     [[name, seconds(t["health"], slow_limit), seconds(t["predict"], slow_limit)]
                                      for name, t in slow.items()]), ""]
    return parts


def key_part(results):
    """La clave y el límite de peticiones frente a la configuración tal cual: pet/s, p99 y µs de CPU."""
    t = index(results)
    scenarios = [f"miss-{LOW}", f"miss-{HIGH}"]
    if not any((KEYED, s) in t for s in scenarios):
        return []
    header, rows = ["configuración"], []
    for s in scenarios:
        header += [f"predict {s.rsplit('-', 1)[1]} con. pet/s", "p99", "µs de CPU por petición"]
    for config in (MAIN, KEYED):
        rows.append([config] + [cell for s in scenarios for cell in (
            number(get(t, config, s), 0), latency(get(t, config, s, "p99_ms")),
            number(cpu_per_request(t.get((config, s), {})), 0))])
    extra = [number(cpu_difference(t, s), 0) for s in scenarios]
    return ["## La clave y el límite de peticiones", "",
            f"`{KEYED}`: la misma configuración con `API_KEY` (wrk manda `Authorization: Bearer …` en cada petición) "
            "y un `RATE_LIMIT` tan alto que nunca salta: lo que cuesta comprobar la clave y contar la petición "
            "con flask-limiter.", "", markdown_table(header, rows), "",
            f"Diferencia de CPU por petición ({KEYED} − {MAIN}): {extra[0]} µs a {LOW} conexiones y {extra[1]} µs a "
            f"{HIGH} (ruido de la medida por HTTP: decenas de µs; la cifra fina, sin red, en «Dónde se va el "
            "tiempo»).", ""]


def cpu_difference(t, scenario):
    keyed, plain = cpu_per_request(t.get((KEYED, scenario), {})), cpu_per_request(t.get((MAIN, scenario), {}))
    return keyed - plain if keyed is not None and plain is not None else None


def flood_part(results):
    """FLOOD conexiones: con el descarte por defecto, más estricto y sin él."""
    t = index(results)
    key = f"miss-{FLOOD}"
    rows = []
    for config in (c for c in SHEDDING if (c, key) in t):
        r = t[(config, key)]
        env = next(c.env for c in CONFIGS if c.name == config)
        rows.append([config, env.get("MAX_LAG_MS", "0"), number(int(env.get("MAX_IN_FLIGHT", "64")), 0),
                     number(r["rps"], 0), number(r["ok_rps"], 0), f"{number(100 * answered(r), 1)} %",
                     latency(r.get("ok_p50_ms")), latency(r.get("steady_ok_p99_ms")), latency(r.get("ok_p99_ms")),
                     latency(r.get("raw_p99_ms")), not_ok(r), number(r["socket_errors"], 0)])
    if not rows:
        return []
    return [f"## {FLOOD} conexiones: descartar o encolar", "",
            f"/v1/predict con fallo de caché y {FLOOD} conexiones ({FLOOD // HIGH} veces las de la tabla de arriba), "
            "todas abiertas a la vez al empezar. «respondidas»: 2xx ÷ todas las respuestas (las 503 del descarte "
            "cuentan). Las latencias de esta tabla las mide post.lua, tal cual (sin la corrección de wrk de la "
            "tabla «Resultados»; la hora de envío viaja en X-Request-ID; cubetas de un 0,5 %): p50 y p99 de las "
            "respuestas 2xx solas, «en régimen» (peticiones enviadas pasado el primer segundo, cuando el servidor "
            "ya aceptó todas las conexiones) y en toda la medida; y p99 de todas las respuestas, 503 incluidas.",
            "", markdown_table(["configuración", "MAX_LAG_MS", "MAX_IN_FLIGHT", "respuestas/s", "2xx/s",
                                "respondidas", "p50 de las 2xx", "p99 de las 2xx, en régimen",
                                "p99 de las 2xx, toda la medida", "p99 de todas", "no 2xx", "sin respuesta"], rows),
            ""]


def floor_part(floor):
    if not floor:
        return []
    return ["## Dónde se va el tiempo (dentro del proceso)", "",
            "Tiempo de CPU del proceso (no cambia si la máquina está ocupada con otra cosa), el mejor de "
            "varias tandas.", "",
            "Motores, µs por fila:", "",
            markdown_table(["motor", "1 fila", "por fila en un lote de 100"], engine_rows(floor)), "",
            markdown_table(["pieza", "µs de CPU por llamada"],
                           [[n, number(v, 1)] for n, v in floor["pieces"]]), "",
            markdown_table(["petición completa a la app, sin red (WSGI, como la llama gunicorn)", "µs de CPU"],
                           [[n, number(v, 0)] for n, v in floor["flask"]]), ""]


def write_markdown(path, environment, settings, results, slow, floor, slow_limit):
    measured = list(dict.fromkeys(r["config"] for r in results))
    parts = (header_part(environment, settings, measured) + results_part(results, measured)
             + servers_part(results, slow, slow_limit) + key_part(results) + flood_part(results)
             + overload_part(results, markdown_table) + floor_part(floor))
    Path(path).write_text("\n".join(parts), encoding="utf-8")


# ------------------------------------------------------------------ Gráfico

def engines_panel(axis, floor, width):
    names = list(floor["engines"])
    for offset, (key, label) in ((-0.5, ("one", "1 fila")), (0.5, ("batch_row", "por fila, lote de 100"))):
        axis.bar([i + offset * width for i in range(len(names))], [floor["engines"][n][key] for n in names], width,
                 label=label)
    axis.set_xticks(range(len(names)), [ENGINE_LABELS.get(n, n) for n in names], fontsize=9)
    axis.set_yscale("log")
    axis.set_title("Motor, dentro del proceso: µs por fila (escala log.)")


def write_chart(path, results, floor, title):
    """Peticiones/s y p99 del fallo de caché por configuración (la servida primero) y, si se midieron,
    los µs por fila de cada motor. Sin la medida dentro del proceso, solo los dos primeros paneles."""
    t = index(results)
    configs = list(dict.fromkeys(r["config"] for r in results if r["scenario"] in (f"miss-{LOW}", f"miss-{HIGH}")))
    spanish = FuncFormatter(lambda value, _: number(value, 0 if value >= 1 or value == 0 else 2))
    figure, axes = plt.subplots(1, 3 if floor else 2, figsize=(17, 5.8) if floor else (12, 5.8))
    left, middle = axes[0], axes[1]
    width = 0.38
    positions = range(len(configs))
    for offset, connections in ((-0.5, LOW), (0.5, HIGH)):
        x = [i + offset * width for i in positions]
        left.bar(x, [get(t, c, f"miss-{connections}") or 0 for c in configs], width,
                 label=f"{connections} conexiones")
        middle.bar(x, [get(t, c, f"miss-{connections}", "p99_ms") or 0 for c in configs], width,
                   label=f"{connections} conexiones")
    left.set_title("/v1/predict, fallo de caché: peticiones por segundo")
    middle.set_title("/v1/predict, fallo de caché: p99 (ms, escala log.)")
    middle.axhline(P99_LOW_MS, linestyle="--", color="gray",
                   label=f"objetivo a {LOW} conexiones ({latency(P99_LOW_MS)})")
    middle.set_yscale("log")
    p99s = [get(t, c, f"miss-{n}", "p99_ms") for c in configs for n in (LOW, HIGH)]
    middle.set_ylim(bottom=min([v for v in p99s if v] + [P99_LOW_MS]) / 2)  # que se vea la barra más baja
    for axis in (left, middle):
        axis.set_xticks(list(positions), configs, rotation=25, ha="right", fontsize=8)
    if floor:
        engines_panel(axes[2], floor, width)
    for axis in axes:
        axis.yaxis.set_major_formatter(spanish)
        axis.yaxis.set_minor_formatter(spanish if axis.get_yscale() == "log" else axis.yaxis.get_minor_formatter())
        axis.legend(fontsize=8)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_all(folder, environment, settings, results, slow, floor, slow_limit):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    raw = {"environment": environment, "settings": vars(settings), "results": results, "slow_clients": slow,
           "floor_us": floor}
    (folder / "bench.json").write_text(json.dumps(raw, indent=2, ensure_ascii=False), encoding="utf-8")
    write_markdown(folder / "bench.md", environment, settings, results, slow, floor, slow_limit)
    title = (f"{environment['núcleos']} núcleos · {environment['fecha']} · {environment['sistema']} · "
             f"wrk {settings.seconds} s por medida, {settings.threads} hilos, {LOW} y {HIGH} conexiones · "
             "las cifras varían según la máquina")
    write_chart(folder / "bench.png", results, floor, title)
    return folder / "bench.md", folder / "bench.png"


def chart_from_record(record_path, path):
    """El gráfico desde un registro (docs/cifras/bench.json): la ejecución registrada, sin repetirla."""
    record = read_record(record_path)
    results, floor = results_of(record["figures"])
    write_chart(path, results, floor, chart_title(record))
    return path
