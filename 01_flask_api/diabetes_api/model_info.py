"""Rutas de información: salud, ficha del modelo, métricas y un índice en la raíz."""

from flask import Blueprint, current_app, jsonify

from .observability import request_counts

bp = Blueprint("model_info", __name__)


def _service():
    return current_app.extensions["diabetes_api"]


def health():
    """Responde 200 cuando el modelo está cargado (si no lo está, la app ni siquiera arranca)."""
    return jsonify({"status": "ok", "model_version": _service().model.version})


@bp.get("/v1/model")
def model_card():
    service = _service()
    return jsonify({**service.model.card, "cache": service.predictor.cache.stats()})


@bp.get("/metrics")
def metrics():
    """Contadores de ESTE proceso (cada worker de gunicorn tiene los suyos)."""
    service = _service()
    return jsonify({"model_version": service.model.version, "cache": service.predictor.cache.stats(),
                    "requests": request_counts()})


@bp.get("/")
def index():
    service = _service()
    links = {"health": current_app.config["HEALTH_PATH"], "model": "/v1/model", "predict": "/v1/predict",
             "metrics": "/metrics", "openapi": "/openapi.json"}
    if current_app.config["WEB_DIR"].is_dir():
        links["app"] = "/app/"
    return jsonify({"name": service.model.card.get("name"), "description": service.model.card.get("description"),
                    "model_version": service.model.version, "links": links})


def init_app(app):
    app.register_blueprint(bp)
    # La ruta de salud sale de workshop.env (HEALTH_PATH), por eso no se declara con un decorador.
    app.add_url_rule(app.config["HEALTH_PATH"], "health", health, methods=["GET"])
