"""POST /v1/predict: un paciente, o un lote {"instances": [...]}, → riesgo de diabetes."""

import json

from flask import Blueprint, current_app, g, jsonify, request

from .errors import ApiError, safe_text

bp = Blueprint("predict", __name__, url_prefix="/v1")


def read_json_body():
    """El cuerpo como JSON; 400 si no es JSON (o no se declara como tal). Nunca un 500."""
    if not request.is_json:
        raise ApiError(400, "invalid_json", "El cuerpo debe ser JSON con la cabecera Content-Type: application/json.")
    data = request.get_data(cache=False)  # más de MAX_CONTENT_LENGTH → 413
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError es un ValueError
        raise ApiError(400, "invalid_json", f"El cuerpo no es JSON válido: {_short(error)}") from None


@bp.post("/predict")
def predict():
    body = read_json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "El cuerpo debe ser un objeto JSON: un paciente o {\"instances\": [...]}.")
    service = current_app.extensions["diabetes_api"]
    if "instances" in body:
        return _predict_batch(service, body)
    row = service.validator.one(body)
    (result,), (hit,) = service.predictor.predict_rows([row])
    g.cache_hit = hit
    response = jsonify({**result, "model_version": service.model.version})
    response.headers["X-Cache"] = "HIT" if hit else "MISS"
    return response


def _predict_batch(service, body):
    instances = body["instances"]
    extra = sorted(set(body) - {"instances"})
    if extra:
        raise ApiError(400, "invalid_body", "Un lote solo admite la clave «instances».",
                       [{"field": safe_text(name), "message": "Campo desconocido."} for name in extra])
    if not isinstance(instances, list) or not instances:
        raise ApiError(400, "invalid_body", "«instances» debe ser una lista con al menos un paciente.",
                       [{"field": "instances", "message": "Debe ser una lista no vacía."}])
    limit = current_app.config["MAX_BATCH"]
    if len(instances) > limit:
        raise ApiError(413, "payload_too_large", f"El lote tiene {len(instances)} pacientes; el máximo es {limit}.",
                       [{"field": "instances", "message": f"Como mucho {limit} pacientes por petición."}])
    rows = service.validator.many(instances)
    results, hits = service.predictor.predict_rows(rows)
    g.cache_hit = f"{sum(hits)}/{len(hits)}"
    return jsonify({"predictions": results, "model_version": service.model.version})


def _short(error):
    text = str(error)
    return text if len(text) <= 200 else text[:200] + "…"
