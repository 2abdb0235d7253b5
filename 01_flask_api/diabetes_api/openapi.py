"""GET /openapi.json: el documento OpenAPI 3.1 de la API, generado a partir de la ficha del modelo.

Documenta cada ruta, cada cuerpo y la forma de los errores; las pruebas lo validan con
openapi-spec-validator y comprueban que lista todas las rutas de la aplicación.
"""

from flask import Blueprint, current_app, jsonify

from .openapi_schemas import ref, schemas

bp = Blueprint("openapi", __name__)

ERRORS = {
    "400": "JSON mal formado, Content-Type incorrecto o cuerpo que no es un objeto (invalid_json, invalid_body).",
    "404": "Ruta inexistente (not_found).",
    "405": "Método no permitido en esta ruta (method_not_allowed).",
    "413": "Cuerpo o lote demasiado grande (payload_too_large).",
    "422": "Algún campo falta, sobra, tiene otro tipo o está fuera de rango (validation_error); "
           "«details» nombra todos los campos a la vez.",
    "500": "Error interno inesperado (internal_error), sin traza; el log guarda el X-Request-ID.",
}
HEADERS = {
    "X-Request-ID": "Identificador de la petición (se reutiliza el que envía el cliente).",
    "X-Model-Version": "Versión del modelo que respondió.",
    "X-Cache": "HIT si la predicción salió de la caché, MISS si se calculó (solo con un paciente).",
}


def ok(schema, description, headers=("X-Request-ID", "X-Model-Version"), media="application/json"):
    return {"description": description, "content": {media: {"schema": schema}},
            "headers": {name: {"$ref": f"#/components/headers/{name}"} for name in headers}}


def errors(*codes):
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in ("404", "405", "500", *codes)}


def get(summary, response, *codes):
    return {"get": {"summary": summary, "responses": {"200": response, **errors(*codes)}}}


def build_spec(card, config, web=False):
    """El documento completo. `config` aporta HEALTH_PATH y MAX_BATCH; `web` añade /app/."""
    paths = {
        "/": get("Índice de la API con enlaces", ok(ref("Index"), "Nombre, versión y enlaces.")),
        config["HEALTH_PATH"]: get("Comprobación de salud (Docker, Lightsail)",
                                   ok(ref("Health"), "El modelo está cargado.")),
        "/v1/model": get("Ficha del modelo: variables, métricas, versión y caché",
                         ok(ref("ModelCard"), "La ficha del modelo.")),
        "/metrics": get("Contadores de este proceso", ok(ref("Metrics"), "Caché y peticiones.")),
        "/openapi.json": get("Este documento", ok({"type": "object"}, "Documento OpenAPI.")),
        "/v1/predict": {"post": {
            "summary": "Riesgo de diabetes de un paciente o de un lote",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"oneOf": [ref("Patient"), ref("Batch")]}}}},
            "responses": {"200": ok({"oneOf": [ref("Prediction"), ref("BatchPrediction")]},
                                    "Predicción (un paciente) o predicciones (lote, en el mismo orden).",
                                    headers=("X-Request-ID", "X-Model-Version", "X-Cache")),
                          **errors("400", "413", "422")}}},
    }
    if web:
        html = ok({"type": "string"}, "La app web.", media="text/html")
        paths["/app/"] = get("App web «Diabetes Prediction»", html)
        paths["/app/{filename}"] = {"get": {
            "summary": "Archivos de la app web",
            "parameters": [{"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "El archivo."}, **errors()}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "API de riesgo de diabetes", "version": card["version"],
                 "description": card.get("description", "")},
        "paths": paths,
        "components": {
            "schemas": schemas(card, config["MAX_BATCH"]),
            "responses": {f"E{code}": {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                          for code, text in ERRORS.items()},
            "headers": {name: {"description": text, "schema": {"type": "string"}} for name, text in HEADERS.items()},
        },
    }


@bp.get("/openapi.json")
def openapi_document():
    service = current_app.extensions["diabetes_api"]
    if not hasattr(service, "openapi"):
        service.openapi = build_spec(service.model.card, current_app.config,
                                     web=current_app.config["WEB_DIR"].is_dir())
    return jsonify(service.openapi)
