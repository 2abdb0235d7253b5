"""GET /openapi.json: el documento OpenAPI 3.1 de la API, generado a partir de la ficha del modelo."""

from flask import Blueprint, current_app, jsonify

from .openapi_spec import build_spec

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_document():
    service = current_app.extensions["diabetes_api"]
    if not hasattr(service, "openapi"):
        service.openapi = build_spec(service.model.card, current_app.config,
                                     web=current_app.config["WEB_DIR"].is_dir())
    return jsonify(service.openapi)
