"""Arrancar la API con gunicorn y su configuración real (02_docker/gunicorn.conf.py) en 127.0.0.1.

Lo usan el benchmark, la etapa 04, el cliente móvil (`make app`) y las pruebas: una sola forma de
arrancarla, esperar a que responda su ruta de salud y pararla por su PID.
"""

import sys
from contextlib import contextmanager
from pathlib import Path

from workshop.processes import LOCALHOST, free_port, running
from workshop.settings import shared

GUNICORN_CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def command(port, host=LOCALHOST, conf=GUNICORN_CONF):
    """La orden de gunicorn con la configuración del taller, escuchando en host:port."""
    return [sys.executable, "-m", "gunicorn", "--config", str(conf), "--bind", f"{host}:{port}"]


def health_url(base_url):
    return base_url + shared("HEALTH_PATH")


@contextmanager
def running_api(folder, port=None, env=None, what="La API (gunicorn)", timeout=60.0, conf=GUNICORN_CONF):
    """La API en 127.0.0.1 con su log y su archivo de PID en `folder`. Devuelve (url, proceso) y la para al salir.

    Su propio PIDFILE: no pisa el de `make app` / `make reload` (el de workshop.env).
    """
    port = port or free_port()
    url = f"http://{LOCALHOST}:{port}"
    env = {"PIDFILE": str(Path(folder) / "gunicorn.pid"), **(env or {})}
    log_path = Path(folder) / "gunicorn.log"
    with running(command(port, conf=conf), health_url(url), what, log_path, env, timeout) as process:
        yield url, process


__all__ = ["GUNICORN_CONF", "command", "health_url", "running_api"]
