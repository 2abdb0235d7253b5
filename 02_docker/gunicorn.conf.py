"""Configuración de gunicorn para la API de riesgo de diabetes (etapa 02).

Al estilo de `examples/example_config.py` de gunicorn: por secciones, cada ajuste con el porqué
y valores típicos. La misma en el anfitrión (desde la raíz del repositorio) y en la imagen:

    gunicorn --config 02_docker/gunicorn.conf.py

La aplicación (`wsgi_app`) es `serving.wsgi:create_app()`: la API de la etapa 01 con la versión del
modelo que comprobó el maestro (`serving.master`).

Los argumentos de la línea de órdenes ganan a este archivo (p. ej. `--bind 127.0.0.1:9000`).
Las variables de entorno que lee (todas opcionales) están declaradas una sola vez, con su tipo, su
valor por defecto y qué hacen: las de Gunicorn en `serving/gunicorn_settings.py`, las que comparte con
la API (PORT, WEB_CONCURRENCY, MAX_LAG_MS, LOG_LEVEL, MODEL_RUNTIME) en `diabetes_api/settings.py`.
"""

import importlib
import os
import shutil
import sys
import tempfile

from serving import gunicorn_settings, http_errors, master
from workshop.settings import SettingsError, StartupError, root

# Los errores que gunicorn responde por sí mismo (petición mal formada, cabeceras enormes), en el JSON de la
# API y en español (serving/http_errors.py). Aquí, en el maestro: los workers lo heredan al nacer por fork.
http_errors.install()


def _setting(name):
    """Un ajuste de la tabla (serving/gunicorn_settings.py); si no es válido, termina con una línea clara."""
    try:
        return gunicorn_settings.read(name)
    except SettingsError as error:
        sys.exit(f"Error de configuración: {error}")


# ------------------------------------------------------------------ Socket del servidor
#
# bind - Dirección donde escucha. En un contenedor, 0.0.0.0 (todas las interfaces): con
#   127.0.0.1 solo se llega desde dentro del propio contenedor y `-p 8000:8000` no sirve.
#   Las pruebas lo sustituyen con `--bind 127.0.0.1:<puerto>`.
# backlog - Conexiones en espera antes de rechazar. Típico entre 64 y 2048.
# chdir - Carpeta de trabajo: la de workshop.env (raíz del repositorio o /app en la imagen).

bind = f"0.0.0.0:{_setting('PORT')}"
backlog = 2048
chdir = str(root())

# ------------------------------------------------------------------ Procesos worker
#
# workers - Procesos que atienden peticiones. La regla clásica (2 x núcleos + 1) mira los
#   núcleos del ANFITRIÓN, no los del contenedor: en una instancia pequeña de Lightsail
#   (0,25-1 vCPU) crearía demasiados procesos. Por defecto 2: uno atiende mientras el otro
#   se reinicia. Se ajusta con WEB_CONCURRENCY (convención de Heroku). Típico: 1-2 por vCPU.
# worker_class - "gevent" (por defecto): cada worker atiende muchas conexiones a la vez con
#   corrutinas; un cliente lento (que manda la petición a trozos, o nunca la termina) solo
#   ocupa una corrutina, no el proceso. Con "sync" bastan 2 clientes lentos para bloquear los
#   2 workers hasta el timeout: gunicorn pide un proxy con búfer delante (nginx), y ni
#   `docker run` ni un contenedor de Lightsail lo tienen. La predicción ONNX dura
#   microsegundos, así que una corrutina nunca acapara la CPU. Límite: un cálculo largo
#   (un modelo pesado) sí bloquearía al resto de su worker; entonces, "sync" detrás de nginx.
#   "gthread": hilos; un cliente lento ocupa un hilo entero.
# worker_connections - Conexiones abiertas a la vez por worker gevent: acota lo que pueden
#   retener muchos clientes lentos. Típico: 100-1000. Las que pasan del número esperan sin respuesta
#   en la cola de `accept` (ni wrk lo cuenta como error): con 2 x 500 y 1.024 clientes, 24 esperaban
#   siempre. El despliegue de Lightsail pone 2048 (03_lightsail/deployment.json).
# threads - Hilos por worker (solo gthread). Típico: 2-8.
# timeout - Si un worker no da señales de vida en N segundos, el maestro lo mata y crea otro.
#   Una predicción tarda microsegundos: 30 s solo salta ante un cuelgue real. Típico: 30-120.
# graceful_timeout - Al parar (SIGTERM) o recargar (SIGHUP), tiempo para terminar lo que está
#   en curso. Menor que los 10 s que `docker stop` espera antes de SIGKILL. Típico: 5-30.
# keepalive - Segundos que una conexión inactiva sigue abierta esperando otra petición. Con
#   gevent es también el plazo para recibir las cabeceras de la siguiente: una cabecera a
#   medias se corta a los 2 s (con 0 no habría plazo). Detrás de un balanceador (Lightsail,
#   nginx) conviene mayor que el de este. Típico: 2-5, o 60+ detrás de un balanceador.
# max_requests - Reinicia cada worker tras N peticiones (+ un azar hasta jitter) para contener
#   fugas de memoria. Aquí no hay fugas conocidas y reciclar cuesta: bajo carga, con 2.000 un
#   worker se reiniciaba cada ~2 s y la latencia p99 subía a ~400 ms. Por eso 0 (nunca); si lo
#   activas, que sea alto (p. ej. 100.000 con jitter 10.000). Un worker reciclado sirve la
#   misma versión comprobada que guarda el maestro.

