"""GET /openapi.json: el documento OpenAPI 3.1 de la API, generado a partir de la ficha del modelo.

Documenta cada ruta, cada cuerpo y la forma de los errores; las pruebas lo validan con
openapi-spec-validator y comprueban que lista todas las rutas de la aplicación.
"""

from flask import Blueprint, current_app, jsonify

from .health_and_model import has_web_app
from .protection import not_rate_limited

bp = Blueprint("openapi", __name__)

ERRORS = {
    "400": "JSON mal formado, Content-Type incorrecto o cuerpo que no es un objeto (invalid_json, invalid_body).",
    "404": "Ruta inexistente (not_found).",
    "405": "Método no permitido en esta ruta (method_not_allowed).",
    "406": "Archivo grande de la app pedido sin aceptar gzip (not_acceptable).",
    "413": "Cuerpo o lote demasiado grande (payload_too_large).",
    "401": "Falta la clave de la API o no es válida (unauthorized); solo si el servidor tiene API_KEY.",
    "408": "El cuerpo no llegó completo a tiempo (request_timeout, BODY_TIMEOUT).",
    "422": "Algún campo falta, sobra, tiene otro tipo o está fuera de rango (validation_error); "
           "«details» nombra los 20 primeros y «total_details» cuántos hay si son más.",
    "429": "Demasiadas peticiones (too_many_requests, RATE_LIMIT) o demasiados bytes de la app (WEB_BUDGET_MB); "
           "Retry-After dice cuándo volver.",
    "500": "Error interno inesperado (internal_error), sin traza; el log guarda el X-Request-ID.",
    "503": "La API está ocupada (overloaded): pasado MAX_IN_FLIGHT, al momento; pasado MAX_LAG_MS de espera, "
           "en 1 s en lugar de una cola de segundos; siempre con Retry-After.",
}
HEADERS = {
    "X-Request-ID": "Identificador de la petición (se reutiliza el que envía el cliente).",
    "X-Model-Version": "Versión del modelo que respondió.",
    "X-Cache": "HIT si la predicción salió de la caché, MISS si se calculó (solo con una paciente y "
               "EXPOSE_CACHE_HEADER).",
}


# ------------------------------------------------------------------ Esquemas (de la ficha)

def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def feature_schema(feature):
    text = f"{feature['label']} ({feature['unit']}). {feature['description']}"
    ranged = {"type": feature["type"], "minimum": feature["min"], "maximum": feature["max"]}
    if not feature["zero_means_missing"]:
        return {**ranged, "description": text}
    return {"description": text + " 0 significa «no medido».", "anyOf": [ranged, {"const": 0}]}


def schemas(card, max_batch):
    features = card["features"]
    example = {f["name"]: f["min"] for f in features}
    probability = {"type": "number", "minimum": 0, "maximum": 1}
    result = {"prediction": {"type": "integer", "enum": [c["value"] for c in card["classes"]]},
              "label": {"type": "string", "enum": [c["label"] for c in card["classes"]]},
              "probability": probability}
    detail = {"type": "object", "required": ["field", "message"],
              "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}
    return {
        "Patient": {"type": "object", "additionalProperties": False, "required": [f["name"] for f in features],
                    "properties": {f["name"]: feature_schema(f) for f in features}, "example": example},
        "Batch": {"type": "object", "additionalProperties": False, "required": ["instances"],
                  "properties": {"instances": {"type": "array", "minItems": 1, "maxItems": max_batch,
                                               "items": ref("Patient")}}},
        "Result": {"type": "object", "required": list(result), "properties": result},
        "Prediction": {"type": "object", "required": [*result, "model_version"],
                       "properties": {**result, "model_version": {"type": "string"}}},
        "BatchPrediction": {"type": "object", "required": ["predictions", "model_version"],
                            "properties": {"predictions": {"type": "array", "items": ref("Result")},
                                           "model_version": {"type": "string"}}},
        "Health": {"type": "object", "required": ["status", "model_version"],
                   "properties": {"status": {"type": "string", "const": "ok"}, "model_version": {"type": "string"},
                                  "runtime": {"type": "string", "enum": ["onnx", "sklearn"]}}},
        "PublicModel": {"type": "object", "description": "Lo que un cliente necesita: variables, clases, umbral, "
                        "métricas principales y el sha256 y tamaño del ONNX para comprobar el que descarga.",
                        "required": ["name", "version", "features", "classes", "threshold", "metrics"],
                        "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                                       "features": {"type": "array"}, "classes": {"type": "array"},
                                       "threshold": {"type": "number"}, "metrics": {"type": "object"},
                                       "onnx": {"type": "object", "properties": {
                                           "url": {"type": "string"}, "sha256": {"type": "string"},
                                           "size": {"type": "integer"}}}}},
        "ModelCard": {"type": "object", "description": "La ficha completa (model.json) que escribió el entrenamiento.",
                      "required": ["version", "features", "classes", "metrics"],
                      "properties": {"version": {"type": "string"}, "features": {"type": "array"},
                                     "classes": {"type": "array"}, "metrics": {"type": "object"}}},
        "Index": {"type": "object", "properties": {"name": {"type": "string"}, "model_version": {"type": "string"},
                                                   "links": {"type": "object"}}},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message", "details"],
            "properties": {"code": {"type": "string", "examples": ["validation_error"]},
                           "message": {"type": "string"}, "details": {"type": "array", "items": detail}}}}},
    }


