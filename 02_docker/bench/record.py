"""El registro de una ejecución: docs/cifras/bench.json, la fuente de las cifras de los README.

Cada registro (uno por orden que produce cifras, ver CONTRIBUTING.md, «Cifras registradas») lleva
la fecha (ISO), la máquina (núcleos, CPU, sistema, Python), la orden y las cifras: un nombre → un
número, con la unidad al final del nombre (`rps`: peticiones/s; `_ms`, `_us`: milisegundos y
microsegundos; sin unidad, un cociente). Los README citan las cifras con una marca invisible,
`<!--c bench.gevent.miss-2.rps-->3.049<!--/c-->`, y tests/test_records.py comprueba que coinciden.

Las cifras de `make bench`: `<configuración>.<escenario>.<medida>` (p. ej. `gevent.miss-16.p99_ms`),
`objetivos.*` (los cocientes del informe), `escala.*` (2 workers ÷ 1) y `motor.<motor>.*` (µs por
fila, dentro del proceso). El gráfico de los README (docs/img/bench.png) se dibuja desde el registro
(`make pictures`), así que una ejecución tranquila se puede volver a dibujar sin repetirla.
"""

import json
import os
import platform
import subprocess
import time
from pathlib import Path

from .servers import CALM, HIGH, LOW, OVERLOAD, OVERLOAD_CONFIG, ROOT

RECORD = ROOT / "docs" / "cifras" / "bench.json"
OVERLOAD_RECORD = ROOT / "docs" / "cifras" / "sobrecarga.json"  # las filas de `lightsail`, aparte
METRICS = {"rps": "rps", "p50_ms": "p50_ms", "p99_ms": "p99_ms", "ok_p99_ms": "ok_p99_ms",
           "steady_ok_p99_ms": "steady_ok_p99_ms"}
OPTIONS = ("BENCH_SECONDS", "BENCH_THREADS", "BENCH_CONFIGS")


