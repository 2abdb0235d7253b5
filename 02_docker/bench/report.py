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

from .servers import CONFIGS, HIGH, LOW  # noqa: E402

MAIN, SKLEARN, REFERENCE = "gevent", "gevent-sklearn", "fastapi"
KINDS = {"health": "salud (GET)", "miss": "/v1/predict, caché fallada", "hit": "/v1/predict, acierto de caché",
         "batch": "/v1/predict, lote de 100"}
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
    return f"{KINDS[kind]}, {connections} conexiones"


def console_line(name, summary, batch=False):
    """La línea que se imprime tras cada medida."""
    items = f"  {number(summary['items_per_s'], 0)} pred/s" if batch else ""
    return (f"  {name:<22} {number(summary['rps'], 0):>7} pet/s{items}  p50 {latency(summary['p50_ms'])}  "
            f"p99 {latency(summary['p99_ms'])}  errores {summary['errors']}")


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
    return [
        (f"caché fallada ÷ acierto de caché, {LOW} conexiones ≥ {number(MISS_OVER_HIT, 2)}",
         number(over_hit, 2), verdict(over_hit, over_hit and over_hit >= MISS_OVER_HIT)),
        (f"caché fallada ÷ salud, {LOW} conexiones ≥ {number(MISS_OVER_HEALTH, 2)}",
         number(over_health, 2), verdict(over_health, over_health and over_health >= MISS_OVER_HEALTH)),
        (f"p99 de /v1/predict, {LOW} conexiones ≤ {latency(P99_LOW_MS)}", latency(p99_low),
         verdict(p99_low, p99_low is not None and p99_low <= P99_LOW_MS)),
        (f"caché fallada a {HIGH} conexiones ≥ {number(OVER_REFERENCE, 0)} × la referencia FastAPI",
         f"{number(over_reference, 2)} ×" if over_reference else "—",
         verdict(over_reference, over_reference and over_reference >= OVER_REFERENCE)),
    ]


def ratios(results):
    """Cociente /v1/predict (caché fallada) ÷ salud de cada configuración, a 2 y a 16 conexiones."""
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
                     latency(r["p99_ms"]), latency(r["max_ms"]), number(r["errors"], 0), cache, share])
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
              "conexiones keep-alive, un 100/0 % sería un worker haciéndolo todo y el otro parado).", "",
              markdown_table(["configuración", "escenario", "peticiones/s", "predicciones/s", "p50", "p99", "máx.",
                              "errores", "caché aciertos/fallos", "CPU por worker"], results_rows(results)), "",
              "## /v1/predict (caché fallada) ÷ salud", "",
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
             + servers_part(results, slow, slow_limit) + floor_part(floor))
    Path(path).write_text("\n".join(parts), encoding="utf-8")


# ------------------------------------------------------------------ Gráfico

def write_chart(path, results, floor, title):
    t = index(results)
    configs = list(dict.fromkeys(r["config"] for r in results if r["scenario"].startswith("miss")))
    spanish = FuncFormatter(lambda value, _: number(value, 0 if value >= 1 or value == 0 else 2))
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(17, 5.8))
    width = 0.38
    positions = range(len(configs))
    for offset, connections in ((-0.5, LOW), (0.5, HIGH)):
        x = [i + offset * width for i in positions]
        left.bar(x, [get(t, c, f"miss-{connections}") or 0 for c in configs], width,
                 label=f"{connections} conexiones")
        middle.bar(x, [get(t, c, f"miss-{connections}", "p99_ms") or 0 for c in configs], width,
                   label=f"{connections} conexiones")
    left.set_title("/v1/predict, caché fallada: peticiones por segundo")
    middle.set_title("/v1/predict, caché fallada: p99 (ms, escala log.)")
    middle.axhline(P99_LOW_MS, linestyle="--", color="gray",
                   label=f"objetivo a {LOW} conexiones ({latency(P99_LOW_MS)})")
    middle.set_yscale("log")
    for axis in (left, middle):
        axis.set_xticks(list(positions), configs, rotation=25, ha="right", fontsize=8)
    if floor:
        names = list(floor["engines"])
        for offset, (key, label) in ((-0.5, ("one", "1 fila")), (0.5, ("batch_row", "por fila, lote de 100"))):
            right.bar([i + offset * width for i in range(len(names))],
                      [floor["engines"][n][key] for n in names], width, label=label)
        right.set_xticks(range(len(names)), ["ONNX Runtime", "scikit-learn"], fontsize=9)
        right.set_yscale("log")
    right.set_title("Motor, dentro del proceso: µs por fila (escala log.)")
    for axis in (left, middle, right):
        axis.yaxis.set_major_formatter(spanish)
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
