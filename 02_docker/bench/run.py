"""El benchmark: arranca cada configuración, la carga con wrk, la para y escribe los resultados.

Variables de entorno (todas opcionales):
    BENCH_SECONDS   segundos por medida (5)
    BENCH_THREADS   hilos de wrk, como mucho uno por conexión (2)
    BENCH_CONFIGS   configuraciones separadas por comas (todas); «ci» = gevent,fastapi
    BENCH_OUTPUT    carpeta de resultados (results/)
    BENCH_RECORD    el registro de las cifras (docs/cifras/bench.json; con BENCH_OUTPUT, allí)
    BENCH_OVERLOAD_RECORD  el de la fila `lightsail` (docs/cifras/sobrecarga.json; con BENCH_OUTPUT, allí)
"""

import json
import os
import platform
import sys
import tempfile
import time
from contextlib import ExitStack
from importlib import metadata

from diabetes_model.store import ModelError, live_version_dir, read_card
from workshop.spanish import number

from .floor import measure_floor
from .load import LoadError, LoadSettings, raise_open_files, run_wrk, slow_clients, summarize, wrk_version
from .patients import write_body_files
from .record import overload_record_path, record_path, write_overload_record, write_record
from .report import console_line, scenario_label, seconds, write_all
from .servers import (
    CI_CONFIGS,
    CONFIGS,
    HEALTH_PATH,
    HIGH,
    OVERLOAD_CONFIG,
    ROOT,
    SCENARIOS,
    pinned_cpus,
    running,
    worker_cpu,
)

SLOW_CLIENTS, SLOW_LIMIT = 100, 5.0
SETTLE = 0.5  # segundos de pausa antes de cada medida
PACKAGES = ("Flask", "gunicorn", "gevent", "onnxruntime", "scikit-learn", "numpy", "fastapi", "uvicorn", "pydantic")


def fail(message):
    """Un error del usuario: una frase en español y código de salida 2, sin traceback."""
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(2)


def positive_int(name, default):
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < 1:
        fail(f"{name} debe ser un entero positivo (valor: {raw!r}).")
    return int(raw)


def selected_configs():
    raw = os.environ.get("BENCH_CONFIGS", "").strip()
    shortcuts = {"ci": list(CI_CONFIGS), "todas": [config.name for config in CONFIGS]}
    wanted = shortcuts.get(raw) or [name.strip() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(wanted) - {config.name for config in CONFIGS})
    if unknown:
        fail(f"configuraciones desconocidas en BENCH_CONFIGS: {', '.join(unknown)}. "
             f"Disponibles: {', '.join(config.name for config in CONFIGS)} (o «ci», o «todas»).")
    return [config for config in CONFIGS if config.name in wanted or (not wanted and config.default)]


def cpu_count():
    """Los núcleos que puede usar este proceso, con la biblioteca estándar (Linux y macOS)."""
    counter = getattr(os, "process_cpu_count", None) or os.cpu_count  # process_cpu_count: Python ≥ 3.13
    return counter() or 1


def environment():
    versions = {package: metadata.version(package) for package in PACKAGES}
    return {"fecha": time.strftime("%Y-%m-%d %H:%M"), "núcleos": cpu_count(),
            "sistema": f"{platform.system()} {platform.release()} ({platform.machine()})",
            "python": platform.python_version(), **versions, "wrk": wrk_version(),
            "carga media al empezar (1 min)": number(os.getloadavg()[0], 2)}


def cpu_used(before, after):
    """Los segundos de CPU que gastó cada worker entre dos lecturas de `worker_cpu`."""
    return [after.get(pid, 0.0) - spent for pid, spent in before.items()]


def cpu_shares(before, after):
    """El reparto (%) entre workers del tiempo de CPU gastado entre dos lecturas de `worker_cpu`."""
    used = cpu_used(before, after)
    total = sum(used)
    return sorted((100 * value / total for value in used), reverse=True) if total > 0 else []


def measure(config, key, url, master, settings, bodies, offsets):
    """Una medida: `config` en el escenario `key`, con wrk. Devuelve la fila de resultados."""
    path, body, connections, items = SCENARIOS[key]
    # Que el servidor cierre antes las conexiones de la medida anterior: mientras las cuenta como
    # abiertas, el reparto entre workers (gunicorn.conf.py) no ve quién está libre.
    time.sleep(SETTLE)
    before = worker_cpu(master)
    # Por encima de HIGH conexiones (y en las filas de sobrecarga) puede haber 503: la latencia de las 2xx
    # se mide aparte (post.lua). Con el servidor fijado a un núcleo, wrk en los otros.
    cpus = pinned_cpus() if config.pinned else None
    raw = run_wrk(url + path, settings, connections, bodies.get(body), offset=offsets[config.name],
                  api_key=config.env.get("API_KEY", ""), timing=connections > HIGH or config.pinned,
                  cpus=cpus and cpus[1])
    after = worker_cpu(master)
    if body == "miss":  # la siguiente medida de fallo de caché empieza donde acabó esta: pacientes nunca vistos
        offsets[config.name] = raw["next_offset"]
    return {"config": config.name, "scenario": key, "connections": connections, **summarize(raw, items),
            "worker_cpu": cpu_shares(before, after), "worker_cpu_s": sum(cpu_used(before, after))}


