"""Los ajustes de Gunicorn y del maestro (etapa 02): UNA tabla, como la de la API.

Cada variable de entorno que leen `gunicorn.conf.py` y `serving/` está declarada una sola vez: aquí
las de esta etapa y, en `diabetes_api.settings.SETTINGS`, las que comparte con la API (`FROM_API`).
Se leen con `read(nombre)`: validadas, con una frase en español que nombra la variable. La tabla del
README de la etapa 02 se comprueba contra esta (`tests/test_02_gunicorn_settings.py`) y el benchmark
lee de aquí qué ajustes no hereda de la terminal (`tuning_names`).
"""

from diabetes_api import settings as api_settings
from diabetes_api.settings import Setting

__all__ = ["FROM_API", "SETTINGS", "read", "tuning_names"]

S = Setting
SETTINGS = (
    S("PIDFILE", "path", None, "archivo con el PID del maestro (make reload lo lee)", shared=True),
    S("GUNICORN_WORKER_CLASS", "choice", "gevent", "tipo de worker: gevent, sync o gthread",
      choices=("gevent", "sync", "gthread")),
    S("GUNICORN_WORKER_CONNECTIONS", "int", 500, "conexiones abiertas a la vez por worker gevent", minimum=1),
    S("GUNICORN_THREADS", "int", 4, "hilos por worker (solo gthread)", minimum=1),
    S("GUNICORN_TIMEOUT", "int", 30, "segundos antes de matar y sustituir un worker colgado", minimum=1),
    S("GUNICORN_GRACEFUL_TIMEOUT", "int", 5, "segundos para terminar lo que está en curso al parar o recargar",
      minimum=1),
    S("GUNICORN_KEEPALIVE", "int", 2, "segundos que espera otra petición en una conexión abierta", minimum=0),
    S("GUNICORN_MAX_REQUESTS", "int", 0, "reinicia cada worker tras N peticiones; 0 = nunca", minimum=0),
    S("GUNICORN_YIELD", "bool", True, "con gevent, ceder el turno tras cada respuesta"),
    S("GUNICORN_FAIR_ACCEPT", "bool", True, "con gevent, repartir las conexiones nuevas entre workers"),
    S("GUNICORN_ACCESSLOG", "str", "off", "- enciende el registro de accesos de Gunicorn"),
    S("MODEL_CHECK_TIMEOUT", "int", 10, "segundos para comprobar el modelo al recargar (al arrancar, al menos 60)",
      minimum=1, maximum=600),
    S("DIABETES_API_METRICS_OWNED", "str", "", "1 si este maestro creó la carpeta de métricas (la borra al salir)",
      internal=True),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
# Los ajustes de la API que lee también esta etapa (declarados en diabetes_api.settings); los dos
# últimos los pone gunicorn.conf.py para los workers: cuántos son y la carpeta de métricas.
FROM_API = ("PORT", "HEALTH_PATH", "WEB_CONCURRENCY", "MAX_LAG_MS", "LOG_LEVEL", "MODEL_RUNTIME",
            "RATE_LIMIT_WORKERS", "PROMETHEUS_MULTIPROC_DIR")


def tuning_names():
    """Los ajustes de la API y del servidor que una persona puede cambiar o que pone el servidor: todos
    menos los de workshop.env (MODEL_DIR, HEALTH_PATH, PORT, PIDFILE), que dicen dónde están las cosas."""
    return tuple(setting.name for setting in (*api_settings.SETTINGS, *SETTINGS) if not setting.shared)


def read(name):
    """El valor validado de un ajuste de esta tabla o de los que comparte con la API (`FROM_API`)."""
    return api_settings.read(BY_NAME.get(name) or api_settings.BY_NAME[name])


def prepare_pidfile():
    """La ruta del PIDFILE, con su carpeta creada; si no se puede, termina con una línea clara."""
    import os
    import sys

    from workshop.environment import SettingsError

    try:
        pidfile = str(read("PIDFILE"))
        os.makedirs(os.path.dirname(pidfile), exist_ok=True)
    except (SettingsError, OSError) as error:
        sys.exit(f"Error de configuración: no se puede preparar el PIDFILE ({error}).")
    return pidfile
