"""La raíz del repositorio, los valores compartidos de `workshop.env` y los números del entorno.

PORT, HEALTH_PATH, MODEL_DIR, PIDFILE y DEV_PORT se definen una sola vez en `workshop.env`; una
variable de entorno con el mismo nombre tiene prioridad (la imagen Docker los fija con ENV).
"""

import math
import os
from functools import cache
from pathlib import Path

import click

from .paths import root

__all__ = ["SettingsError", "StartupError", "env_number", "parse_number", "root", "shared", "shared_path"]


class StartupError(click.ClickException, RuntimeError):
    """Algo impide arrancar; el mensaje (en español) dice qué hacer, en una línea.

    Es un RuntimeError: gunicorn lo muestra como «Error: <mensaje>» y termina sin traceback
    cuando sale del gancho `on_starting` del maestro. Y es una ClickException: `flask run`
    también muestra solo «Error: <mensaje>».
    """


class SettingsError(StartupError):
    """Un ajuste con un valor imposible (por ejemplo, CACHE_SIZE=mucho)."""


@cache
def _workshop_env():
    from dotenv import dotenv_values

    return dotenv_values(root() / "workshop.env")


def shared(name):
    """Un valor compartido del taller: la variable de entorno o, si no está, `workshop.env`."""
    value = os.environ.get(name) or _workshop_env().get(name)
    if not value:
        raise SettingsError(f"Falta el ajuste {name}: defínelo en workshop.env o como variable de entorno.")
    return value


def shared_path(name):
    """Un ajuste compartido que es una ruta, resuelta desde la raíz si es relativa."""
    path = Path(shared(name))
    return path if path.is_absolute() else root() / path


def parse_number(name, raw, kind=int, minimum=None, maximum=None):
    """Convierte el texto `raw` del ajuste `name` en un número (admite coma decimal) o SettingsError."""
    text = str(raw).strip()
    try:
        value = kind(text.replace(",", ".") if kind is float else text)
    except ValueError:
        what = "un número entero" if kind is int else "un número"
        raise SettingsError(f"{name}={text!r} no es {what}.") from None
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        raise SettingsError(f"{name}={text} no es válido: debe ser {_bound(minimum)} o más.")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name}={text} no es válido: debe ser {_bound(maximum)} o menos.")
    return value


def _bound(value):
    """Un límite como se escribe en el ajuste: 65535 (un puerto no lleva punto de miles), 0,5."""
    from .spanish import number

    return str(value) if float(value).is_integer() else number(value, 2)


def env_number(name, default, kind=int, minimum=None, maximum=None):
    """Un número de una variable de entorno (vacía o ausente → `default`), con un error en español."""
    raw = os.environ.get(name, "").strip()
    return default if not raw else parse_number(name, raw, kind, minimum, maximum)
