"""Escribe los resultados: bench.json (crudo), bench.md (tablas y cocientes) y bench.png (gráfico)."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # sin pantalla: solo se guarda el PNG
import matplotlib.pyplot as plt  # noqa: E402

SCENARIOS = {
    "health": "salud (GET, suelo HTTP)",
    "miss": "/v1/predict, caché fallada",
    "hit": "/v1/predict, acierto de caché",
    "batch": "/v1/predict, lote",
}
BASELINE = "flask-dev"


def index_results(results):
    return {(r["config"], r["scenario"]): r for r in results}


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "—"


def ratios(results, configs):
    """Los cocientes que importan, una fila por configuración."""
    table = index_results(results)

    def value(name, scenario, key="rps"):
        return table.get((name, scenario), {}).get(key, 0)

    rows = []
    for name in configs:
        versus_dev = [ratio(value(name, "miss"), value(BASELINE, "miss")),
                      ratio(value(name, "health"), value(BASELINE, "health"))]
        rows.append([name, ratio(value(name, "miss"), value(name, "health")),
                     ratio(value(name, "hit"), value(name, "health")), ratio(value(name, "hit"), value(name, "miss")),
                     ratio(value(name, "batch", "items_per_s"), value(name, "miss")),
                     *(["—", "—"] if name == BASELINE else versus_dev)])
    return rows


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def results_rows(results):
    rows = []
    for r in results:
        cache = f"{r['cache_hit']}/{r['cache_miss']}" if r["scenario"] in ("miss", "hit") else "—"
        items = f"{r['items_per_s']:,.0f}" if r["scenario"] != "health" else "—"
        rows.append([r["config"], SCENARIOS[r["scenario"]], f"{r['rps']:,.0f}", items,
                     f"{r['p50_ms']:.2f}", f"{r['p95_ms']:.2f}", f"{r['p99_ms']:.2f}", r["errors"], cache])
    return rows


def service_times(results, name="gunicorn-sync-1"):
    """Con 1 worker sync las peticiones se atienden de una en una: 1/(peticiones/s) es su coste."""
    table = index_results(results)
    return [(SCENARIOS[s], 1e6 / table[(name, s)]["rps"]) for s in ("health", "hit", "miss")
            if table.get((name, s), {}).get("rps")]


def http_times(results):
    times = service_times(results)
    if not times:
        return []
    return [markdown_table(["petición HTTP completa con gunicorn sync, 1 worker (1 / peticiones por s)", "µs"],
                           [[name, f"{value:,.0f}"] for name, value in times]), ""]


def write_markdown(path, environment, settings, results, configs, floor):
    parts = ["# Benchmark de la API de riesgo de diabetes", "",
             "Generado por `make bench`. Las cifras dependen de la máquina y de su carga: compáralas entre sí.", "",
             "## Máquina y versiones", "",
             markdown_table(["dato", "valor"], [[k, v] for k, v in environment.items()]), "",
             f"Carga con wrk: {settings.seconds} s por medida, {settings.threads} hilos, "
             f"{settings.connections} conexiones, en 127.0.0.1.", "",
             "## Resultados", "",
             markdown_table(["configuración", "escenario", "peticiones/s", "predicciones/s", "p50 ms", "p95 ms",
                             "p99 ms", "errores", "caché aciertos/fallos"], results_rows(results)), "",
             "## Cocientes", "",
             markdown_table(["configuración", "fallada ÷ salud", "acierto ÷ salud", "acierto ÷ fallada",
                             "lote (pred/s) ÷ una", "fallada ÷ desarrollo", "salud ÷ desarrollo"],
                            ratios(results, configs)), "",
             "## Dónde se va el tiempo", "",
             markdown_table(["pieza, dentro del proceso (timeit)", "µs por llamada"],
                            [[name, f"{value:,.1f}"] for name, value in floor]), "",
             *http_times(results)]
    Path(path).write_text("\n".join(parts), encoding="utf-8")


def write_chart(path, results, configs, title=""):
    table = index_results(results)
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(17, 5.5))
    width = 0.8 / 3
    for offset, scenario in enumerate(("health", "miss", "hit")):
        values = [table.get((c, scenario), {}).get("rps", 0) for c in configs]
        left.bar([i + (offset - 1) * width for i in range(len(configs))], values, width, label=SCENARIOS[scenario])
    left.set_title("Peticiones por segundo")
    for offset, (scenario, label) in enumerate((("miss", "una por petición (caché fallada)"),
                                                ("batch", "lote"))):
        values = [table.get((c, scenario), {}).get("items_per_s", 0) for c in configs]
        middle.bar([i + (offset - 0.5) * 0.4 for i in range(len(configs))], values, 0.4, label=label)
    middle.set_yscale("log")  # un lote da decenas de veces más predicciones: escala logarítmica
    middle.set_title("Predicciones por segundo (escala logarítmica)")
    for offset, key in enumerate(("p50_ms", "p95_ms", "p99_ms")):
        values = [table.get((c, "miss"), {}).get(key, 0) for c in configs]
        right.bar([i + (offset - 1) * width for i in range(len(configs))], values, width, label=key[:3])
    right.set_title("Latencia de /v1/predict con caché fallada (ms)")
    for axis in (left, middle, right):
        axis.set_xticks(range(len(configs)), configs, rotation=25, ha="right", fontsize=8)
        axis.legend(fontsize=8)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_all(folder, environment, settings, results, configs, floor):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    raw = {"environment": environment, "settings": vars(settings), "results": results, "floor_us": floor}
    (folder / "bench.json").write_text(json.dumps(raw, indent=2, ensure_ascii=False), encoding="utf-8")
    write_markdown(folder / "bench.md", environment, settings, results, configs, floor)
    title = (f"{environment.get('núcleos (nproc)')} núcleos · {environment.get('fecha')} · "
             f"wrk {settings.seconds} s por medida, {settings.connections} conexiones · "
             "las cifras varían según la máquina")
    write_chart(folder / "bench.png", results, configs, title)
    return folder / "bench.md", folder / "bench.png"
