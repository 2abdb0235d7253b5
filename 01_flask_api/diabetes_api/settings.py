"""Configuración de la API: variables de entorno con valores por defecto razonables.

PORT, HEALTH_PATH, MODEL_DIR y PIDFILE se definen una sola vez en `workshop.env` (la raíz del
repositorio); una variable de entorno con el mismo nombre tiene prioridad. En la imagen Docker
llegan como variables de entorno (ENV del Dockerfile). El resto de ajustes solo existe aquí.
"""

import logging
import os
from functools import cache
from pathlib import Path

import click
from dotenv import dotenv_values

RUNTIMES = ("onnx", "sklearn")


class StartupError(click.ClickException, RuntimeError):
    """La API no puede arrancar; el mensaje (en español) dice qué hacer, en una línea.

    Es un RuntimeError: gunicorn lo muestra como «Error: <mensaje>» y termina sin traceback
    cuando sale del gancho `on_starting` del maestro (02_docker/gunicorn.conf.py). Y es una
    ClickException: `flask --app diabetes_api run` también muestra solo «Error: <mensaje>».
    """


class SettingsError(StartupError):
    """Un ajuste con un valor imposible (por ejemplo, CACHE_SIZE=mucho)."""


@cache
def root():
    """La carpeta de `workshop.env`: la del directorio actual o la de una carpeta padre del paquete.

    En el anfitrión es la raíz del repositorio; en la imagen, /app. Las rutas relativas de los
    ajustes (MODEL_DIR, PIDFILE) se resuelven desde aquí.
    """
    for folder in (Path.cwd(), *Path(__file__).resolve().parents):
        if (folder / "workshop.env").is_file():
            return folder
    return Path.cwd()


def shared(name):
    """Un valor compartido del taller: la variable de entorno o, si no está, `workshop.env`."""
    value = os.environ.get(name) or dotenv_values(root() / "workshop.env").get(name)
    if not value:
        raise SettingsError(f"Falta el ajuste {name}: defínelo en workshop.env o como variable de entorno.")
    return value


def shared_path(name):
    """Un ajuste compartido que es una ruta, resuelta desde la raíz si es relativa."""
    path = Path(shared(name))
    return path if path.is_absolute() else root() / path


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


def _choice(name, default, allowed):
    value = os.environ.get(name, "").strip().lower() or default
    if value not in allowed:
        raise SettingsError(f"{name}={value!r} no es válido: usa {' o '.join(allowed)}.")
    return value


def _log_level():
    level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if not isinstance(logging.getLevelName(level), int):
        raise SettingsError(f"LOG_LEVEL={level!r} no es un nivel de log (DEBUG, INFO, WARNING, ERROR).")
    return level


def load_settings():
    """Lee los ajustes del entorno. Las claves son las de `app.config` (mayúsculas, como en Flask)."""
    origins = os.environ.get("CORS_ORIGINS", "*")
    web_dir = os.environ.get("WEB_DIR")
    return {
        "MODEL_DIR": shared_path("MODEL_DIR"),
        "HEALTH_PATH": shared("HEALTH_PATH"),
        # onnx (por defecto): el grafo ONNX con onnxruntime. sklearn: el pipeline joblib (la lección).
        "MODEL_RUNTIME": _choice("MODEL_RUNTIME", "onnx", RUNTIMES),
        "CACHE_SIZE": _integer("CACHE_SIZE", 1024, minimum=0),
        "MAX_BATCH": _integer("MAX_BATCH", 1000, minimum=1),
        # Flask rechaza con 413 cualquier cuerpo mayor que MAX_CONTENT_LENGTH.
        "MAX_CONTENT_LENGTH": _integer("MAX_BODY_BYTES", 1024 * 1024, minimum=1),
        "CORS_ORIGINS": [origin.strip() for origin in origins.split(",") if origin.strip()],
        "LOG_LEVEL": _log_level(),
        # Una línea de log por petición (ACCESS_LOG=0 la apaga: p. ej. en una prueba de carga).
        "ACCESS_LOG": os.environ.get("ACCESS_LOG", "1").strip().lower() not in {"0", "false", "no", "off"},
        "WEB_DIR": Path(web_dir) if web_dir else root() / "mobile_client" / "web",
    }
