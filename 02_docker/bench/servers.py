"""Las configuraciones de servidor que se comparan, y cómo arrancarlas y pararlas (por PID).

gunicorn se arranca como en producción: con `02_docker/gunicorn.conf.py` tal cual, cambiando solo
la variable de entorno que distingue cada fila. La referencia es FastAPI + uvicorn (reference.py).
Funciona en Linux y en macOS: nada de /proc; los procesos se vigilan con psutil.
"""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from diabetes_api.settings import root, shared

ROOT = root()
HEALTH_PATH = shared("HEALTH_PATH")
GUNICORN_CONF = ROOT / "02_docker" / "gunicorn.conf.py"
APP = "diabetes_api:create_app()"
# Ajustes del servidor que NO se heredan del entorno de quien lanza el benchmark: «tal cual» es
# gunicorn.conf.py con sus valores por defecto, aunque la terminal tenga, p. ej., WEB_CONCURRENCY=4.
TUNING = ("WEB_CONCURRENCY", "MODEL_RUNTIME", "CACHE_SIZE", "ACCESS_LOG", "LOG_LEVEL", "MAX_BATCH", "PIDFILE")

# Escenarios: (clave, ruta, archivo de cuerpos, conexiones, predicciones por petición).
LOW, HIGH = 2, 16
BATCH_SIZE = 100
# En este orden: el acierto de caché va antes que las cachés falladas, que vacían la LRU.
SCENARIOS = {
    f"health-{LOW}": (HEALTH_PATH, None, LOW, 1),
    f"health-{HIGH}": (HEALTH_PATH, None, HIGH, 1),
    f"hit-{HIGH}": ("/v1/predict", "hit", HIGH, 1),
    f"miss-{LOW}": ("/v1/predict", "miss", LOW, 1),
    f"miss-{HIGH}": ("/v1/predict", "miss", HIGH, 1),
    f"batch-{HIGH}": ("/v1/predict", "batch", HIGH, BATCH_SIZE),
}
EVERY = tuple(SCENARIOS)
BASIC = (f"health-{HIGH}", f"miss-{LOW}", f"miss-{HIGH}")


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


CONFIGS = [
    ServerConfig("gevent", "gunicorn.conf.py tal cual: gevent, 2 workers, keep-alive 2 s, ONNX, log de accesos",
                 EVERY, slow_clients=True),
    ServerConfig("gevent-sklearn", "igual, con el pipeline de scikit-learn (MODEL_RUNTIME=sklearn)",
                 (*BASIC, f"batch-{HIGH}"), {"MODEL_RUNTIME": "sklearn"}),
    ServerConfig("gevent-sin-log", "igual que gevent, sin la línea de log por petición (ACCESS_LOG=0)",
                 (f"miss-{LOW}", f"miss-{HIGH}"), {"ACCESS_LOG": "0"}),
    ServerConfig("gevent-sin-keepalive", "igual que gevent, sin keep-alive (GUNICORN_KEEPALIVE=0)",
                 BASIC, {"GUNICORN_KEEPALIVE": "0"}),
    ServerConfig("sync", "gunicorn sync, 2 workers (cierra la conexión tras cada respuesta), ONNX",
                 BASIC, {"GUNICORN_WORKER_CLASS": "sync"}, slow_clients=True),
    ServerConfig("fastapi", "referencia: FastAPI + uvicorn, 2 workers, endpoint def con pydantic, "
                 "scikit-learn, sin log de accesos", (f"health-{LOW}", *BASIC), reference=True),
    ServerConfig("gevent-sin-turnos", "igual que gevent, sin ceder el turno tras cada respuesta (GUNICORN_YIELD=0)",
                 (f"health-{LOW}", *BASIC), {"GUNICORN_YIELD": "0"}),
]
# La variante corta de CI (la prueba de tests/test_02_bench.py): la configuración tal cual y la referencia.
CI_CONFIGS = ("gevent", "fastapi")


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(config, port):
    if config.reference:
        return [sys.executable, "-m", "bench.reference", "--port", str(port), "--workers", str(config.workers)]
    return [sys.executable, "-m", "gunicorn", "--config", config.conf, "--bind", f"127.0.0.1:{port}", APP]


def server_env(config, folder):
    env = {name: value for name, value in os.environ.items()
           if name not in TUNING and not name.startswith("GUNICORN_")}
    # Cada servidor, su propio archivo de PID: no pisa el de `make app` ni el de otro servidor.
    return {**env, "PIDFILE": str(Path(folder) / f"{config.name}.pid"), **config.env}


def cpu_seconds(processes):
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def wait_ready(base_url, process, config, timeout=90.0):
    """Espera a que responda la salud, a que existan todos los workers y a que estén en reposo.

    Un worker que aún carga el modelo gasta CPU; cuando todos llevan un rato sin gastarla, ya
    atienden. (Sin /proc: psutil funciona igual en Linux y en macOS.)
    """
    deadline = time.monotonic() + timeout
    parent = psutil.Process(process.pid)
    previous = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{config.name} terminó al arrancar (código {process.returncode}); mira su log.")
        try:
            healthy = requests.get(base_url + HEALTH_PATH, timeout=2).status_code == 200
        except requests.RequestException:
            healthy = False
        try:
            children = parent.children()
        except psutil.Error:
            children = []
        used = cpu_seconds(children)
        if healthy and len(children) >= config.workers and previous is not None and used - previous < 0.02:
            return
        previous = used
        time.sleep(0.3)
    raise TimeoutError(f"{config.name} no quedó listo en {timeout:.0f} s")


def stop(process, timeout=15.0):
    """SIGTERM al PID que arrancamos; SIGKILL si no termina a tiempo. Después, sus hijos que queden."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        children = []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    for child in children:  # por su PID, nunca por nombre
        try:
            child.kill()
        except psutil.Error:
            pass


@contextmanager
def running(config, folder):
    """Arranca la configuración en 127.0.0.1, espera a que esté lista y la para al salir."""
    port = free_port()
    log_path = Path(folder) / f"{config.name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command(config, port), cwd=ROOT, env=server_env(config, folder),
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_ready(base_url, process, config)
        yield base_url
    except Exception:
        print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        stop(process)
