"""POST /v1/predict: una paciente, o un lote {"instances": [...]}, → riesgo de diabetes.

Cada paciente se valida con las reglas de la ficha del modelo y se convierte en una fila de
números: la lista de variables (nombres, tipos, rangos, «0 = no medido») sale SOLO de la ficha.
Decisión documentada: para las variables de tipo "integer" se acepta un número con parte
decimal nula (2.0), porque JSON no distingue 2 de 2.0; 2.5 se rechaza.
"""

import json
import math

from flask import Blueprint, current_app, g, jsonify, request

from .errors import ApiError, safe_text
from .protection import requires_key

bp = Blueprint("predict", __name__, url_prefix="/v1")
UNKNOWN = "Campo desconocido: no es una variable del modelo."


# ------------------------------------------------------------------ Validación

class FeatureValidator:
    """Convierte un diccionario JSON en una tupla de floats en el orden de la ficha."""

    def __init__(self, features):
        self.features = [(f["name"], f["type"], f["min"], f["max"], bool(f["zero_means_missing"]))
                         for f in features]
        self.names = [name for name, *_ in self.features]
        self.known = frozenset(self.names)

    def row(self, patient, prefix=""):
        """Devuelve (fila, errores); fila es None si hay algún error."""
        if not isinstance(patient, dict):
            return None, [{"field": prefix.rstrip(".") or "(cuerpo)",
                           "message": "Debe ser un objeto JSON con los datos de una paciente."}]
        errors = []
        values = []
        for name, kind, low, high, zero_ok in self.features:
            if name not in patient:
                errors.append({"field": prefix + name, "message": "Falta este campo."})
                continue
            value = patient[name]
            problem = check_value(value, kind, low, high, zero_ok)
            if problem:
                errors.append({"field": prefix + name, "message": problem})
            else:
                values.append(float(value))
        for name in patient:
            if name not in self.known:
                errors.append({"field": prefix + safe_text(name), "message": UNKNOWN})
        return (None, errors) if errors else (tuple(values), [])

    def one(self, patient):
        row, errors = self.row(patient)
        if errors:
            raise invalid(errors)
        return row

    def many(self, instances):
        rows, errors = [], []
        for index, patient in enumerate(instances):
            row, problems = self.row(patient, prefix=f"instances[{index}].")
            rows.append(row)
            errors.extend(problems)
        if errors:
            raise invalid(errors)
        return rows


def check_value(value, kind, low, high, zero_ok):
    """Un texto en español con el problema del valor, o None si es válido."""
    # bool es un int en Python: hay que descartarlo antes.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"Debe ser un número (se recibió {json_type(value)})."
    if isinstance(value, float) and not math.isfinite(value):
        return "Debe ser un número finito (no NaN ni Infinity)."
    if kind == "integer" and value != int(value):
        return "Debe ser un número entero."
    if value == 0 and zero_ok:
        return None  # 0 significa «no medido»: el modelo lo imputa.
    # Se compara sin convertir a float: un entero enorme no desborda.
    if not low <= value <= high:
        extra = " (o 0 si no se midió)" if zero_ok else ""
        return f"Debe estar entre {spanish(low)} y {spanish(high)}{extra}."
    return None


def spanish(number):  # 1.000 y 0,05: punto de miles y coma decimal, como lo escribe la app
    return f"{number:,g}".translate(str.maketrans(",.", ".,"))


def json_type(value):
    names = {bool: "un booleano", str: "un texto", list: "una lista", dict: "un objeto", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def invalid(errors):
    return ApiError(422, "validation_error", "Los datos de la paciente no son válidos: revisa los campos indicados.",
                    errors)


# ------------------------------------------------------------------ La ruta


def read_json_body():
    """El cuerpo como JSON; 400 si no es JSON (o no se declara como tal). Nunca un 500."""
    if not request.is_json:
        raise ApiError(400, "invalid_json", "El cuerpo debe ser JSON con la cabecera Content-Type: application/json.")
    # Más de MAX_CONTENT_LENGTH → 413. En producción el cuerpo ya llegó, con plazo (limits.py, BODY_TIMEOUT).
    try:
        return json.loads(request.get_data(cache=False))
    except json.JSONDecodeError as error:
        raise ApiError(400, "invalid_json",
                       f"El cuerpo no es JSON válido (línea {error.lineno}, columna {error.colno}).") from None
    except UnicodeDecodeError as error:
        raise ApiError(400, "invalid_json", f"El cuerpo no es texto UTF-8 válido (byte {error.start}).") from None
    except (ValueError, RecursionError):  # p. ej. listas anidadas miles de veces
        raise ApiError(400, "invalid_json", "El cuerpo no es JSON válido (anidado demasiado profundo).") from None


@bp.post("/predict")
@requires_key
def predict():
    body = read_json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "El cuerpo debe ser un objeto JSON: una paciente o {\"instances\": [...]}.")
    service = current_app.extensions["diabetes_api"]
    if "instances" in body:
        return _predict_batch(service, body)
    row = service.validator.one(body)
    results, hits, version = score(service, [row])
    g.cache_hit = hits[0]  # para la capa de producción, si está: el log (cache=) y las métricas leen `g`
    response = jsonify({**results[0], "model_version": version})
    if current_app.config["EXPOSE_CACHE_HEADER"]:
        response.headers["X-Cache"] = "HIT" if hits[0] else "MISS"
    return response


def _predict_batch(service, body):
    instances = body["instances"]
    extra = sorted(set(body) - {"instances"})
    if extra:
        raise ApiError(400, "invalid_body", "Un lote solo admite la clave «instances».",
                       [{"field": safe_text(name), "message": "Campo desconocido."} for name in extra])
    if not isinstance(instances, list) or not instances:
        raise ApiError(400, "invalid_body", "«instances» debe ser una lista con al menos una paciente.",
                       [{"field": "instances", "message": "Debe ser una lista no vacía."}])
    limit = current_app.config["MAX_BATCH"]
    if len(instances) > limit:
        raise ApiError(413, "payload_too_large", f"El lote tiene {len(instances)} pacientes; el máximo es {limit}.",
                       [{"field": "instances", "message": f"Como mucho {limit} pacientes por petición."}])
    rows = service.validator.many(instances)
    results, hits, version = score(service, rows)
    g.cache_hit = f"{sum(hits)}/{len(hits)}"
    return jsonify({"predictions": results, "model_version": version})


def score(service, rows):
    """(resultados, aciertos de caché, versión que responde); con una candidata, versions_split.py."""
    if service.split is not None:
        return service.split.score(rows)
    results, hits = service.model.predict_rows(rows)
    g.predictions = (rows, hits, service.model.version, {service.model.version: results})
    return results, hits, service.model.version