workers = _setting("WEB_CONCURRENCY")
# Con RATE_LIMIT_STORAGE=memory:// cada worker aplica su parte del límite (limits.py): le dice cuántos son.
os.environ["RATE_LIMIT_WORKERS"] = str(workers)
worker_class = _setting("GUNICORN_WORKER_CLASS")
worker_connections = _setting("GUNICORN_WORKER_CONNECTIONS")
threads = _setting("GUNICORN_THREADS") if worker_class == "gthread" else 1
timeout = _setting("GUNICORN_TIMEOUT")
graceful_timeout = _setting("GUNICORN_GRACEFUL_TIMEOUT")
keepalive = _setting("GUNICORN_KEEPALIVE")
max_requests = _setting("GUNICORN_MAX_REQUESTS")
max_requests_jitter = max_requests // 10
# Ceder el turno tras cada respuesta (gancho post_request, abajo): reparte un worker gevent entre
# sus conexiones keep-alive. GUNICORN_YIELD=0 lo desactiva (para compararlo en el benchmark).
YIELD_AFTER_RESPONSE = worker_class == "gevent" and _setting("GUNICORN_YIELD")
# Repartir las conexiones nuevas entre los workers gevent (ganchos pre_fork y post_worker_init, abajo).
# GUNICORN_FAIR_ACCEPT=0 lo desactiva (para compararlo en el benchmark).
FAIR_ACCEPT = worker_class == "gevent" and workers > 1 and _setting("GUNICORN_FAIR_ACCEPT")
# Ventaja que da un worker con más conexiones abiertas a los demás antes de aceptar él (segundos).
HEAD_START = 0.002
SLOTS = 64  # workers vivos a la vez como máximo para el reparto (uno más, con kill -TTIN, no reparte)

# ------------------------------------------------------------------ Carga de la aplicación
#
# preload_app - False: cada worker crea la app al nacer. Lo que comparten por fork es lo que
#   el maestro prepara en `on_starting` (abajo): Flask importado y los bytes de la versión del
#   modelo ya COMPROBADA. Cada worker crea su propia sesión de onnxruntime desde esos bytes,
#   en milisegundos. El maestro nunca carga onnxruntime (con él cargado, los workers creados por
#   fork no terminan al parar) y nunca sirve un modelo que no haya comprobado.

preload_app = False
wsgi_app = "serving.wsgi:create_app()"

# ------------------------------------------------------------------ Límites por cliente
#
# limit_request_* - Tamaño máximo de la línea de petición y de las cabeceras: corta peticiones
#   anómalas antes de que lleguen a Flask. El cuerpo lo limita la API (MAX_BODY_BYTES, 1 MiB).
#   gunicorn NO tiene un tiempo máximo para recibir el CUERPO: un cliente lento puede retener su
#   conexión mientras la mantenga abierta (las cabeceras sí: `keepalive`). Con gevent eso solo
#   gasta una de las worker_connections; delante, nginx (topología de réplicas) o el balanceador
#   de Lightsail cortan a esos clientes con sus propios tiempos.

limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# ------------------------------------------------------------------ Logs
#
# accesslog / errorlog - "-" es la salida estándar: en un contenedor los logs se leen con
#   `docker logs` (o en la consola de Lightsail); nada de archivos dentro de la imagen.
#   La API ya escribe una línea por petición (con su X-Request-ID): el log de accesos de
#   gunicorn la repetiría, así que por defecto va apagado (GUNICORN_ACCESSLOG=- lo enciende).
# loglevel - El mismo LOG_LEVEL que usa la API. Típico: info; debug solo para diagnosticar.

