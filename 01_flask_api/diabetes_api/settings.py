"""Configuración de la API: variables de entorno con valores por defecto razonables.

PORT, HEALTH_PATH y MODEL_DIR se definen una sola vez en `workshop.env` (los lee `workshop.settings`);
una variable de entorno con el mismo nombre tiene prioridad. El resto de ajustes solo existe aquí.
WEB_DIR (la app web que se sirve en /app/) no tiene valor por defecto: lo fijan la imagen y `make app`.
"""

import logging
import os
from pathlib import Path

from workshop.settings import SettingsError, StartupError, env_number, shared, shared_path

__all__ = ["RUNTIMES", "SettingsError", "StartupError", "flag", "load_settings"]

RUNTIMES = ("onnx", "sklearn")
YES, NO = {"1", "true", "yes", "on", "si", "sí"}, {"0", "false", "no", "off"}


def flag(name, default):
    """Un sí/no del entorno (1/0, true/false, sí/no, on/off); vacío o sin definir: `default`."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in YES | NO:
        raise SettingsError(f"{name}={value!r} no es válido: usa 1 (sí) o 0 (no).")
    return value in YES


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
    web_dir = os.environ.get("WEB_DIR")
    return {
        "MODEL_DIR": shared_path("MODEL_DIR"),
        "HEALTH_PATH": shared("HEALTH_PATH"),
        # onnx (por defecto): el grafo ONNX con onnxruntime. sklearn: el pipeline joblib (la lección).
        "MODEL_RUNTIME": _choice("MODEL_RUNTIME", "onnx", RUNTIMES),
        "CACHE_SIZE": env_number("CACHE_SIZE", 1024, minimum=0),
        "MAX_BATCH": env_number("MAX_BATCH", 1000, minimum=1),
        # Flask rechaza con 413 cualquier cuerpo mayor que MAX_CONTENT_LENGTH.
        "MAX_CONTENT_LENGTH": env_number("MAX_BODY_BYTES", 1024 * 1024, minimum=1),
        "LOG_LEVEL": _log_level(),
        # Una línea de log por petición (ACCESS_LOG=0 la apaga: p. ej. en una prueba de carga).
        "ACCESS_LOG": os.environ.get("ACCESS_LOG", "1").strip().lower() not in NO,
        # La cabecera X-Cache (HIT/MISS) en /v1/predict: en local sí (la lección de la caché la mira).
        # En una URL pública, no (EXPOSE_CACHE_HEADER=0 en Lightsail): un HIT le diría a un cliente
        # que OTRO ya envió esos mismos datos.
        "EXPOSE_CACHE_HEADER": flag("EXPOSE_CACHE_HEADER", True),
        # La app web (etapa posterior): sin WEB_DIR, /app/ no existe. La imagen y `make app` la fijan.
        "WEB_DIR": Path(web_dir) if web_dir else None,
    }