def cpu_model():
    """El nombre de la CPU: /proc/cpuinfo en Linux, sysctl en macOS; si no, lo que diga platform."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    if platform.system() == "Darwin":
        done = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return platform.processor() or platform.machine()


def machine(cores):
    return {"cores": cores, "cpu": cpu_model(), "os": f"{platform.system()} {platform.release()} "
            f"({platform.machine()})", "python": platform.python_version()}


def command():
    """La orden tal como se lanzó: `make bench` con las opciones que no son las de por defecto."""
    options = [f"{name}={os.environ[name]}" for name in OPTIONS if os.environ.get(name, "").strip()]
    return " ".join(["make bench", *options])


def record_path():
    """BENCH_RECORD si se da; si no, docs/cifras/bench.json, o la carpeta de BENCH_OUTPUT si se cambió
    (las pruebas y las variantes cortas de `make pictures` no tocan el registro del repositorio)."""
    if os.environ.get("BENCH_RECORD", "").strip():
        return Path(os.environ["BENCH_RECORD"])
    output = os.environ.get("BENCH_OUTPUT", "").strip()
    return Path(output) / "cifras-bench.json" if output else RECORD


def overload_record_path():
    """Como record_path, para las filas de sobrecarga: BENCH_OVERLOAD_RECORD, la carpeta de BENCH_OUTPUT o
    docs/cifras/sobrecarga.json."""
    if os.environ.get("BENCH_OVERLOAD_RECORD", "").strip():
        return Path(os.environ["BENCH_OVERLOAD_RECORD"])
    output = os.environ.get("BENCH_OUTPUT", "").strip()
    return Path(output) / "cifras-sobrecarga.json" if output else OVERLOAD_RECORD


def shed_share(result):
    """La parte de las respuestas que fueron 503 (0-1)."""
    return result.get("statuses", {}).get("503", 0) / result["requests"] if result.get("requests") else None


def overload_figures(results):
    """Las cifras de las filas de sobrecarga: por conexiones, p99 de las 2xx, 2xx/s, % de 503, sin
    respuesta y 2xx/s ÷ las de CALM conexiones."""
    rows = {r["scenario"]: r for r in results if r["config"] == OVERLOAD_CONFIG and r["scenario"] in OVERLOAD}
    calm = rows.get(f"miss-{CALM}", {}).get("ok_rps")
    figures = {}
    for scenario, r in rows.items():
        prefix = f"{OVERLOAD_CONFIG}.{scenario}"
        values = {"ok_p99_ms": r.get("ok_p99_ms"), "steady_ok_p99_ms": r.get("steady_ok_p99_ms"),
                  "ok_rps": r["ok_rps"], "rechazadas_503_pct": shed_share(r) and 100 * shed_share(r),
                  "sin_respuesta": r["socket_errors"] + r.get("unanswered", 0),
                  f"goodput_sobre_{CALM}": r["ok_rps"] / calm if calm else None}
        figures.update({f"{prefix}.{name}": value for name, value in values.items() if value is not None})
    return figures


def cpu_us(result):
    spent = result.get("worker_cpu_s")
    return spent / result["requests"] * 1e6 if spent and result.get("requests") else None


def ratio(figures, top, bottom):
    a, b = figures.get(top), figures.get(bottom)
    return a / b if a and b else None


def figures_of(results, floor):
    """Las cifras de una ejecución, planas: nombre → número (las que faltan no se escriben)."""
    figures = {}
    for r in results:
        prefix = f"{r['config']}.{r['scenario']}"
        for key, name in METRICS.items():
            if r.get(key) is not None:
                figures[f"{prefix}.{name}"] = r[key]
        if cpu_us(r) is not None:
            figures[f"{prefix}.cpu_us"] = cpu_us(r)
    derived = {
        f"objetivos.miss_over_hit_{LOW}": ratio(figures, f"gevent.miss-{LOW}.rps", f"gevent.hit-{LOW}.rps"),
        f"objetivos.miss_over_health_{LOW}": ratio(figures, f"gevent.miss-{LOW}.rps", f"gevent.health-{LOW}.rps"),
        f"objetivos.miss_{HIGH}_over_fastapi": ratio(figures, f"gevent.miss-{HIGH}.rps", f"fastapi.miss-{HIGH}.rps"),
        f"escala.miss_{HIGH}": ratio(figures, f"gevent.miss-{HIGH}.rps", f"gevent-1-worker.miss-{HIGH}.rps"),
        f"escala.health_{HIGH}": ratio(figures, f"gevent.health-{HIGH}.rps", f"gevent-1-worker.health-{HIGH}.rps"),
    }
    figures.update({name: value for name, value in derived.items() if value is not None})
    wanted = {f"{kind}-{HIGH}" for kind in ("health", "hit", "miss")}
    high = [r for r in results if r["config"] == "gevent" and r["scenario"] in wanted]
    if high:  # ninguna respuesta no 2xx ni sin respuesta a HIGH conexiones (el último objetivo del informe)
        figures[f"objetivos.no_2xx_{HIGH}"] = sum(r["requests"] - r["ok"] + r["socket_errors"] for r in high)
    flask = (floor or {}).get("flask", [])
    without = [us for label, us in flask if "MODEL_METRICS=0" in label]
    if flask and without:  # la primera, tal cual, frente a sin las métricas por versión: lo que cuestan
        figures["dentro.peticion_us"], figures["dentro.sin_vigilancia_us"] = flask[0][1], without[0]
        figures["dentro.vigilancia_us"] = flask[0][1] - without[0]
        figures["dentro.vigilancia_pct"] = 100 * (flask[0][1] - without[0]) / flask[0][1]
    for engine, values in (floor or {}).get("engines", {}).items():
        figures[f"motor.{engine}.one_us"] = values["one"]
        figures[f"motor.{engine}.batch_row_us"] = values["batch_row"]
    return figures


def write_record(path, cores, results, floor, extra=None):
    """Escribe el registro; `extra`: otras cifras de la ejecución (carga media, duración…)."""
    record = {"date": time.strftime("%Y-%m-%dT%H:%M"), "machine": machine(cores), "command": command(),
              "figures": {**figures_of(results, floor), **(extra or {})}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_overload_record(path, cores, results, settings, extra):
    """El registro de las filas de sobrecarga (docs/cifras/sobrecarga.json): fecha, máquina con la carga
    media, la orden, el entorno del servidor y las cifras."""
    record = {"date": time.strftime("%Y-%m-%dT%H:%M"),
              "machine": {**machine(cores), "load_average": [round(value, 2) for value in os.getloadavg()]},
              "command": command(), "server": settings, "figures": {**overload_figures(results), **extra}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_record(path=RECORD):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def results_of(figures):
    """Lo que necesita el gráfico (filas y motores), desde las cifras de un registro; la configuración
    servida (`gevent`) primero."""
    rows = {}
    for name, value in figures.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] not in ("objetivos", "escala", "motor") and parts[2] in METRICS:
            rows.setdefault((parts[0], parts[1]), {"config": parts[0], "scenario": parts[1]})[parts[2]] = value
    results = sorted(rows.values(), key=lambda r: r["config"] != "gevent")
    engines = {}
    for name, value in figures.items():
        if name.startswith("motor."):
            _, engine, key = name.split(".")
            engines.setdefault(engine, {})[key.removesuffix("_us")] = value
    return results, ({"engines": engines} if engines else None)


def chart_title(record):
    machine_ = record["machine"]
    return (f"{machine_['cores']} núcleos · {machine_['cpu']} · {record['date'].replace('T', ' ')} · "
            f"{record['command']} · las cifras varían según la máquina")
