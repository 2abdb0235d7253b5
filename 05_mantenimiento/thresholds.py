"""Los umbrales de la etapa 05 (`umbrales.toml`, junto a este archivo), leídos y comprobados.

    load_thresholds(path=None) -> dict      {"juez": {...}, "deriva": {...}, "demo": {...}}

Cada clave tiene un tipo y un intervalo; si falta, sobra o no vale, `ThresholdsError` dice cuál, en español.
"""

import math
import tomllib
from pathlib import Path

from workshop.spanish import number

DEFAULT_PATH = Path(__file__).resolve().parent / "umbrales.toml"


class ThresholdsError(ValueError):
    """Un umbral que falta, sobra o no es válido (el mensaje nombra la clave)."""


# sección → clave → (tipo, mínimo, máximo); None = sin límite.
SCHEMA = {
    "juez": {"pasos": (list, None, None), "muestra_minima": (int, 500, None),
             "exceso_errores_max": (float, 0.0, 1.0), "p99_cociente_max": (float, 1.0, None),
             "cambios_max": (float, 0.0, 1.0), "psi_riesgo_max": (float, 0.0, None),
             "espera_max_s": (float, 1.0, None), "consulta_cada_s": (float, 0.05, 60.0)},
    "deriva": {"vigilar": (float, 0.0, None), "alerta": (float, 0.0, None), "muestra_minima": (int, 1, None),
               "ventana_s": (float, 1.0, None)},
    "demo": {"peticiones_por_segundo": (float, 1.0, 2000.0), "hilos": (int, 1, 64), "pacientes": (int, 10, None),
             "clientes": (int, 1, None), "semilla_reentrenada": (int, 0, None),
             "probabilidad_mala": (float, 0.5, 1.0), "duracion_max_s": (float, 10.0, None)},
}


def load_thresholds(path=None):
    """Lee `path` (por defecto umbrales.toml de la etapa) y devuelve sus secciones comprobadas."""
    path = Path(path) if path else DEFAULT_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ThresholdsError(f"No puedo leer los umbrales de {path}: {error.strerror or error}.") from None
    except tomllib.TOMLDecodeError as error:
        raise ThresholdsError(f"{path} no es TOML válido: {error}.") from None
    checked = {}
    for section, keys in SCHEMA.items():
        values = data.get(section)
        if not isinstance(values, dict):
            raise ThresholdsError(f"Falta la sección [{section}] en {path}.")
        unknown = sorted(set(values) - set(keys))
        if unknown:
            raise ThresholdsError(f"Clave desconocida {section}.{unknown[0]} en {path}.")
        checked[section] = {key: _value(f"{section}.{key}", values, key, *rule) for key, rule in keys.items()}
    _cross_checks(checked)
    return checked


def _value(name, values, key, kind, low, high):
    if key not in values:
        raise ThresholdsError(f"Falta el umbral {name} en umbrales.toml.")
    value = values[key]
    if kind is list:
        return _steps(name, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        what = "un número entero" if kind is int else "un número"
        raise ThresholdsError(f"El umbral {name} debe ser {what}; es {value!r}.")
    value = kind(value)
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        raise ThresholdsError(f"El umbral {name} = {number(value, 2)} está fuera de su intervalo "
                              f"({_bound(low, '−∞')} a {_bound(high, '∞')}).")
    return value


def _bound(value, default):
    return default if value is None else number(value, 2)


def _steps(name, value):
    """Los pesos: números crecientes entre 0 y 1 que acaban en 1 (la promoción)."""
    if (not isinstance(value, list) or len(value) < 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise ThresholdsError(f"El umbral {name} debe ser una lista de al menos dos pesos; es {value!r}.")
    steps = [float(v) for v in value]
    if any(b <= a for a, b in zip(steps, steps[1:], strict=False)) or steps[0] < 0 or steps[-1] != 1.0:
        raise ThresholdsError(f"El umbral {name} debe ir creciendo de 0 o más hasta 1 (la promoción); es {value!r}.")
    return steps


def _cross_checks(checked):
    drift = checked["deriva"]
    if drift["vigilar"] >= drift["alerta"]:
        raise ThresholdsError(f"El umbral deriva.vigilar ({number(drift['vigilar'], 2)}) debe ser menor que "
                              f"deriva.alerta ({number(drift['alerta'], 2)}).")
