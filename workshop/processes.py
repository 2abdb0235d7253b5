"""Procesos y puertos del taller: un puerto libre, si un puerto está ocupado, arrancar un servidor y
esperar a que responda, y pararlo por su PID (o por su grupo de procesos), también cuando algo falla.

Solo biblioteca estándar y llamadas POSIX (Linux y macOS): nada de /proc.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .paths import root

LOCALHOST = "127.0.0.1"


class ProcessError(RuntimeError):
    """Un proceso que no arrancó o no respondió a tiempo; el mensaje (en español) incluye su log."""


def free_port(host=LOCALHOST):
    """Un puerto TCP libre en `host`, elegido por el sistema."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(port, host=LOCALHOST):
    """True si no se puede escuchar en `host:port` (otro programa lo ocupa).

    Con SO_REUSEADDR, como gunicorn: un puerto en TIME_WAIT (un servidor recién parado) está libre.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, int(port)))
        except OSError:
            return True
    return False


def http_ok(url, timeout=1.0):
    """True si un GET a `url` responde 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError, urllib.error.URLError):
        return False


def start(command, log_path=None, env=None, cwd=None, inherit=True):
    """Arranca `command` en su propia sesión (Ctrl+C no le llega: lo para quien lo arrancó), con la
    salida en `log_path` (o heredada si es None). El proceso recuerda su log en `.log_path`.

    El entorno es el de este proceso más `env`; con inherit=False, solo `env`."""
    output = open(log_path, "ab") if log_path else None  # noqa: SIM115 (el hijo hereda el descriptor)
    try:
        process = subprocess.Popen(command, cwd=cwd or root(), env={**(os.environ if inherit else {}), **(env or {})},
                                   stdout=output, stderr=subprocess.STDOUT if output else None,
                                   start_new_session=True)
    finally:
        if output:
            output.close()
    process.log_path = Path(log_path) if log_path else None
    return process


def log_tail(process, lines=15):
    """Las últimas líneas del log de un proceso arrancado con `start` (o «»)."""
    path = getattr(process, "log_path", None)
    if not path or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(condition, timeout, message=None, *, process=None, what="El proceso", interval=0.05):
    """Repite `condition()` hasta que dé algo verdadero y lo devuelve.

    Si se agota `timeout` (segundos), ProcessError con `message` (por defecto, «`what` no respondió en N s»).
    Con `process`, si termina antes, ProcessError «`what` terminó al arrancar». Con el final de su registro.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ProcessError(f"{what} terminó al arrancar (código {process.returncode}).{_log(process)}")
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ProcessError(f"{message or f'{what} no respondió en {timeout:.0f} s.'}{_log(process)}")
        time.sleep(interval)


def wait_healthy(url, process=None, what="El servidor", timeout=30.0, interval=0.1):
    """Espera (acotada) a que un GET a `url` responda 200; ProcessError con su registro si no."""
    wait_until(lambda: http_ok(url, timeout=2), timeout, process=process, what=what, interval=interval)


def _log(process):
    tail = log_tail(process) if process is not None else ""
    return f" Su registro:\n{tail}" if tail else ""


def stop(process, timeout=10.0):
    """SIGTERM al proceso que arrancamos (a su grupo si tiene sesión propia); SIGKILL si no acaba a tiempo.

    Solo se señala ese PID o su grupo: nunca otros procesos por su nombre.
    """
    group = _own_group(process)
    if process.poll() is None:
        _signal(process, group, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal(process, group, signal.SIGKILL)
            process.wait(5)
    if group:  # lo que quede de su grupo (p. ej. un worker huérfano) no sobrevive a quien lo arrancó
        _signal(process, group, signal.SIGKILL)


def _own_group(process):
    try:
        return os.getpgid(process.pid) == process.pid
    except OSError:
        return False


def _signal(process, group, signum):
    try:
        if group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
    except OSError:
        pass  # ya terminó


def npm_ci(folder, timeout=900):
    """`npm ci` en `folder` sin scripts de instalación (las versiones de su package-lock.json, nada más).

    Lo usan `make web` (mobile_client/) y los diagramas (tools/diagrams/). ProcessError en español si falta
    npm o si falla (con su última línea)."""
    npm = shutil.which("npm")
    if npm is None:
        raise ProcessError("Falta npm (viene con Node 18 o posterior).")
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        detail = ((result.stderr or result.stdout).strip().splitlines() or [""])[-1]
        raise ProcessError(f"npm ci falló en {Path(folder).name}/ (código {result.returncode}): {detail}")
