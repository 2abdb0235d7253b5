"""La API en una URL pública: clave (API_KEY), cabeceras de seguridad, CORS y proxies de confianza.

- API_KEY (una o varias claves separadas por comas): con ella, las rutas de PROTECTED piden
  `Authorization: Bearer <clave>`; sin ella o con otra, 401 en español con `WWW-Authenticate`.
  Se compara en tiempo constante (hmac.compare_digest) con todas las claves, y nunca se escribe
  en el log. Varias claves a la vez permiten rotarlas sin cortar a nadie. Vacía: sin clave (local).
- PROXY_HOPS: cuántos proxies de confianza hay delante (0 en local, 1 tras el balanceador de
  Lightsail o nginx). Solo entonces se creen X-Forwarded-For (la dirección del cliente, que usa el
  límite de peticiones) y X-Forwarded-Proto (HTTPS → HSTS).
- CORS: en local, la app abierta como archivo (origen `null`) y las páginas de localhost; con
  CORS_ORIGINS, esos orígenes y ninguno más (vacío: solo el mismo origen, sin CORS).
- Cabeceras de seguridad en cada respuesta; en /app/, además, una política de contenido (CSP).
"""

import hmac
import os

from flask import current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from workshop.settings import env_number

from .errors import ApiError

# Las rutas (endpoints de Flask) que piden la clave. La salud, la vista pública del modelo,
# /openapi.json y /app/ quedan abiertas: la app las necesita para dibujar el formulario.
PROTECTED = {"predict.predict", "info.model_card", "info.model_onnx", "metrics"}
# Orígenes por defecto en local: la app abierta como archivo y cualquier puerto de localhost.
LOCAL_ORIGINS = ["null", r"http://localhost(:\d+)?", r"http://127\.0\.0\.1(:\d+)?"]
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
HSTS = "max-age=31536000"


def load_security_settings():
    """Los ajustes de esta parte (se añaden a los de settings.load_settings)."""
    keys = [key.strip() for key in os.environ.get("API_KEY", "").split(",") if key.strip()]
    origins = os.environ.get("CORS_ORIGINS")
    return {
        "API_KEYS": keys,
        "PROXY_HOPS": env_number("PROXY_HOPS", 0, minimum=0, maximum=5),
        # Sin la variable: los orígenes locales. Con ella (aunque esté vacía): solo los que nombra.
        "CORS_ORIGINS": LOCAL_ORIGINS if origins is None else [o.strip() for o in origins.split(",") if o.strip()],
    }


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
    if request.endpoint in PROTECTED and not key_matches(bearer_token(), keys):
        raise ApiError(401, "unauthorized", "Falta la clave de la API o no es válida: envíala en la cabecera "
                       "«Authorization: Bearer <clave>».",
                       headers={"WWW-Authenticate": 'Bearer realm="diabetes-api"'})


def add_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.blueprint == "web":
        response.headers["Content-Security-Policy"] = APP_CSP
    if request.is_secure:  # HTTPS directo, o X-Forwarded-Proto de un proxy de confianza (PROXY_HOPS)
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def init_app(app):
    app.config.update({key: value for key, value in load_security_settings().items() if key not in app.config})
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    if app.config["API_KEYS"]:  # sin clave no hay nada que comprobar: ningún coste por petición
        app.before_request(require_key)
    app.after_request(add_security_headers)
    if app.config["CORS_ORIGINS"]:
        from flask_cors import CORS

        # always_send=False: sin cabecera Origin (curl, la propia app) no hay nada que decir ni que calcular.
        CORS(app, origins=app.config["CORS_ORIGINS"], allow_headers=["Content-Type", "Authorization"],
             expose_headers=["X-Request-ID", "X-Model-Version"], always_send=False)
