"""Las configuraciones de servidor que se comparan, y cómo arrancarlas y pararlas (por PID).

gunicorn se arranca como en producción: con `02_docker/gunicorn.conf.py` tal cual, cambiando solo
la variable de entorno que distingue cada fila. La referencia es FastAPI + uvicorn (reference.py).
Funciona en Linux y en macOS: nada de /proc; los procesos se vigilan con psutil.
"""

import json
import os
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from serving.gunicorn_settings import tuning_names
from serving.launch import GUNICORN_CONF, running_api
from serving.launch import command as gunicorn_command
from workshop.environment import root, shared
from workshop.processes import free_port, http_ok

ROOT = root()
HEALTH_PATH = shared("HEALTH_PATH")
# Ajustes del servidor que NO se heredan del entorno de quien lanza el benchmark: «tal cual» es
# gunicorn.conf.py con sus valores por defecto, aunque la terminal tenga, p. ej., WEB_CONCURRENCY=4.
TUNING = (*tuning_names(), "PIDFILE")  # la tabla de ajustes: serving/gunicorn_settings.py

# Escenarios: (clave, ruta, archivo de cuerpos, conexiones, predicciones por petición).
# FLOOD: 16 veces las conexiones de HIGH, para ver qué hace el descarte de carga (serving/shedding.py);
# CALM y HUGE, solo para la fila `lightsail`: su ritmo sin sobrecarga y 4 veces FLOOD.
LOW, CALM, HIGH, FLOOD, HUGE = 2, 4, 16, 256, 1024
BATCH_SIZE = 100
# En este orden: los aciertos de caché van antes que los fallos de caché, que vacían la LRU.
SCENARIOS = {
    f"health-{LOW}": (HEALTH_PATH, None, LOW, 1),
    f"health-{HIGH}": (HEALTH_PATH, None, HIGH, 1),
    f"hit-{LOW}": ("/v1/predict", "hit", LOW, 1),
    f"hit-{HIGH}": ("/v1/predict", "hit", HIGH, 1),
    f"miss-{LOW}": ("/v1/predict", "miss", LOW, 1),
    f"miss-{CALM}": ("/v1/predict", "miss", CALM, 1),
    f"miss-{HIGH}": ("/v1/predict", "miss", HIGH, 1),
    f"batch-{HIGH}": ("/v1/predict", "batch", HIGH, BATCH_SIZE),
    f"miss-{FLOOD}": ("/v1/predict", "miss", FLOOD, 1),
    f"miss-{HUGE}": ("/v1/predict", "miss", HUGE, 1),
}
OVERLOAD = (f"miss-{CALM}", f"miss-{FLOOD}", f"miss-{HUGE}")  # las filas de OVERLOAD_CONFIG
OVERLOAD_CONFIG = "lightsail"
EVERY = tuple(key for key in SCENARIOS if key not in (f"miss-{CALM}", f"miss-{HUGE}"))
BASIC = (f"health-{HIGH}", f"miss-{LOW}", f"miss-{HIGH}")
# La clave con la que arranca la fila `gevent-clave`; wrk la manda en `Authorization: Bearer …`.
BENCH_API_KEY = "clave-del-benchmark"
# Un límite de peticiones que nunca salta: se mide lo que cuesta comprobarlo, no el 429.
NEVER_LIMIT = "100000000/minute"
DEPLOYMENT = ROOT / "03_lightsail" / "deployment.json"


def lightsail_env():
    """El entorno del contenedor de 03_lightsail/deployment.json (el que se despliega), con la clave del
    benchmark y un límite que nunca salta: wrk manda todo desde una dirección, y lo que se mide es el
    descarte por tiempo de espera, no el 429. PORT no: lo pone el benchmark."""
    container = next(iter(json.loads(DEPLOYMENT.read_text(encoding="utf-8"))["containers"].values()))
    env = {name: value for name, value in container.get("environment", {}).items() if name != "PORT"}
    return {**env, "API_KEY": BENCH_API_KEY, "RATE_LIMIT": NEVER_LIMIT}