accesslog = "-" if _setting("GUNICORN_ACCESSLOG") == "-" else None
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms id=%({x-request-id}o)s'
loglevel = _setting("LOG_LEVEL").lower()

# ------------------------------------------------------------------ Mecánica del servidor
#
# pidfile - Donde el maestro escribe su PID: `make reload` lo lee para enviarle SIGHUP.
# worker_tmp_dir - Cada worker toca un archivo para decir «sigo vivo». En /dev/shm (memoria)
#   no se bloquea en discos lentos y funciona con `docker run --read-only`.
# control_socket_disable - gunicorn >= 25 abre un socket de control en ~/.gunicorn; aquí no
#   hace falta (se gobierna con señales: HUP, TERM) y fallaría con raíz de solo lectura.

try:
    pidfile = str(_setting("PIDFILE"))
    os.makedirs(os.path.dirname(pidfile), exist_ok=True)  # gunicorn lo escribe antes de los ganchos
except (SettingsError, OSError) as error:
    sys.exit(f"Error de configuración: no se puede preparar el PIDFILE ({error}).")
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True

# ------------------------------------------------------------------ Métricas de todos los workers
#
# PROMETHEUS_MULTIPROC_DIR - Cada worker escribe sus contadores en archivos de esta carpeta y
#   `GET /metrics` los suma (modo multiproceso de prometheus_client): una lectura cubre todos los
#   workers. El maestro crea una carpeta nueva (en /dev/shm, en memoria, si existe) antes de crear
#   workers; al recargar (SIGHUP) se relee este archivo y se conserva la misma. Al morir un worker,
#   `child_exit` suma sus archivos en uno fusionado por tipo y los borra: la carpeta no crece con
#   cada reinicio y los totales no cambian. Al terminar el maestro, se borra la carpeta que creó.
#   Si la carpeta se llena (/dev/shm de Docker: 64 MB) o no admite escritura, cada worker afectado
#   deja de escribir métricas y sigue prediciendo (diabetes_api/metrics_files.py).

if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # la primera lectura de este archivo (no tras un SIGHUP)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="diabetes-api-metricas-", dir=worker_tmp_dir)
    os.environ["DIABETES_API_METRICS_OWNED"] = "1"
_METRICS_OWNED = _setting("DIABETES_API_METRICS_OWNED") == "1"


# ------------------------------------------------------------------ Ganchos (hooks)

def on_starting(server):
    """Antes de crear workers, el maestro comprueba ajustes y modelo, y guarda la versión buena.

    Si algo falla, gunicorn termina con un único «Error: <mensaje>» en español (StartupError es
    un RuntimeError), en vez de que cada worker falle a la vez con su propio traceback.
    """
    master.verify_and_hold()
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):  # contadores de una ejecución anterior con la misma carpeta
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))
    # Flask y el código de la API, importados una vez en el maestro: los workers nacen por fork
    # con ellos. onnxruntime NO: cargado en el maestro, los workers se cuelgan al terminar.
    importlib.import_module("flask_cors")
    for module in ("errors", "info", "limits", "metrics", "observability", "openapi", "predict", "security"):
        importlib.import_module(f"diabetes_api.{module}")
    importlib.import_module("serving.wsgi")


def when_ready(server):
    server.log.info("Listo en %s con %s worker(s) %s, modelo %s (%s). Recargar: kill -HUP %s",
                    ", ".join(server.cfg.bind), server.cfg.workers, server.cfg.worker_class_str,
                    master.held_version(), _setting("MODEL_RUNTIME"), server.pid)


def on_reload(server):
    """SIGHUP: comprueba la versión publicada; si está bien, los workers nuevos la sirven.

    Si está rota, el maestro NO se detiene: sigue guardando la última versión comprobada, los
    workers nuevos nacen con ella y el log dice en español qué pasa y qué hacer.
    """
    before = master.held_version()
    try:
        master.verify_and_hold()
    except StartupError as error:
        server.log.error("Recarga rechazada: %s Se sigue sirviendo la versión %s.", error, before)
        return
    server.log.info("SIGHUP: versión %s comprobada (antes %s); los workers nuevos la sirven.",
                    master.held_version(), before)


