"""Las configuraciones de servidor que se comparan y cómo arrancarlas y pararlas (por PID).

Se arrancan como en producción: gunicorn con `02_docker/gunicorn.conf.py` y sus variables de
entorno (WEB_CONCURRENCY, GUNICORN_THREADS…), y el servidor de desarrollo con `flask run`.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
SHARED = dotenv_values(ROOT / "workshop.env")
HEALTH_PATH = SHARED["HEALTH_PATH"]
GUNICORN_CONF = ROOT / "02_docker" / "gunicorn.conf.py"
APP = "diabetes_api:create_app()"


@dataclass(frozen=True)
class ServerConfig:
    name: str
    description: str
    workers: int = 1  # procesos que cargan el modelo (para saber cuándo están todos listos)
    env: dict = field(default_factory=dict)

    @property
    def is_dev(self):
        return self.name == "flask-dev"


def gunicorn(workers, threads=1):
    kind = "gthread" if threads > 1 else "sync"
    name = f"gunicorn-{kind}-{workers}x{threads}" if threads > 1 else f"gunicorn-sync-{workers}"
    text = f"gunicorn {kind}: {workers} worker(s)" + (f" × {threads} hilos" if threads > 1 else "")
    # Sin reinicios por max_requests durante la medida: vaciarían la caché a mitad de la prueba.
    env = {"WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads),
           "GUNICORN_WORKER_CLASS": kind, "GUNICORN_MAX_REQUESTS": "0"}
    return ServerConfig(name, text, workers, env)


CONFIGS = [
    ServerConfig("flask-dev", "servidor de desarrollo de Flask (werkzeug, un hilo por petición)"),
    gunicorn(1), gunicorn(2), gunicorn(4), gunicorn(2, threads=4),
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(config, port):
    if config.is_dev:
        return [sys.executable, "-m", "flask", "--app", APP, "run", "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF),
            "--bind", f"127.0.0.1:{port}", APP]


def loaded_workers(process):
    """Cuántos procesos de la API ya cargaron scikit-learn (es decir, el modelo)."""
    try:
        candidates = [process] if not process.children() else process.children()
    except psutil.NoSuchProcess:
        return 0
    count = 0
    for candidate in candidates:
        try:
            count += "/sklearn/" in Path(f"/proc/{candidate.pid}/maps").read_text()
        except OSError:
            pass
    return count


def wait_ready(base_url, process, config, timeout=90.0):
    """Espera a que responda la salud Y a que todos los workers tengan el modelo cargado."""
    deadline = time.monotonic() + timeout
    watcher = psutil.Process(process.pid)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{config.name} terminó al arrancar (código {process.returncode}); mira su log.")
        try:
            healthy = requests.get(base_url + HEALTH_PATH, timeout=2).status_code == 200
        except requests.RequestException:
            healthy = False
        if healthy and loaded_workers(watcher) >= config.workers:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{config.name} no quedó listo en {timeout:.0f} s")


def stop(process, timeout=15.0):
    """SIGTERM al PID que arrancamos; SIGKILL si no termina a tiempo."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def running(config, log_dir):
    """Arranca la configuración en 127.0.0.1, espera a que esté lista y la para al salir."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "01_flask_api"), **config.env}
    log_path = Path(log_dir) / f"{config.name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command(config, port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_ready(base_url, process, config)
        yield base_url
    except Exception:
        print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        stop(process)
