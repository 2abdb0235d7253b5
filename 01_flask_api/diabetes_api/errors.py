"""Un solo formato de error para toda la API, siempre JSON (nunca HTML ni trazas):

    {"error": {"code": "validation_error", "message": "<en español>", "details": [{"field": …, "message": …}]}}
"""

import logging

from flask import g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("diabetes_api")

# Código estable y mensaje en español para cada error HTTP que puede dar Flask (o una extensión) por sí mismo.
HTTP_ERRORS = {
    400: ("invalid_body", "La petición no es válida."),
    404: ("not_found", "Esta ruta no existe. Consulta /openapi.json para ver las rutas de la API."),
    405: ("method_not_allowed", "Este método HTTP no está permitido en esta ruta."),
    413: ("payload_too_large", "El cuerpo de la petición es demasiado grande."),
    415: ("invalid_body", "Tipo de contenido no admitido."),
    429: ("too_many_requests", "Demasiadas peticiones: espera unos segundos (cabecera Retry-After) y vuelve a "
                               "intentarlo."),
}
MAX_DETAILS = 20  # una respuesta de error no crece con el cuerpo: los 20 primeros y cuántos hay en total


class ApiError(HTTPException):
    """Un error que la API devuelve tal cual: estado HTTP, código, mensaje, detalles por campo y cabeceras.

    Es una HTTPException de werkzeug: el mismo manejador JSON sirve para estos errores y para los de Flask.
    """

    def __init__(self, status, error_code, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.error_code, self.message = status, error_code, message
        self.details, self.headers = list(details or []), dict(headers or {})


def safe_text(value, limit=100):
    """Un nombre que manda el cliente, apto para devolverlo: corto y codificable en UTF-8
    (JSON admite «surrogates» sueltos como \\ud800, que no se pueden escribir en UTF-8)."""
    text = str(value)
    text = text if len(text) <= limit else text[:limit] + "…"
    return text.encode("utf-8", "replace").decode("utf-8")


def error_response(status, code, message, details=(), headers=None):
    details = list(details)
    body = {"code": code, "message": message, "details": details[:MAX_DETAILS]}
    if len(details) > MAX_DETAILS:
        body["total_details"] = len(details)
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_http_exception(error):
    """Todos los errores HTTP (los de la API y los de Flask o sus extensiones), en el mismo JSON."""
    if isinstance(error, ApiError):
        return error_response(error.code, error.error_code, error.message, error.details, error.headers)
    if error.code >= 500:
        # Flask llega aquí si falla incluso un manejador de errores; ya registró la traza.
        log.error("error interno request_id=%s %s", g.get("request_id", "-"), type(error).__name__)
        return internal_error_response()
    code, message = HTTP_ERRORS.get(error.code, (_snake(error.name), error.description))
    headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else {}
    if error.code == 429:  # el límite de peticiones (flask-limiter): cuándo volver a intentarlo
        headers["Retry-After"] = str(getattr(error, "retry_after", None) or 1)
    return error_response(error.code, code, message, headers=headers)


def handle_unexpected(error):
    """Cualquier otra excepción: 500 sin traza para el cliente; la traza queda en el log con el id."""
    log.exception("error interno request_id=%s", g.get("request_id", "-"))
    return internal_error_response()


def internal_error_response():
    return error_response(500, "internal_error", "Error interno del servidor. Indica este identificador "
                          f"al soporte: {g.get('request_id', '-')}.")


def init_app(app):
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)


def _snake(name):
    return "_".join(name.lower().split())
