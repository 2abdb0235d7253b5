"""Rutas de información: salud, ficha del modelo, métricas, un índice en la raíz y la app web.

La app web móvil se sirve en /app/ desde el mismo origen que la API (el navegador no necesita CORS
para llamarla) cuando WEB_DIR nombra su carpeta: la API no sabe dónde vive la app.
"""

from pathlib import Path

from flask import Blueprint, current_app, jsonify, send_from_directory

bp = Blueprint("info", __name__)
web = Blueprint("web", __name__)


def has_web_app(config):
    """True si WEB_DIR nombra una carpeta que existe: entonces se sirve /app/."""
    return config.get("WEB_DIR") is not None and Path(config["WEB_DIR"]).is_dir()


def _service():
    return current_app.extensions["diabetes_api"]


def health():
    """200 con la versión que se sirve (si no hubiera modelo, la app ni siquiera arranca)."""
    model = _service().model
    return jsonify({"status": "ok", "model_version": model.version, "runtime": model.runtime})


@bp.get("/v1/model")
def model_card():
    model = _service().model
    return jsonify({**model.card, "cache": model.cache.stats()})


@bp.get("/metrics")
def metrics():
    """Contadores de ESTE proceso (cada worker de gunicorn tiene los suyos)."""
    service = _service()
    with service.counts_lock:
        by_status = {str(status): count for status, count in sorted(service.counts.items())}
    return jsonify({"model_version": service.model.version, "cache": service.model.cache.stats(),
                    "requests": {"total": sum(by_status.values()), "by_status": by_status}})


@bp.get("/")
def index():
    model = _service().model
    links = {"health": current_app.config["HEALTH_PATH"], "model": "/v1/model", "predict": "/v1/predict",
             "metrics": "/metrics", "openapi": "/openapi.json"}
    if has_web_app(current_app.config):
        links["app"] = "/app/"
    return jsonify({"name": model.card.get("name"), "description": model.card.get("description"),
                    "model_version": model.version, "links": links})


@web.get("/app/")
def app_index():
    return send_from_directory(current_app.config["WEB_DIR"], "index.html")


@web.get("/app/<path:filename>")
def app_file(filename):
    # send_from_directory rechaza rutas que salgan de la carpeta (../) con un 404.
    return send_from_directory(current_app.config["WEB_DIR"], filename)


def init_app(app):
    app.register_blueprint(bp)
    # La ruta de salud sale de workshop.env (HEALTH_PATH), por eso no se declara con un decorador.
    app.add_url_rule(app.config["HEALTH_PATH"], "health", health, methods=["GET"])
    if has_web_app(app.config):
        app.register_blueprint(web)