def pinned_cpus():
    """(núcleos del servidor, núcleos de wrk) con taskset, o None: en Linux con taskset y 2 núcleos o más, el
    servidor en el último y wrk en los demás (no se quitan la CPU el uno al otro)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2 or not shutil.which("taskset"):
        return None
    return str(cpus[-1]), ",".join(str(cpu) for cpu in cpus[:-1])


@dataclass(frozen=True)
class ServerConfig:
    name: str
    description: str
    scenarios: tuple = BASIC
    env: dict = field(default_factory=dict)
    reference: bool = False  # FastAPI + uvicorn en vez de gunicorn
    slow_clients: bool = False  # medir también con 100 clientes lentos
    workers: int = 2
    conf: str = str(GUNICORN_CONF)  # el archivo de configuración de gunicorn (o python:módulo)
    default: bool = True  # False: solo si se pide por nombre en BENCH_CONFIGS (las propuestas)
    pinned: bool = False  # servidor y wrk en núcleos distintos (taskset), si se puede


CONFIGS = [
    ServerConfig("gevent", "gunicorn.conf.py tal cual: gevent, 2 workers, keep-alive 2 s, reparto de conexiones, "
                 "ONNX, log de accesos",
                 EVERY, slow_clients=True),
    # Escala: el mismo servidor con 1 worker (WEB_CONCURRENCY=1) frente a los 2 de siempre, en 2 núcleos.
    ServerConfig("gevent-1-worker", "igual que gevent, con un solo worker (WEB_CONCURRENCY=1)",
                 (f"health-{HIGH}", f"miss-{HIGH}"), {"WEB_CONCURRENCY": "1"}, workers=1),
    ServerConfig("gevent-sklearn", "igual, con el pipeline de scikit-learn (MODEL_RUNTIME=sklearn)",
                 (*BASIC, f"batch-{HIGH}"), {"MODEL_RUNTIME": "sklearn"}),
    ServerConfig("gevent-sin-log", "igual que gevent, sin la línea de log por petición (ACCESS_LOG=0)",
                 (f"miss-{LOW}", f"miss-{HIGH}"), {"ACCESS_LOG": "0"}),
    # Lo que cuestan las métricas por versión del modelo (etapa 05: tramos de la referencia) por fallo de caché.
    ServerConfig("gevent-sin-vigilancia", "igual que gevent, sin las métricas por versión del modelo "
                 "(MODEL_METRICS=0)", (f"miss-{LOW}", f"miss-{HIGH}"), {"MODEL_METRICS": "0"}, default=False),
    ServerConfig("gevent-sin-keepalive", "igual que gevent, sin keep-alive (GUNICORN_KEEPALIVE=0)",
                 BASIC, {"GUNICORN_KEEPALIVE": "0"}),
    ServerConfig("sync", "gunicorn sync, 2 workers (cierra la conexión tras cada respuesta), ONNX",
                 BASIC, {"GUNICORN_WORKER_CLASS": "sync"}, slow_clients=True),
    ServerConfig("fastapi", "referencia: FastAPI + uvicorn, 2 workers, endpoint def con pydantic, "
                 "scikit-learn, sin log de accesos", (f"health-{LOW}", *BASIC), reference=True),
    ServerConfig("gevent-sin-reparto", "igual que gevent, sin repartir las conexiones nuevas entre workers "
                 "(GUNICORN_FAIR_ACCEPT=0)", (f"health-{LOW}", f"hit-{LOW}", f"miss-{LOW}"),
                 {"GUNICORN_FAIR_ACCEPT": "0"}, default=False),
    # Sin ceder el turno, una conexión keep-alive acapara su worker y el descarte por espera
    # (serving/shedding.py) no mediría carga sino ese acaparamiento. Se apaga (README).
    ServerConfig("gevent-sin-turnos", "igual que gevent, sin ceder el turno tras cada respuesta (GUNICORN_YIELD=0) "
                 "y sin descarte por retraso del bucle (MAX_LAG_MS=0)",
                 (f"health-{LOW}", *BASIC), {"GUNICORN_YIELD": "0", "MAX_LAG_MS": "0"}),
    ServerConfig("gevent-clave", f"igual que gevent, con clave (API_KEY; wrk manda Authorization: Bearer) y límite "
                 f"de peticiones que nunca salta (RATE_LIMIT={NEVER_LIMIT})", (f"miss-{LOW}", f"miss-{HIGH}"),
                 {"API_KEY": BENCH_API_KEY, "RATE_LIMIT": NEVER_LIMIT}),
    ServerConfig("gevent-sin-descarte", "igual que gevent, sin descarte de carga (MAX_LAG_MS=0, "
                 "MAX_IN_FLIGHT=1000000)", (f"miss-{FLOOD}",), {"MAX_LAG_MS": "0", "MAX_IN_FLIGHT": "1000000"}),
    ServerConfig("gevent-descarte-50", "igual que gevent, con un descarte más estricto (MAX_LAG_MS=50)",
                 (f"miss-{FLOOD}",), {"MAX_LAG_MS": "50"}),
    ServerConfig(OVERLOAD_CONFIG, "el entorno de 03_lightsail/deployment.json (clave, PROXY_HOPS=1, MAX_LAG_MS…) "
                 "con un límite que nunca salta; el servidor y wrk en núcleos distintos (taskset)", OVERLOAD,
                 lightsail_env(), pinned=True),
]
# La variante corta de CI (la prueba de tests/test_02_bench.py): la configuración tal cual y la referencia.
CI_CONFIGS = ("gevent", "fastapi")


def command(config, port):
    if config.reference:
        return [sys.executable, "-m", "bench.reference", "--port", str(port), "--workers", str(config.workers)]
    cpus = pinned_cpus() if config.pinned else None
    return (["taskset", "-c", cpus[0]] if cpus else []) + gunicorn_command(port, conf=config.conf)


def server_env(config, folder):
    env = {name: value for name, value in os.environ.items() if name not in TUNING}
    # Cada servidor, su propio archivo de PID: no pisa el de `make app` ni el de otro servidor.
    return {**env, "PIDFILE": str(Path(folder) / f"{config.name}.pid"), **config.env}


def worker_cpu(master):
    """{PID: segundos de CPU} de cada worker del maestro `master` (psutil: Linux y macOS, sin /proc)."""
    try:
        workers = psutil.Process(master.pid).children()
    except psutil.Error:
        return {}
    return {worker.pid: cpu_seconds([worker]) for worker in workers}


def cpu_seconds(processes):
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def settled(base_url, process, config):
    """La condición «listo»: responde la salud, existen todos los workers y están en reposo.

    Un worker que aún carga el modelo gasta CPU; cuando todos llevan un rato sin gastarla, ya
    atienden. (Sin /proc: psutil funciona igual en Linux y en macOS.)
    """
    parent = psutil.Process(process.pid)
    last = {"cpu": None}

    def ready():
        try:
            children = parent.children()
        except psutil.Error:
            children = []
        used, previous = cpu_seconds(children), last["cpu"]
        last["cpu"] = used
        return (http_ok(base_url + HEALTH_PATH, timeout=2) and len(children) >= config.workers
                and previous is not None and used - previous < 0.02)

    return ready


@contextmanager
def running(config, folder):
    """Arranca la configuración en 127.0.0.1 con el lanzador de la etapa 02 (sesión propia: se para por su
    grupo, maestro y workers), espera a que esté lista (`settled`) y la para al salir. Da (url, proceso)."""
    port = free_port()
    try:
        with running_api(folder, port, server_env(config, folder), name=config.name, what=config.name, timeout=90.0,
                         argv=command(config, port), inherit=False, interval=0.3,
                         ready=lambda url, process: settled(url, process, config)) as (base_url, process):
            yield base_url, process
    except Exception:
        print((Path(folder) / f"{config.name}.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