def bench_all(configs, settings, bodies, folder, patient):
    """Arranca todas las configuraciones a la vez y las mide por turnos, escenario a escenario.

    Así una racha de carga ajena (otro programa en la máquina) se reparte entre todas en vez de
    caer entera sobre una: las comparaciones entre configuraciones son más justas.
    """
    results, slow = [], {}
    with ExitStack() as stack:
        urls, masters = {}, {}
        for config in configs:
            print(f"Arrancando {config.name}: {config.description}", flush=True)
            urls[config.name], masters[config.name] = stack.enter_context(running(config, folder))
        for config in configs:  # calentamiento con la paciente repetida (queda en la caché de cada worker)
            run_wrk(urls[config.name] + "/v1/predict", settings, HIGH, bodies["hit"], seconds=1,
                    api_key=config.env.get("API_KEY", ""))
        offsets = dict.fromkeys(urls, 0)
        for key in SCENARIOS:
            measured = [config for config in configs if key in config.scenarios]
            if measured:
                print(f"== {scenario_label(key)}", flush=True)
            for config in measured:
                results.append(measure(config, key, urls[config.name], masters[config.name], settings, bodies,
                                       offsets))
                print(console_line(config.name, results[-1], key.startswith("batch")), flush=True)
        for config in (config for config in configs if config.slow_clients):
            slow[config.name] = timing = slow_clients(urls[config.name], HEALTH_PATH, patient, SLOW_CLIENTS,
                                                      SLOW_LIMIT)
            print(f"{config.name}, con {SLOW_CLIENTS} clientes lentos: salud {seconds(timing['health'], SLOW_LIMIT)}, "
                  f"/v1/predict {seconds(timing['predict'], SLOW_LIMIT)}", flush=True)
    order = [config.name for config in configs]
    results.sort(key=lambda r: order.index(r["config"]))  # la tabla, agrupada por configuración
    return results, slow


def write_records(cores, results, floor, configs, extra):
    """Los registros de las cifras: el de siempre (bench.json) sin las filas de sobrecarga, y esas aparte
    (sobrecarga.json): una ejecución de solo `lightsail` no pisa el registro del benchmark."""
    written = []
    others = [r for r in results if r["config"] != OVERLOAD_CONFIG]
    if others:
        written.append(write_record(record_path(), cores, others, floor, extra))
    pinned = next((config for config in configs if config.name == OVERLOAD_CONFIG), None)
    if pinned and len(others) < len(results):
        cpus = pinned_cpus()
        settings = {**pinned.env, "API_KEY": "(la del benchmark)",
                    "núcleos": f"servidor {cpus[0]}, wrk {cpus[1]} (taskset)" if cpus else "sin fijar"}
        written.append(write_overload_record(overload_record_path(), cores, results, settings, extra))
    return written


def main():
    started, load_start = time.monotonic(), os.getloadavg()[0]
    raise_open_files()  # como `ulimit -n`: 1.024 conexiones de wrk y las del servidor
    settings = LoadSettings(seconds=positive_int("BENCH_SECONDS", 5), threads=positive_int("BENCH_THREADS", 2))
    configs = selected_configs()
    try:
        card = read_card(live_version_dir())
        env = environment()
    except (ModelError, LoadError) as error:
        fail(str(error))
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        # Más pacientes distintas de las que caben en las medidas de un servidor: ninguna se repite.
        bodies = write_body_files(card, folder, single_count=max(20_000, 20_000 * settings.seconds),
                                  batch_size=100, batch_count=200)
        patient = json.loads(bodies["miss"].read_text(encoding="utf-8").splitlines()[-1])
        try:
            results, slow = bench_all(configs, settings, bodies, folder, patient)
        except (LoadError, RuntimeError, TimeoutError) as error:
            fail(f"la medida no terminó: {str(error).splitlines()[0]}")
        print("== Dentro del proceso (timeit): motores y piezas de una petición", flush=True)
        patients = [json.loads(line) for line in bodies["miss"].read_text(encoding="utf-8").splitlines()[:10]]
        floor = measure_floor(patients)
    for name, values in floor["engines"].items():
        print(f"  {name}: {number(values['one'], 1)} µs con 1 fila; {number(values['batch_row'], 2)} µs por fila "
              "en un lote de 100", flush=True)
    env["carga media al terminar (1 min)"] = number(os.getloadavg()[0], 2)
    env["duración del benchmark"] = f"{number(time.monotonic() - started, 0)} s"
    output = os.environ.get("BENCH_OUTPUT") or ROOT / "results"
    table, chart = write_all(output, env, settings, results, slow, floor, SLOW_LIMIT)
    loads = {"carga.inicio": load_start, "carga.fin": os.getloadavg()[0]}
    record = write_records(env["núcleos"], results, floor, configs, {
        **loads, "duracion_s": time.monotonic() - started, "segundos_por_medida": settings.seconds})
    print(f"Tabla: {table}\nGráfico: {chart}\nRegistro de las cifras: {', '.join(map(str, record))}\n"
          f"Duración: {env['duración del benchmark']}")
