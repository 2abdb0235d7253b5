"""El lanzador de la API: gunicorn con la configuración real (02_docker/gunicorn.conf.py) en 127.0.0.1.

La única forma de arrancar la API fuera de Docker: la usan `make demo` y `make app`
(mobile_client/serve_api.py), el benchmark (bench/servers.py), la demo de la etapa 04 y las pruebas.

    start_api(port, log_path, env)      arranca gunicorn en su propia sesión; devuelve el proceso
    wait_api(url, process)              espera (acotada) a que responda HEALTH_PATH; si muere, su registro
    stop_api(process)                   SIGTERM a su grupo de procesos y SIGKILL si no acaba a tiempo
    running_api(folder, port, env)      las tres cosas como gestor de contexto: da (url, proceso)
"""

import sys
from contextlib import contextmanager
from pathlib import Path

from workshop.environment import shared
from workshop.processes import LOCALHOST, free_port, start, stop, wait_healthy, wait_until

GUNICORN_CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
START_TIMEOUT = 60.0  # segundos para responder HEALTH_PATH (cargar el modelo en cada worker)
STOP_TIMEOUT = 15.0  # segundos antes de SIGKILL (más que el graceful_timeout de gunicorn.conf.py)
WHAT = "La API (gunicorn)"


def command(port, host=LOCALHOST, conf=GUNICORN_CONF):
    """La orden de gunicorn con la configuración del taller, escuchando en host:port."""
    return [sys.executable, "-m", "gunicorn", "--config", str(conf), "--bind", f"{host}:{port}"]


def health_url(base_url):
    return base_url + shared("HEALTH_PATH")


def start_api(port, log_path=None, env=None, *, host=LOCALHOST, conf=GUNICORN_CONF, args=(), argv=None,
              inherit=True):
    """Arranca gunicorn en host:port en su propia sesión (Ctrl+C no le llega: lo para quien lo arrancó).

    Registro en `log_path` (None: esta terminal); entorno, el de este proceso más `env` (con inherit=False,
    solo `env`); `args` se añaden a la orden; `argv` la sustituye entera (p. ej. con taskset delante).
    """
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    return start(argv or [*command(port, host, conf), *args], log_path, env, inherit=inherit)


def wait_api(base_url, process=None, timeout=START_TIMEOUT, *, what=WHAT, ready=None, interval=0.1):
    """Espera a que la API responda 200 en HEALTH_PATH (o a que `ready()` sea cierta).

    Si el proceso muere o se agota el plazo: ProcessError, en español, con el final de su registro.
    """
    if ready is None:
        wait_healthy(health_url(base_url), process, what, timeout, interval)
    else:
        wait_until(ready, timeout, process=process, what=what, interval=interval)


def stop_api(process, timeout=STOP_TIMEOUT, pidfile=None):
    """Para la API por su grupo de procesos (SIGTERM; SIGKILL si no acaba en `timeout` s).

    Si queda `pidfile` con su PID (tras un SIGKILL, gunicorn no lo borra), lo borra.
    """
    stop(process, timeout)
    if pidfile is None:
        return
    try:
        if Path(pidfile).read_text().strip() == str(process.pid):
            Path(pidfile).unlink()
    except OSError:
        pass  # gunicorn ya lo borró al parar con orden


@contextmanager
def running_api(folder, port=None, env=None, *, name="gunicorn", what=WHAT, timeout=START_TIMEOUT, **options):
    """La API en 127.0.0.1 con su registro (`name`.log) y su archivo de PID (`name`.pid) en `folder`.

    Devuelve (url, proceso) cuando responde y la para al salir, pase lo que pase. Su propio PIDFILE
    (salvo que `env` traiga otro): no pisa el de `make app` / `make reload` (el de workshop.env).
    `options`: los de `start_api` (conf, args, argv, inherit), `interval` de `wait_api` y `ready`, que
    aquí es una fábrica: ready(url, proceso) da la condición «lista» (p. ej. la del benchmark).
    """
    port = port or free_port()
    url = f"http://{LOCALHOST}:{port}"
    waiting = {key: options.pop(key) for key in ("ready", "interval") if key in options}
    env = {"PIDFILE": str(Path(folder) / f"{name}.pid"), **(env or {})}
    process = start_api(port, Path(folder) / f"{name}.log", env, **options)
    try:
        if "ready" in waiting:
            waiting["ready"] = waiting["ready"](url, process)
        wait_api(url, process, timeout, what=what, **waiting)
        yield url, process
    finally:
        stop_api(process)


__all__ = ["GUNICORN_CONF", "START_TIMEOUT", "STOP_TIMEOUT", "command", "health_url", "running_api", "start_api",
           "stop_api", "wait_api"]
