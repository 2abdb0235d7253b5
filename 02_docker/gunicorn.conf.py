"""Configuración de gunicorn para la API de riesgo de diabetes (etapa 02).

Al estilo de `examples/example_config.py` de gunicorn: cada ajuste con el porqué. La misma en el
anfitrión (desde la raíz del repositorio) y en la imagen: `gunicorn --config 02_docker/gunicorn.conf.py`.
Los argumentos de la línea de órdenes ganan a este archivo (p. ej. `--bind 127.0.0.1:9000`).

Las variables de entorno que lee están declaradas una vez, con tipo, valor por defecto y qué hacen:
las de Gunicorn en `serving/gunicorn_settings.py`, las que comparte con la API en `diabetes_api/settings.py`.
El código que corre en el maestro y en los workers vive en `serving/` y los ganchos de abajo lo llaman.
"""

import importlib
import os
import sys

from serving import fair_accept, gunicorn_settings, handover, http_errors, master, metrics_folder
from workshop.environment import SettingsError, StartupError, root

# Los errores que gunicorn responde por sí mismo (petición mal formada, cabeceras enormes), en el JSON de
# la API y en español. Aquí, en el maestro: los workers lo heredan al nacer por fork.
http_errors.install()


def _setting(name):
    """Un ajuste de la tabla; si no es válido, termina con una línea clara."""
    try:
        return gunicorn_settings.read(name)
    except SettingsError as error:
        sys.exit(f"Error de configuración: {error}")


# --- Socket. En un contenedor, 0.0.0.0: con 127.0.0.1 solo se llega desde dentro y `-p 8000:8000`
# no sirve. backlog: conexiones en espera antes de rechazar. chdir: la raíz del repositorio (o /app).
bind = f"0.0.0.0:{_setting('PORT')}"
backlog = 2048
chdir = str(root())

# --- Workers. 2 por defecto (WEB_CONCURRENCY): uno atiende mientras el otro se reinicia; la regla
# 2 x núcleos + 1 mira los núcleos del anfitrión, no los del contenedor de Lightsail (0,25-1 vCPU).
workers = _setting("WEB_CONCURRENCY")
os.environ["RATE_LIMIT_WORKERS"] = str(workers)  # con memory://, cada worker aplica su parte del límite
# gevent: un cliente lento (cuerpo a trozos, o que nunca termina) ocupa una corrutina, no el proceso; con
# "sync" bastan 2 para bloquear 2 workers (gunicorn pide entonces nginx delante). La predicción ONNX dura
# microsegundos: una corrutina nunca acapara la CPU.
worker_class = _setting("GUNICORN_WORKER_CLASS")
# Conexiones abiertas a la vez por worker gevent: acota lo que retienen los clientes lentos.
worker_connections = _setting("GUNICORN_WORKER_CONNECTIONS")
threads = _setting("GUNICORN_THREADS") if worker_class == "gthread" else 1
# Un worker sin señales de vida en 30 s se reinicia: una predicción tarda microsegundos.
timeout = _setting("GUNICORN_TIMEOUT")
# Al parar o recargar, tiempo para terminar lo que está en curso: menos que los 10 s de `docker stop`.
graceful_timeout = _setting("GUNICORN_GRACEFUL_TIMEOUT")
# Espera de la siguiente petición en una conexión (y, con gevent, plazo para sus cabeceras).
keepalive = _setting("GUNICORN_KEEPALIVE")
# Reciclar workers cuesta (con 2.000, p99 de ~400 ms bajo carga) y no hay fugas conocidas: 0, nunca.
max_requests = _setting("GUNICORN_MAX_REQUESTS")
max_requests_jitter = max_requests // 10
# Ajustes finos de gevent (serving/fair_accept.py, medidos en bench/README.md): ceder el turno tras cada
# respuesta (GUNICORN_YIELD) y repartir las conexiones nuevas entre workers (GUNICORN_FAIR_ACCEPT).
YIELD_AFTER_RESPONSE = worker_class == "gevent" and _setting("GUNICORN_YIELD")
FAIR_ACCEPT = worker_class == "gevent" and workers > 1 and _setting("GUNICORN_FAIR_ACCEPT")

