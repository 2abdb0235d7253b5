"""`make bench`: arranca cada configuración, la carga con wrk, la para y escribe los resultados.

Variables de entorno (todas opcionales):
    BENCH_SECONDS      segundos por medida (5)
    BENCH_THREADS      hilos de wrk (2)
    BENCH_CONNECTIONS  conexiones abiertas a la vez (16)
    BENCH_CONFIGS      configuraciones separadas por comas (todas); p. ej. flask-dev,gunicorn-sync-2
    BENCH_OUTPUT       carpeta de resultados (results/)
"""

import json
import os
import platform
import sys
import tempfile
import time
from importlib import metadata

from .floor import measure_floor
from .load import LoadError, LoadSettings, run_wrk, summarize, wrk_version
from .patients import read_card, write_body_files
from .report import write_all
from .servers import CONFIGS, HEALTH_PATH, ROOT, SHARED, running

BATCH_SIZE = 100
PREDICT_PATH = "/v1/predict"


def positive_int(name, default):
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < 1:
        sys.exit(f"Error: {name} debe ser un entero positivo (valor: {raw!r}).")
    return int(raw)


def selected_configs():
    wanted = [name.strip() for name in os.environ.get("BENCH_CONFIGS", "").split(",") if name.strip()]
    unknown = sorted(set(wanted) - {config.name for config in CONFIGS})
    if unknown:
        sys.exit(f"Error: configuraciones desconocidas en BENCH_CONFIGS: {', '.join(unknown)}. "
                 f"Disponibles: {', '.join(config.name for config in CONFIGS)}")
    return [config for config in CONFIGS if not wanted or config.name in wanted]


def environment():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                if line.startswith("model name")), platform.processor() or "?")
    versions = {package: metadata.version(package)
                for package in ("scikit-learn", "numpy", "Flask", "Werkzeug", "gunicorn")}
    return {"fecha": time.strftime("%Y-%m-%d %H:%M"), "núcleos (nproc)": len(os.sched_getaffinity(0)),
            "CPU": cpu, "sistema": platform.platform(), "python": platform.python_version(),
            **versions, "wrk": wrk_version(),
            "carga media al empezar (1 min)": f"{os.getloadavg()[0]:.2f}"}


def first_patients(path, count=10):
    with open(path, encoding="utf-8") as lines:
        return [json.loads(next(lines)) for _ in range(count)]


def bench_config(config, settings, bodies, log_dir):
    """Las cuatro medidas de una configuración, con el servidor arrancado solo mientras tanto."""
    # El acierto va antes que la caché fallada: los miles de pacientes distintos vacían la LRU.
    scenarios = [("health", HEALTH_PATH, None, 1), ("hit", PREDICT_PATH, bodies["hit"], 1),
                 ("miss", PREDICT_PATH, bodies["miss"], 1), ("batch", PREDICT_PATH, bodies["batch"], BATCH_SIZE)]
    results = []
    with running(config, log_dir) as base_url:
        # Calentamiento con el paciente repetido: lo deja en la caché de cada worker y no gasta
        # pacientes de la medida de caché fallada.
        run_wrk(base_url + PREDICT_PATH, settings, bodies["hit"], seconds=1)
        for scenario, path, body_file, items in scenarios:
            summary = summarize(run_wrk(base_url + path, settings, body_file), items)
            results.append({"config": config.name, "description": config.description,
                            "scenario": scenario, **summary})
            print(f"  {scenario:7} {summary['rps']:9,.0f} pet/s  {summary['items_per_s']:9,.0f} pred/s  "
                  f"p50 {summary['p50_ms']:6.2f} ms  p99 {summary['p99_ms']:6.2f} ms  errores {summary['errors']}",
                  flush=True)
    return results


def main():
    started = time.monotonic()
    settings = LoadSettings(seconds=positive_int("BENCH_SECONDS", 5), threads=positive_int("BENCH_THREADS", 2),
                            connections=positive_int("BENCH_CONNECTIONS", 16))
    configs = selected_configs()
    model_dir = ROOT / SHARED["MODEL_DIR"]
    if not (model_dir / "model.json").is_file():
        sys.exit(f"Error: no hay modelo en {model_dir}. Entrénalo con `make model`.")
    try:
        env = environment()
    except LoadError as error:
        sys.exit(f"Error: {error}")
    card = read_card(model_dir)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        # Más pacientes distintos de los que caben en una medida: ninguno se repite (ni acierta en caché).
        bodies = write_body_files(card, folder, single_count=max(20_000, 6_000 * settings.seconds),
                                  batch_size=BATCH_SIZE, batch_count=200)
        for config in configs:
            print(f"== {config.name}: {config.description}", flush=True)
            results += bench_config(config, settings, bodies, folder)
        print("== Suelo dentro del proceso (timeit)", flush=True)
        floor = measure_floor(first_patients(bodies["miss"]), model_dir)
    env["carga media al terminar (1 min)"] = f"{os.getloadavg()[0]:.2f}"
    env["duración del benchmark"] = f"{time.monotonic() - started:.0f} s"
    output = os.environ.get("BENCH_OUTPUT") or ROOT / "results"
    table, chart = write_all(output, env, settings, results, [config.name for config in configs], floor)
    print(f"Tabla: {table}\nGráfico: {chart}\nDuración: {env['duración del benchmark']}")


if __name__ == "__main__":
    main()
