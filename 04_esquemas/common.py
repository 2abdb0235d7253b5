"""Lo que comparten los tres esquemas: el modelo, las pacientes, los errores y los números en español.

El modelo es SIEMPRE el mismo que sirve la API (`diabetes_api.model.load_model`): la versión publicada
en MODEL_DIR, comprobada antes de usarla. La lista de variables sale de su ficha (`card["features"]`).
"""

import math
import os
import random
import time

from diabetes_api.model import ModelError, live_version_dir, load_model

__all__ = ["ModelError", "SchemesError", "event_cost", "load_model", "live_version", "make_patients", "es_number",
           "row_from_patient", "env_int", "env_float"]


class SchemesError(RuntimeError):
    """Un problema que la persona puede arreglar; el mensaje es UNA frase en español que dice cómo."""


def live_version(model_dir=None):
    """El nombre de la versión publicada, sin cargarla (para saber si hay que recargar el modelo)."""
    return live_version_dir(model_dir).name


def make_patients(features, count, seed=0):
    """`count` pacientes plausibles y reproducibles, dentro de los rangos de la ficha del modelo."""
    rng = random.Random(seed)
    patients = []
    for _ in range(count):
        patient = {}
        for feature in features:
            low, high = feature["min"], feature["max"]
            if feature["type"] == "integer":
                patient[feature["name"]] = rng.randint(math.ceil(low), math.floor(high))
            else:
                patient[feature["name"]] = round(rng.uniform(low, high), 2)
        patients.append(patient)
    return patients


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


def es_number(value, decimals=0):
    """1234.5 → «1.234,5»: separador de miles con punto y decimales con coma."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _env(name, default, convert, minimum):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = convert(raw.replace(",", "."))
    except ValueError:
        raise SchemesError(f"{name}={raw!r} no es un número válido.") from None
    if not math.isfinite(value) or value < minimum:
        raise SchemesError(f"{name}={raw!r} no es válido: debe ser {es_number(minimum)} o más.")
    return value


def env_int(name, default, minimum=1):
    """Un entero de una variable de entorno, con un error en español si no vale."""
    return _env(name, default, int, minimum)


def env_float(name, default, minimum=0.0):
    """Un número (admite coma decimal) de una variable de entorno, con un error en español si no vale."""
    return _env(name, default, float, minimum)
