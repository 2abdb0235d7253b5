"""La API en una URL pública: clave (API_KEY), cabeceras de seguridad, CORS y proxies de confianza.

- API_KEY (una o varias claves separadas por comas): con ella, las rutas marcadas con
  `@requires_key` (protection.py: /v1/predict, /v1/model/card, /v1/model.onnx, /metrics) piden
  `Authorization: Bearer <clave>`; sin ella o con otra, 401 en español con `WWW-Authenticate`.
  Se compara en tiempo constante (hmac.compare_digest) con todas las claves, y nunca se escribe
  en el log. Varias claves a la vez permiten rotarlas sin cortar a nadie. Vacía: sin clave (local).
- PROXY_HOPS: cuántos proxies de confianza hay delante (0 en local, 1 tras el balanceador de
  Lightsail o nginx). Solo entonces se creen X-Forwarded-For (la dirección del cliente, que usa el
  límite de peticiones) y X-Forwarded-Proto (HTTPS → HSTS).
- CORS: por defecto, las páginas de http://localhost y http://127.0.0.1 (cualquier puerto); con
  CORS_ORIGINS, esos orígenes y ninguno más (vacío: solo el mismo origen, sin CORS). Cada origen se
  compara entero (`http://localhost.otro.example` no es localhost). CORS_ALLOW_FILE=1 (solo en
  local) admite además la app abierta como archivo (origen `null`, que también tiene cualquier
  iframe aislado de cualquier web). La consulta previa del navegador (OPTIONS) de un origen admitido
  no pide la clave: no la lleva nunca; la petición de verdad, sí.
- Cabeceras de seguridad en cada respuesta; en /app/ y en /docs, además, una política de contenido (CSP).
"""

import hmac
import re

from flask import current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import ApiError
from .protection import marked

# Orígenes por defecto: cualquier puerto de localhost y de 127.0.0.1, comparados enteros (\Z).
LOCAL_ORIGINS = [re.compile(r"http://localhost(:[0-9]{1,5})?\Z"), re.compile(r"http://127\.0\.0\.1(:[0-9]{1,5})?\Z")]
FILE_ORIGIN = "null"  # el de una página abierta como archivo (file://) o un iframe aislado
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# La app: su código y el modelo en el navegador (WASM) solo de este origen; la URL de la API puede
# ser la de Lightsail (https:) o una local.
APP_CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
           "connect-src 'self' https: http://127.0.0.1:* http://localhost:*; img-src 'self' data:; "
           "frame-ancestors 'none'")
# /docs (Swagger UI): código, estilos y contrato solo de este origen; sin eval ni nada en línea.
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
CSP_BY_BLUEPRINT = {"web": APP_CSP, "docs": DOCS_CSP}
HSTS = "max-age=31536000"


def origin_patterns(config):
    """Los orígenes admitidos como expresiones que se comparan ENTERAS (flask-cors usa `match`: un
    prefijo bastaría). Los de CORS_ORIGINS son literales: ni comodines ni expresiones."""
    named = config["CORS_ORIGINS"]
    patterns = list(LOCAL_ORIGINS) if named is None else [re.compile(re.escape(o) + r"\Z", re.I) for o in named]
    if config["CORS_ALLOW_FILE"]:
        patterns.append(re.compile(FILE_ORIGIN + r"\Z"))
    return patterns


def is_preflight(patterns):
    """¿Es la consulta previa (OPTIONS) de un navegador desde un origen admitido?"""
    origin = request.headers.get("Origin", "")
    return (request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
            and any(pattern.match(origin) for pattern in patterns))


def bearer_token():
    """La clave que manda el cliente en `Authorization: Bearer …`, o «»."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def key_matches(token, keys):
    """True si `token` es una de las claves; compara con todas, en tiempo constante."""
    given = token.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(given, key.encode())
    return found


def require_key():
    """Antes de cada petición a una ruta protegida: 401 si falta la clave o no es válida."""
    keys = current_app.config["API_KEYS"]
    if not marked(request.endpoint, "requires_key") or is_preflight(current_app.extensions["cors_origins"]):
        return  # el navegador nunca manda la clave en la consulta previa: sin esto, CORS con clave no funciona
    if not key_matches(bearer_token(), keys):
        raise ApiError(401, "unauthorized", "Falta la clave de la API o no es válida: envíala en la cabecera "
                       "«Authorization: Bearer <clave>».",
                       headers={"WWW-Authenticate": 'Bearer realm="diabetes-api"'})


def add_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.blueprint in CSP_BY_BLUEPRINT:
        response.headers["Content-Security-Policy"] = CSP_BY_BLUEPRINT[request.blueprint]
    if request.is_secure:  # HTTPS directo, o X-Forwarded-Proto de un proxy de confianza (PROXY_HOPS)
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def init_app(app):
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    patterns = app.extensions["cors_origins"] = origin_patterns(app.config)
    if app.config["API_KEYS"]:  # sin clave no hay nada que comprobar: ningún coste por petición
        app.before_request(require_key)
    app.after_request(add_security_headers)
    if patterns:
        from flask_cors import CORS

        # always_send=False: sin cabecera Origin (curl, la propia app) no hay nada que decir ni que calcular.
        CORS(app, origins=patterns, allow_headers=["Content-Type", "Authorization"],
             expose_headers=["X-Request-ID", "X-Model-Version"], always_send=False)
