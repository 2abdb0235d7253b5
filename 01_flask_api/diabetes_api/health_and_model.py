"""Rutas de información: salud, la vista pública del modelo, su ficha completa, el grafo ONNX y un índice
en la raíz.

- `GET /v1/model` (abierta): lo que un cliente necesita para dibujar el formulario y comprobar el modelo
  que descarga: nombre, versión, variables con rangos y etiquetas, clases, umbral, métricas principales
  y el sha256 y tamaño del ONNX. Nada de versiones de librerías, datos de entrenamiento ni caché.
- `GET /v1/model/card` (con la clave, si hay): la ficha completa que escribió el entrenamiento.
- `GET /v1/model.onnx` (con la clave, si hay): los bytes del grafo publicado, para predecir en el
  dispositivo (la app web con onnxruntime-web). `ETag` = su sha256: una versión nueva, otra descarga.

La app web (/app/, cuando WEB_DIR nombra su carpeta) la sirve webapp.py.
"""

import hashlib
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request

from . import metrics
from .errors import ApiError
from .protection import not_rate_limited, requires_key
from .webapp import has_web_app  # el índice enlaza /app/ (y openapi.py lo importa de aquí)

bp = Blueprint("info", __name__)

HEADLINE_METRICS = ("cv_roc_auc_mean",)
HEADLINE_TEST_METRICS = ("roc_auc", "accuracy", "recall_positive")


def _service():
    return current_app.extensions["diabetes_api"]


@not_rate_limited
def health():
    """200 con la versión que se sirve (si no hubiera modelo, la app ni siquiera arranca).

    Con una versión candidata (versions_split.py), «candidate» dice cuál y con qué peso, o por qué no se sirve.
    Si este worker dejó de escribir métricas (carpeta llena o sin permiso), añade «metrics»:
    «degradadas»: sigue siendo 200 (predice bien y el contenedor sigue sano), pero lo dice.
    """
    model = _service().model
    body = {"status": "ok", "model_version": model.version, "runtime": model.runtime}
    if _service().candidate is not None:  # {"version", "weight"} o, si se rechazó, también "error"
        body["candidate"] = _service().candidate
    if metrics.degraded():
        body["metrics"] = metrics.DEGRADED
    return jsonify(body)


def public_view(card, onnx):
    """La vista pública de la ficha: lo que necesita un cliente, nada más."""
    metrics = card.get("metrics", {})
    headline = {key: metrics[key] for key in HEADLINE_METRICS if key in metrics}
    headline.update({key: metrics.get("test", {})[key] for key in HEADLINE_TEST_METRICS
                     if key in metrics.get("test", {})})
    view = {key: card[key] for key in ("name", "version", "description", "features", "classes", "threshold")
            if key in card}
    view["metrics"] = headline
    if onnx is not None:
        view["onnx"] = {"url": "/v1/model.onnx", "sha256": hashlib.sha256(onnx).hexdigest(), "size": len(onnx)}
    return view


@bp.get("/v1/model")
@not_rate_limited
def public_model():
    return jsonify(_service().public_view)


@bp.get("/v1/model/card")
@requires_key
def model_card():
    return jsonify(_service().model.card)


@bp.get("/v1/model.onnx")
@requires_key
def model_onnx():
    service = _service()
    if service.onnx is None:
        raise ApiError(404, "not_found", "Esta versión del modelo no tiene grafo ONNX que descargar.")
    etag = service.public_view["onnx"]["sha256"]
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    return Response(service.onnx, mimetype="application/octet-stream",
                    headers={"ETag": f'"{etag}"', "Cache-Control": "private, max-age=0, must-revalidate"})


@bp.get("/")
@not_rate_limited
def index():
    model = _service().model
    links = {"health": current_app.config["HEALTH_PATH"], "model": "/v1/model", "predict": "/v1/predict",
             "metrics": "/metrics", "openapi": "/openapi.json"}
    if has_web_app(current_app.config):
        links["app"] = "/app/"
    return jsonify({"name": model.card.get("name"), "description": model.card.get("description"),
                    "model_version": model.version, "links": links})


def onnx_bytes(model):
    """Los bytes del ONNX publicado: los comprobados si se sirve ONNX; si no, los del disco con su sha256."""
    verified = model.verified
    if verified.runtime == "onnx":
        return verified.payload
    artifact = verified.card.get("artifacts", {}).get("onnx", {})
    try:
        payload = (verified.folder / Path(str(artifact.get("file", "model.onnx"))).name).read_bytes()
    except OSError:
        return None
    return payload if hashlib.sha256(payload).hexdigest() == artifact.get("sha256") else None


@bp.record_once
def register_health(state):
    """La ruta de salud sale de workshop.env (HEALTH_PATH), así que no puede ir en un decorador: se
    añade al registrar este blueprint. Su nombre es «health», sin prefijo."""
    state.app.add_url_rule(state.app.config["HEALTH_PATH"], "health", health, methods=["GET"])


def init_app(app):
    """Lo que las rutas de información preparan una vez (las rutas las registra create_app)."""
    service = app.extensions["diabetes_api"]
    service.onnx = onnx_bytes(service.model)
    service.public_view = public_view(service.model.card, service.onnx)