# --- La aplicación. Cada worker la crea al nacer (preload_app = False) con la versión del modelo que
# el maestro comprobó en `on_starting`; el maestro nunca carga onnxruntime (con él, los workers creados
# por fork no terminan al parar).
preload_app = False
wsgi_app = "serving.wsgi:create_app()"

# --- Límites por cliente: línea de petición y cabeceras (el cuerpo lo limita la API, MAX_BODY_BYTES).
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# --- Logs a la salida estándar (`docker logs`). La API ya escribe una línea por petición con su
# X-Request-ID: el log de accesos de gunicorn la repetiría (GUNICORN_ACCESSLOG=- lo enciende).
accesslog = "-" if _setting("GUNICORN_ACCESSLOG") == "-" else None
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms id=%({x-request-id}o)s'
loglevel = _setting("LOG_LEVEL").lower()

# --- Mecánica. pidfile: `make reload` lo lee para el SIGHUP. worker_tmp_dir en memoria: funciona con
# `docker run --read-only`. Sin socket de control (gunicorn >= 25): se gobierna con señales.
pidfile = gunicorn_settings.prepare_pidfile()  # su carpeta, creada: gunicorn lo escribe antes de los ganchos
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True

# --- Métricas de todos los workers en una carpeta (serving/metrics_folder.py).
metrics_folder.prepare(worker_tmp_dir)


# --- Ganchos (hooks)

def on_starting(server):
    """El maestro comprueba ajustes y modelo antes de crear workers (si falla, un «Error:» en español)."""
    master.verify_and_hold()
    master.log_candidate_problem(server.log)
    metrics_folder.clear()
    # Flask y la API, importados una vez en el maestro: los workers nacen por fork con ellos.
    for module in ("flask_cors", "diabetes_api.production", "diabetes_api.predict", "serving.wsgi"):
        importlib.import_module(module)


def when_ready(server):
    server.log.info("Listo en %s con %s worker(s) %s, modelo %s (%s), %s. Recargar: %s",
                    ", ".join(server.cfg.bind), server.cfg.workers, server.cfg.worker_class_str,
                    master.held_version(), _setting("MODEL_RUNTIME"), master.candidate_text(),
                    master.reload_hint(server.pid))


def on_reload(server):
    """SIGHUP: si la versión publicada está bien, los workers nuevos la sirven; si no, sigue la anterior."""
    before = master.held_version()
    try:
        master.verify_and_hold()
    except StartupError as error:
        server.log.error("Recarga rechazada: %s Se sigue sirviendo la versión %s.", error, before)
        return
    master.log_candidate_problem(server.log)
    server.log.info("SIGHUP: versión %s comprobada (antes %s), %s; los workers nuevos la sirven.",
                    master.held_version(), before, master.candidate_text())


def pre_fork(server, worker):
    handover.pre_fork(server, worker)  # recargar sin hueco: los viejos atienden hasta que los nuevos están listos
    if FAIR_ACCEPT:
        fair_accept.pre_fork(server, worker)


def post_worker_init(worker):
    """En el worker, antes de escuchar: el descarte por espera (MAX_LAG_MS) y el reparto de conexiones."""
    from serving import shedding  # en el worker: importa la API

    shedding.install(worker)
    if FAIR_ACCEPT:
        fair_accept.install(worker)
    handover.install(worker)


def post_request(worker, req, environ, resp):
    if YIELD_AFTER_RESPONSE:
        fair_accept.yield_after_response()


def worker_exit(server, worker):
    """En el worker que sale: escribe las métricas por versión que tenía pendientes (metrics_versions.py)."""
    from diabetes_api import metrics

    metrics.flush_pending()  # sin sitio o sin permiso: se pierden, el worker sale igual


def child_exit(server, worker):
    metrics_folder.merge_dead(server, worker)
    fair_accept.release(server, worker)
    handover.release(server, worker)


def on_exit(server):
    metrics_folder.remove()