# ------------------------------------------------------------------ Rutas y respuestas

def ok(schema, description, headers=("X-Request-ID", "X-Model-Version"), media="application/json"):
    return {"description": description, "content": {media: {"schema": schema}},
            "headers": {name: {"$ref": f"#/components/headers/{name}"} for name in headers}}


def errors(*codes):
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in ("404", "405", "500", *codes)}


def get(summary, response, *codes, protected=False):
    operation = {"summary": summary, "responses": {"200": response, **errors(*codes)}}
    if protected:  # con API_KEY en el servidor; sin ella, abierta
        operation["security"] = [{"bearer": []}, {}]
        operation["responses"].update(errors("401", "429", "503"))
    return {"get": operation}


def static_files(summary):
    """GET de un archivo estático (la app, /docs): gzip, ETag, 304 y el cupo de bytes."""
    return {"get": {
        "summary": summary,
        "parameters": [{"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "El archivo (gzip si el cliente lo acepta; ETag por contenido)."},
                      "304": {"description": "El cliente ya tiene esta versión (If-None-Match)."},
                      **errors("406", "429")}}}


def without_key(spec):
    """Sin API_KEY en el servidor no hay nada que autorizar: ni esquema «bearer» ni «Autorizar» en /docs."""
    for operations in spec["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    del spec["components"]["securitySchemes"]
    return spec


def build_spec(card, config, web=False):
    """El documento completo. `config` aporta HEALTH_PATH, MAX_BATCH y API_KEYS; `web` añade /app/."""
    paths = {
        "/": get("Índice de la API con enlaces", ok(ref("Index"), "Nombre, versión y enlaces.")),
        config["HEALTH_PATH"]: get("Comprobación de salud (Docker, Lightsail)",
                                   ok(ref("Health"), "El modelo está cargado.")),
        "/v1/model": get("Vista pública del modelo: variables, clases, umbral, métricas, sha256 del ONNX",
                         ok(ref("PublicModel"), "La vista pública del modelo.")),
        "/v1/model/card": get("Ficha completa del modelo", ok(ref("ModelCard"), "La ficha."), protected=True),
        "/v1/model.onnx": get("El grafo ONNX publicado (ETag = sha256)",
                              ok({"type": "string", "format": "binary"}, "Los bytes del modelo.",
                                 media="application/octet-stream"), protected=True),
        "/metrics": get("Métricas de todos los workers, formato de Prometheus",
                        ok({"type": "string"}, "Texto de Prometheus.", media="text/plain"), protected=True),
        "/openapi.json": get("Este documento", ok({"type": "object"}, "Documento OpenAPI.")),
        "/docs": get("La API para probar en el navegador (Swagger UI en español; sin `make web`, 404)",
                     ok({"type": "string"}, "La página.", headers=(), media="text/html")),
        "/docs/{filename}": static_files("Archivos de la página /docs (Swagger UI)"),
        "/v1/predict": {"post": {
            "summary": "Riesgo de diabetes de una paciente o de un lote",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"oneOf": [ref("Patient"), ref("Batch")]}}}},
            "responses": {"200": ok({"oneOf": [ref("Prediction"), ref("BatchPrediction")]},
                                    "Predicción (una paciente) o predicciones (lote, en el mismo orden).",
                                    headers=("X-Request-ID", "X-Model-Version", "X-Cache")),
                          **errors("400", "401", "408", "413", "422", "429", "503")},
            "security": [{"bearer": []}, {}]}},
    }
    if web:
        html = ok({"type": "string"}, "La app web.", media="text/html")
        paths["/app/"] = get("App web «Diabetes Prediction»", html)
        paths["/app/{filename}"] = static_files("Archivos de la app web")
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "API de riesgo de diabetes", "version": card["version"],
                 "description": card.get("description", "")},
        "paths": paths,
        "components": {
            "schemas": schemas(card, config["MAX_BATCH"]),
            "responses": {f"E{code}": {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                          for code, text in ERRORS.items()},
            "headers": {name: {"description": text, "schema": {"type": "string"}} for name, text in HEADERS.items()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "La clave de la API (API_KEY) del servidor."}},
        },
    }
    return spec if config.get("API_KEYS") else without_key(spec)


@bp.get("/openapi.json")
@not_rate_limited
def openapi_document():
    service = current_app.extensions["diabetes_api"]
    if service.openapi is None:
        service.openapi = build_spec(service.model.card, current_app.config,
                                     web=has_web_app(current_app.config))
    return jsonify(service.openapi)