def post_request(worker, req, environ, resp):
    """Con gevent, tras cada respuesta el worker cede el turno a sus demás conexiones.

    Con keep-alive, gunicorn vuelve a leer de la MISMA conexión y, si el cliente ya mandó la
    siguiente petición, gevent no cambia de corrutina: una conexión muy activa acapara el worker y
    las demás esperan (p99 de cientos de ms con 16 conexiones). `gevent.idle()` espera a que el
    bucle no tenga nada pendiente: antes se atienden las conexiones que ya tienen una petición
    lista. Medido: p99 de 340 ms a 22 ms con 16 conexiones (02_docker/bench/README.md).
    """
    if YIELD_AFTER_RESPONSE:
        import gevent

        gevent.idle()


def child_exit(server, worker):
    """Un worker terminó (parada, recarga, fallo): sus contadores se suman a los fusionados y sus
    archivos se borran; sus «gauges» en vivo dejan de contar y su puesto en el reparto queda libre."""
    from prometheus_client import multiprocess

    from diabetes_api import metrics_files

    multiprocess.mark_process_dead(worker.pid)
    try:  # el maestro nunca cae por las métricas: si no se puede, los archivos se quedan y siguen contando
        metrics_files.merge_dead_workers(os.environ["PROMETHEUS_MULTIPROC_DIR"], set(server.WORKERS))
    except Exception as error:  # noqa: BLE001
        server.log.warning("No se pudieron fusionar las métricas del worker %s (%s): se conservan sus archivos.",
                           worker.pid, error)
    if getattr(worker, "slot", None) is not None:
        server.open_connections[worker.slot] = -1


# ------------------------------------------------------------------ Reparto de conexiones (gevent)
#
# Todos los workers esperan en el MISMO socket y el sistema despierta a todos cuando llega una
# conexión: la acepta el que llega antes, a menudo el que acaba de aceptar otra. Con pocas
# conexiones keep-alive (2, como un balanceador o wrk -c2) las dos acababan a veces en el mismo
# worker: la mitad de peticiones/s y un núcleo parado, durante toda la vida de la conexión. Ni
# `reuse_port` lo arregla (gunicorn comparte un único socket entre workers) ni menos
# `worker_connections` (limitaría las conexiones lentas que gevent sí aguanta). Aquí cada worker
# publica en memoria compartida cuántas conexiones tiene abiertas; uno con más que algún otro espera
# HEAD_START (2 ms) antes de aceptar: si el otro está libre, se la lleva; si no, la acepta igual.

def pre_fork(server, worker):
    """En el maestro, antes de crear un worker: le da un puesto libre en la tabla compartida."""
    if not FAIR_ACCEPT:
        return
    if not hasattr(server, "open_connections"):  # una vez por maestro (sobrevive a SIGHUP)
        from multiprocessing.sharedctypes import RawArray

        server.open_connections = RawArray("i", [-1] * SLOTS)  # -1: puesto libre
    free = [slot for slot, count in enumerate(server.open_connections) if count < 0]
    worker.slot = free[0] if free else None
    if worker.slot is not None:
        server.open_connections[worker.slot] = 0
    worker.open_connections = server.open_connections


def post_worker_init(worker):
    """En el worker, antes de escuchar: el descarte por tiempo de espera (MAX_LAG_MS, serving/shedding.py)
    y, con gevent, el reparto de arriba."""
    from serving import shedding

    shedding.install(worker)
    if FAIR_ACCEPT and getattr(worker, "slot", None) is not None:
        from gunicorn.workers import ggevent

        ggevent.StreamServer = fair_server(ggevent.StreamServer, worker.open_connections, worker.slot)


def fair_server(base, table, slot):
    """Un StreamServer de gevent que cuenta sus conexiones en `table[slot]` y cede las nuevas a un
    worker con menos (ver arriba)."""

    class FairStreamServer(base):
        waited = False

        def _do_read(self):
            others = [count for index, count in enumerate(table) if index != slot and count >= 0]
            if not self.waited and others and table[slot] > min(others):
                self.stop_accepting()
                self._timer = self.loop.timer(HEAD_START)
                self._timer.start(self._after_head_start)
                return
            self.waited = False
            super()._do_read()

        def _after_head_start(self):
            self.waited = True
            self._start_accepting_if_started()

        def do_handle(self, *args):
            table[slot] += 1
            super().do_handle(*args)

        def do_close(self, *args):
            table[slot] -= 1
            super().do_close(*args)

    return FairStreamServer


def on_exit(server):
    if _METRICS_OWNED:
        shutil.rmtree(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), ignore_errors=True)
