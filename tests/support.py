"""Ayudas compartidas por las pruebas: rutas, requisitos de CI y servidores reales en 127.0.0.1.

Todo lo que se arranca aquí se para por su PID, también cuando la prueba falla.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[1]
SHARED = dotenv_values(ROOT / "workshop.env")
HEALTH_PATH = SHARED["HEALTH_PATH"]
GUNICORN_CONF = ROOT / "02_docker" / "gunicorn.conf.py"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(available, reason):
    """Salta la prueba si falta una herramienta; con CI=true, falla: en CI no se salta nada."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true y falta una herramienta obligatoria: {reason}")
    pytest.skip(reason)


def have(command):
    return shutil.which(command) is not None


def free_port():
    """Un puerto TCP libre en 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(base_url, process=None, timeout=30.0):
    """Espera (con límite) a que `GET /health` responda 200; falla con el log si el proceso muere."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"El servidor terminó con código {process.returncode}:\n{read_log(process)}")
        try:
            if requests.get(base_url + HEALTH_PATH, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base_url}{HEALTH_PATH} no respondió en {timeout} s")


def read_log(process):
    log = getattr(process, "log_path", None)
    return Path(log).read_text(errors="replace")[-4000:] if log and Path(log).exists() else ""


def stop(process, timeout=10.0):
    """Para un proceso que arrancamos (SIGTERM, y SIGKILL si no acaba)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def running_gunicorn(tmp_path, *, port=None, env=None, args=()):
    """Arranca gunicorn con el `gunicorn.conf.py` real en 127.0.0.1 y lo para al salir.

    Devuelve (base_url, process). El log queda en tmp_path/gunicorn-<puerto>.log.
    """
    port = port or free_port()
    log_path = Path(tmp_path) / f"gunicorn-{port}.log"
    command = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF),
               "--bind", f"127.0.0.1:{port}", *args, "diabetes_api:create_app()"]
    full_env = {**os.environ, "PORT": str(port), **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, process)
        yield base_url, process
    finally:
        stop(process)
