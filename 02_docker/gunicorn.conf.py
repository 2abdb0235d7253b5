"""Configuración de gunicorn para la API de riesgo de diabetes (etapa 02).

Al estilo de `examples/example_config.py` de gunicorn: por secciones, cada ajuste con el porqué
y valores típicos. Sirve igual en el anfitrión (desde la raíz del repositorio) y en la imagen
Docker (/app refleja el repositorio):

    gunicorn --config 02_docker/gunicorn.conf.py "diabetes_api:create_app()"

Los argumentos de la línea de órdenes ganan a este archivo (p. ej. `--bind 127.0.0.1:9000`).
Variables de entorno que lee (todas opcionales):

    PORT                          puerto (por defecto el de workshop.env)
    WEB_CONCURRENCY               número de workers (2)
    GUNICORN_WORKER_CLASS         sync | gthread (sync; con GUNICORN_THREADS > 1 pasa a gthread)
    GUNICORN_THREADS              hilos por worker (1)
    GUNICORN_TIMEOUT              segundos antes de reiniciar un worker colgado (30)
    GUNICORN_GRACEFUL_TIMEOUT     segundos para terminar peticiones al parar o recargar (5)
    GUNICORN_KEEPALIVE            segundos que se mantiene abierta una conexión inactiva (5)
    GUNICORN_MAX_REQUESTS         reinicia cada worker tras N peticiones; 0 lo desactiva (2000)
    GUNICORN_MAX_REQUESTS_JITTER  azar añadido a N para no reiniciar todos a la vez (200)
    GUNICORN_PRELOAD              1/true: carga la app en el maestro antes de crear workers (false)
    GUNICORN_ACCESSLOG            destino del log de accesos: "-" (stdout) u "off" (-)
    LOG_LEVEL                     nivel de log, compartido con la API (INFO)
"""

import os
import sys
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[1]


