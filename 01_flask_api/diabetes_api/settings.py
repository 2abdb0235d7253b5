"""Configuración de la API: variables de entorno con valores por defecto razonables.

PORT, HEALTH_PATH y MODEL_DIR se definen una sola vez en `workshop.env` (la raíz del
repositorio); una variable de entorno con el mismo nombre tiene prioridad. El resto de
ajustes solo existe aquí. Ningún valor se repite en otro módulo.
"""

import logging
import os
from pathlib import Path

from dotenv import dotenv_values
from gunicorn.errors import AppImportError

# La raíz del repositorio (en la imagen Docker, /app): el paquete vive en <raíz>/01_flask_api/diabetes_api.
ROOT = Path(__file__).resolve().parents[2]
SHARED = dotenv_values(ROOT / "workshop.env")


class StartupError(AppImportError, RuntimeError):
    """La API no puede arrancar; el mensaje (en español) dice qué hacer.

    Hereda de `AppImportError` de gunicorn: así gunicorn muestra solo este mensaje y se
    detiene (código 4), en lugar de volcar trazas y reintentar con cada worker.
    """


class SettingsError(StartupError):
    """Un ajuste con un valor imposible (por ejemplo, CACHE_SIZE=mucho)."""


def shared(name):
    """Un valor compartido del taller: la variable de entorno o, si no está, `workshop.env`."""
    value = os.environ.get(name) or SHARED.get(name)
    if not value:
        raise SettingsError(f"Falta el ajuste {name}: defínelo en workshop.env o como variable de entorno.")
    return value


def _integer(name, default, minimum):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} no es un número entero.") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} no es válido: debe ser {minimum} o más.")
    return value


def _log_level():
    level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if not isinstance(logging.getLevelName(level), int):
        raise SettingsError(f"LOG_LEVEL={level!r} no es un nivel de log (DEBUG, INFO, WARNING, ERROR).")
    return level


def _path(value):
    path = Path(value)
    return path if path.is_absolute() else ROOT / path


def load_settings():
    """Lee los ajustes del entorno. Las claves son las de `app.config` (mayúsculas, como en Flask)."""
    origins = os.environ.get("CORS_ORIGINS", "*")
    return {
        "MODEL_DIR": _path(shared("MODEL_DIR")),
        "HEALTH_PATH": shared("HEALTH_PATH"),
        "CACHE_SIZE": _integer("CACHE_SIZE", 1024, minimum=0),
        "MAX_BATCH": _integer("MAX_BATCH", 1000, minimum=1),
        # Flask rechaza con 413 cualquier cuerpo mayor que MAX_CONTENT_LENGTH.
        "MAX_CONTENT_LENGTH": _integer("MAX_BODY_BYTES", 1024 * 1024, minimum=1),
        "CORS_ORIGINS": [origin.strip() for origin in origins.split(",") if origin.strip()],
        "LOG_LEVEL": _log_level(),
        "WEB_DIR": _path(os.environ.get("WEB_DIR") or ROOT / "mobile_client" / "web"),
    }
