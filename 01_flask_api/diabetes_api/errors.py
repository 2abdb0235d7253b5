"""Un solo formato de error para toda la API, siempre JSON (nunca HTML ni trazas):

    {"error": {"code": "validation_error", "message": "<en español>", "details": [{"field": …, "message": …}]}}
"""

import logging
from urllib.parse import urlsplit

from flask import g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

log = logging.getLogger("diabetes_api")

# Código estable y mensaje en español para CADA error HTTP que puede dar Flask (werkzeug) por sí mismo
# o una extensión; una prueba los recorre todos. Los 5xx son siempre «internal_error».
HTTP_ERRORS = {
    400: ("invalid_body", "La petición no es válida."),
    401: ("unauthorized", "Falta la autorización o no es válida."),
    403: ("forbidden", "No tienes permiso para acceder a este recurso."),
    404: ("not_found", "Esta ruta no existe. Consulta /openapi.json para ver las rutas de la API."),
    405: ("method_not_allowed", "Este método HTTP no está permitido en esta ruta."),
    406: ("not_acceptable", "La API solo responde JSON: revisa la cabecera Accept."),
    408: ("request_timeout", "La petición tardó demasiado en llegar: vuelve a enviarla."),
    409: ("conflict", "La petición choca con el estado actual del recurso."),
    410: ("gone", "Este recurso ya no existe."),
    411: ("length_required", "Falta la cabecera Content-Length."),
    412: ("precondition_failed", "No se cumple la condición de la petición (If-Match, If-Unmodified-Since…)."),
    413: ("payload_too_large", "El cuerpo de la petición es demasiado grande."),
    414: ("uri_too_long", "La URL es demasiado larga."),
    415: ("invalid_body", "Tipo de contenido no admitido."),
    416: ("range_not_satisfiable", "El rango pedido (cabecera Range) no está dentro del recurso."),
    417: ("expectation_failed", "No se puede cumplir la cabecera Expect."),
    418: ("im_a_teapot", "Soy una tetera: no preparo café."),
    421: ("misdirected_request", "Esta petición no iba dirigida a este servidor."),
    422: ("unprocessable_entity", "La petición está bien formada, pero no se puede procesar."),
    423: ("locked", "El recurso está bloqueado."),
    424: ("failed_dependency", "Falló una petición de la que dependía esta."),
    428: ("precondition_required", "Esta petición debe ser condicional (If-Match o If-Unmodified-Since)."),
    429: ("too_many_requests", "Demasiadas peticiones: espera unos segundos (cabecera Retry-After) y vuelve a "
                               "intentarlo."),
    431: ("request_header_fields_too_large", "Las cabeceras de la petición son demasiado grandes."),
    451: ("unavailable_for_legal_reasons", "Este recurso no está disponible por motivos legales."),
}
OTHER_ERROR = ("http_error", "La petición no se puede atender (estado HTTP {status}).")
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
    code, message = HTTP_ERRORS.get(error.code, OTHER_ERROR)
    message = message.format(status=error.code)
    headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else {}
    if error.code == 429:  # el límite de peticiones (flask-limiter): cuándo volver a intentarlo
        headers["Retry-After"] = str(getattr(error, "retry_after", None) or 1)
    return error_response(error.code, code, message, headers=headers)


def handle_unexpected(error):
    """Cualquier otra excepción: 500 sin traza para el cliente; la traza queda en el log con el id.

    Excepción: un cuerpo mal troceado (Transfer-Encoding: chunked roto) lo detecta gunicorn al leerlo y
    lanza una de sus excepciones (gunicorn.http.errors): es culpa del cliente, 400.
    """
    if type(error).__module__.startswith("gunicorn.http"):
        log.warning("cuerpo mal formado request_id=%s %s", g.get("request_id", "-"), type(error).__name__)
        return error_response(400, "invalid_body", "El cuerpo de la petición está mal formado (Transfer-Encoding).")
    log.exception("error interno request_id=%s", g.get("request_id", "-"))
    return internal_error_response()


def internal_error_response():
    return error_response(500, "internal_error", "Error interno del servidor. Indica este identificador "
                          f"al soporte: {g.get('request_id', '-')}.")


def relative_redirect():
    """Las redirecciones de werkzeug (`/app` → `/app/`, `/v1//model` → `/v1/model`) no pasan por los
    manejadores de errores, llevan HTML y una Location absoluta con la cabecera Host que mandó el cliente
    (cualquiera). Aquí salen con la ruta sola (relativa al mismo servidor) y el JSON de la API."""
    redirect = request.routing_exception
    if not isinstance(redirect, RequestRedirect):
        return None
    parts = urlsplit(redirect.new_url)
    location = "/" + parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")  # nunca «//otro.host»
    return error_response(redirect.code, "moved_permanently", f"Esta ruta es {location}: repite la petición allí.",
                          headers={"Location": location})


def init_app(app):
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
    app.before_request(relative_redirect)