def _env_int(name, default, minimum=0):
    """Entero desde el entorno; si no es válido, termina con un mensaje claro (sin traceback)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        sys.exit(f"Error de configuración: {name} debe ser un entero mayor o igual que {minimum} (valor: {raw!r}).")
    return int(raw)


def _env_bool(name, default=False):
    raw = os.environ.get(name, "").strip().lower()
    return default if not raw else raw in {"1", "true", "yes", "si", "sí", "on"}


def _port():
    """PORT del entorno (la imagen lo fija con ENV); si no, el de workshop.env: una sola fuente."""
    raw = os.environ.get("PORT", "").strip() or dotenv_values(ROOT / "workshop.env").get("PORT", "")
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        sys.exit(f"Error de configuración: PORT debe ser un puerto entre 1 y 65535 (valor: {raw!r}).")
    return int(raw)


# ------------------------------------------------------------------ Código de la aplicación
#
# pythonpath - Carpetas que se añaden a sys.path para importar la app.
#   El paquete `diabetes_api` vive en 01_flask_api/ (carpeta de etapa, no paquete instalado).
#   Se calcula desde este archivo, así funciona en el repositorio y en /app dentro de la imagen.
# chdir - Carpeta de trabajo del maestro: la raíz, para que MODEL_DIR relativo siempre resuelva.

pythonpath = str(ROOT / "01_flask_api")
chdir = str(ROOT)

# ------------------------------------------------------------------ Socket del servidor
#
# bind - Dirección donde escucha. En un contenedor, 0.0.0.0 (todas las interfaces): con
#   127.0.0.1 solo se llega desde dentro del propio contenedor y `-p 8000:8000` no sirve.
#   Las pruebas lo sustituyen con `--bind 127.0.0.1:<puerto>`.
# backlog - Conexiones en espera antes de rechazar. 2048 (el valor por defecto) sobra aquí;
#   típico entre 64 y 2048.

bind = f"0.0.0.0:{_port()}"
backlog = 2048

# ------------------------------------------------------------------ Procesos worker
#
# workers - Procesos que atienden peticiones. La regla clásica (2 x núcleos + 1) mira los
#   núcleos del ANFITRIÓN, no los que el contenedor tiene asignados: en una instancia
#   pequeña de Lightsail (1-2 vCPU, 0,5-1 GB) crearía demasiados procesos, cada uno con
#   scikit-learn en memoria (~100 MB). Por defecto 2: uno puede atender mientras el otro
#   se reinicia o hace un cálculo. Se ajusta con WEB_CONCURRENCY (la convención de Heroku
#   y de muchas plataformas). Típico: 2-4 por vCPU.
# worker_class - "sync": un proceso atiende una petición cada vez; simple y lo mejor para
#   trabajo de CPU corto como una predicción. "gthread": varios hilos por proceso; ayuda
#   con clientes lentos o conexiones keep-alive. El GIL limita el beneficio en CPU.
# threads - Hilos por worker (solo gthread). 1 con sync; 2-4 con gthread.
# timeout - Si un worker no responde en N segundos, el maestro lo mata y crea otro.
#   Una predicción tarda milisegundos: 30 s solo salta ante un cuelgue real. Típico: 30-120.
# graceful_timeout - Al parar (SIGTERM) o recargar (SIGHUP), tiempo para terminar lo que está
#   en curso. Menor que los 10 s que `docker stop` espera antes de SIGKILL. Típico: 5-30.
# keepalive - Segundos que una conexión inactiva sigue abierta esperando otra petición
#   (solo gthread; sync cierra tras cada respuesta). Detrás de un balanceador conviene
#   más alto que el de este. Típico: 2-5, o 60+ detrás de un balanceador.
# max_requests / max_requests_jitter - Reinicia cada worker tras N peticiones (+ un azar
#   hasta jitter) para contener fugas de memoria lentas sin que todos caigan a la vez.
#   Vacía la caché de predicciones de ese worker. 0 lo desactiva (útil en pruebas de carga).
#   Típico: 1000-10000, con jitter del 5-10 %.

workers = _env_int("WEB_CONCURRENCY", 2, minimum=1)
threads = _env_int("GUNICORN_THREADS", 1, minimum=1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "").strip() or ("gthread" if threads > 1 else "sync")
timeout = _env_int("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 5, minimum=1)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5, minimum=1)
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# ------------------------------------------------------------------ Carga de la aplicación
#
# preload_app - True: el maestro importa la app y carga el modelo una vez y los workers la
#   heredan al hacer fork (memoria compartida copy-on-write, arranque más rápido).
#   False (por defecto aquí): cada worker carga la app y el modelo al nacer. Cuesta algo más
#   de memoria, pero permite la actualización sin cortes: entrenar un modelo nuevo y enviar
#   `kill -HUP <pid del maestro>`; gunicorn crea workers nuevos que leen el modelo nuevo del
#   disco y despide a los viejos con calma. Con preload, los workers nuevos heredarían el
#   modelo viejo que el maestro cargó al arrancar. GUNICORN_PRELOAD=1 lo activa.
#   El término medio que usamos (gancho on_starting, más abajo): el maestro importa las
#   LIBRERÍAS (scikit-learn, numpy) pero no guarda el modelo; los workers nacen rápido y
#   cada uno lee el modelo del disco.

preload_app = _env_bool("GUNICORN_PRELOAD")

# ------------------------------------------------------------------ Seguridad
#
# limit_request_* - Tamaño máximo de la línea de petición y de las cabeceras: corta peticiones
#   anómalas antes de que lleguen a Flask. El cuerpo lo limita la API (MAX_BODY_BYTES).

limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# ------------------------------------------------------------------ Logs
#
# accesslog / errorlog - "-" es la salida estándar: en un contenedor los logs se leen con
#   `docker logs` (o CloudWatch en Lightsail); nada de archivos dentro de la imagen.
# access_log_format - Quién, qué, estado, bytes, milisegundos y el X-Request-ID de la respuesta.
# loglevel - El mismo LOG_LEVEL que usa la API. Típico: info; debug solo para diagnosticar.

accesslog = None if os.environ.get("GUNICORN_ACCESSLOG", "-").strip().lower() == "off" else "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms id=%({x-request-id}o)s'
loglevel = os.environ.get("LOG_LEVEL", "info").strip().lower() or "info"

# ------------------------------------------------------------------ Mecánica del servidor
#
# worker_tmp_dir - Cada worker toca un archivo para decir «sigo vivo». En /dev/shm (memoria)
#   no se bloquea en discos lentos y funciona con `docker run --read-only`. Sin /dev/shm
#   (macOS) se usa la carpeta temporal del sistema.
# control_socket_disable - gunicorn >= 25 abre un socket de control en ~/.gunicorn; aquí no
#   hace falta (se gobierna con señales: HUP, TERM) y fallaría con raíz de solo lectura o
#   chocaría entre varias instancias en la misma máquina.

worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True


# ------------------------------------------------------------------ Ganchos (hooks)

def on_starting(server):
    """Antes de crear workers, el maestro comprueba modelo y ajustes, e importa las librerías.

    Si el modelo no coincide con su ficha, gunicorn termina con un único «Error: <mensaje>»
    en español, en vez de que cada worker falle a la vez con su propio traceback.
    """
    api = __import__("diabetes_api")
    api.preflight()
    # Librerías en el maestro, modelo en cada worker: tras SIGHUP los workers nuevos
    # arrancan en milisegundos y aun así leen el modelo nuevo del disco.
    api.warm_imports()


def when_ready(server):
    """El maestro ya escucha: lo dice en español y con la señal para recargar el modelo."""
    server.log.info("Listo en %s con %s worker(s) %s. Recargar el modelo: kill -HUP %s",
                    ", ".join(server.cfg.bind), server.cfg.workers, server.cfg.worker_class_str, server.pid)


def on_reload(server):
    server.log.info("SIGHUP recibido: los workers nuevos cargarán el modelo del disco.")
