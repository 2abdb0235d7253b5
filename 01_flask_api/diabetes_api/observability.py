"""Una línea de log por petición (clave=valor) y el identificador de petición X-Request-ID."""

import logging
import re
import sys
import time
from uuid import uuid4

from flask import current_app, g, request

log = logging.getLogger("diabetes_api.access")
# Un id que manda el cliente se reutiliza solo si es corto y sin caracteres raros (no ensucia el log).
SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PLAIN_PATH = re.compile(r"[\x21-\x7e]{1,200}")


def new_request_id():
    """32 cifras hexadecimales al azar: uuid4().hex."""
    return uuid4().hex


def start_request():
    g.started = time.perf_counter()
    incoming = request.environ.get("HTTP_X_REQUEST_ID")
    g.request_id = incoming if incoming and SAFE_ID.match(incoming) else new_request_id()


def finish_request(response):
    predictions = g.get("predictions")  # la versión que respondió (con una candidata, puede ser ella)
    version = predictions[2] if predictions else current_app.extensions["diabetes_api"].model.version
    response.headers["X-Request-ID"] = g.get("request_id", "-")
    response.headers["X-Model-Version"] = version
    if not current_app.config["ACCESS_LOG"]:
        return response
    latency_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    cache = g.get("cache_hit")
    cache_text = "-" if cache is None else ("hit" if cache is True else "miss" if cache is False else cache)
    log.info("request_id=%s method=%s path=%s status=%d latency_ms=%.2f cache=%s model_version=%s",
             g.get("request_id", "-"), request.method, _quote(request.path), response.status_code,
             latency_ms, cache_text, version)
    return response


def _quote(text):
    """Rutas con espacios o comillas se escriben entre comillas para que el log siga siendo clave=valor."""
    return text if PLAIN_PATH.fullmatch(text) and '"' not in text else repr(text[:200])


def configure_logging(level):
    """Los logs de la API a stderr (gunicorn y Docker los recogen de ahí)."""
    root = logging.getLogger("diabetes_api")
    root.setLevel(level)
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.propagate = False


def init_app(app):
    configure_logging(app.config["LOG_LEVEL"])
    app.before_request(start_request)
    app.after_request(finish_request)
