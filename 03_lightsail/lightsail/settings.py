"""Valores de la etapa: los compartidos salen de workshop.env; el resto, de opciones o del entorno."""

import os
from pathlib import Path

from dotenv import dotenv_values

STAGE_DIR = Path(__file__).resolve().parents[1]
ROOT = STAGE_DIR.parent
SHARED = dotenv_values(ROOT / "workshop.env")

# La misma definición que usan gunicorn, la imagen Docker y el HEALTHCHECK.
PORT = int(SHARED["PORT"])
HEALTH_PATH = SHARED["HEALTH_PATH"]
MODEL_CARD = ROOT / SHARED["MODEL_DIR"] / "model.json"

DEPLOYMENT_FILE = STAGE_DIR / "deployment.json"

# Valores por defecto y la variable de entorno que los sustituye.
DEFAULTS = {
    "region": ("LIGHTSAIL_REGION", "us-east-1"),
    "service": ("LIGHTSAIL_SERVICE", "taller-diabetes"),
    "power": ("LIGHTSAIL_POWER", "nano"),
    "scale": ("LIGHTSAIL_SCALE", "1"),
    "image": ("IMAGE", "diabetes-api:latest"),
}

# Esperas: cada cuánto se consulta el estado y cuánto se espera como máximo.
POLL_INTERVAL_SECONDS = 10
DEFAULT_TIMEOUT_SECONDS = 20 * 60


def from_env(key):
    """El valor de la variable de entorno de `key`, o None si no está definida."""
    variable, _ = DEFAULTS[key]
    return os.environ.get(variable) or None


def default(key):
    """El valor de la variable de entorno de `key` o, si falta, su valor por defecto."""
    return from_env(key) or DEFAULTS[key][1]
