"""Límites que responden en vez de encolar: peticiones por minuto, peticiones en curso y el cuerpo a tiempo.

- RATE_LIMIT (p. ej. `600/minute`; vacío = sin límite, lo normal en local): peticiones por (clave,
  dirección del cliente), con flask-limiter. Pasado el límite, 429 en español con `Retry-After`.
  La dirección es la del socket o, tras PROXY_HOPS proxies de confianza, la de X-Forwarded-For
  (security.py). La cuenta vive en la memoria de cada worker (con 2 workers, cada uno deja pasar
  su parte: el límite efectivo es hasta el doble) salvo con RATE_LIMIT_STORAGE=redis://…, que la
  comparte entre workers y nodos.
- MAX_IN_FLIGHT (64 por worker): peticiones dentro de la API a la vez (también las que aún
  reciben su cuerpo). Pasado el número, 503 con `Retry-After` al momento, sin esperar turno.
- MAX_LAG_MS (0 = apagado en local; 500 en el despliegue de Lightsail): con gevent, cuánto puede
  tardar el bucle del worker en atender lo que ya está listo. Un retraso mayor significa una cola de
  peticiones esperando CPU: las nuevas reciben 503 al momento en vez de alargar la cola. En un portátil
  ocupado con otras cosas (o en CI) el retraso también sube sin que haya cola: por eso, en local, no.
- BODY_TIMEOUT (10 s): tiempo máximo para recibir el cuerpo; pasado, 408 (un cliente lento no
  retiene su sitio para siempre).
"""

import hashlib
import os
import time
from contextlib import contextmanager

from flask import current_app, g, request

from workshop.settings import env_number
from workshop.spanish import number

from .errors import ApiError
from .security import bearer_token

# Rutas que nunca cuentan para el límite: la salud (Docker, el balanceador), el contrato y la app.
EXEMPT = {"health", "openapi.openapi", "info.index", "info.public_model"}
RETRY_AFTER_SECONDS = 1
LAG_SAMPLE_SECONDS = 0.05


def load_limit_settings():
    return {
        "RATE_LIMIT": os.environ.get("RATE_LIMIT", "").strip(),
        "RATE_LIMIT_STORAGE": os.environ.get("RATE_LIMIT_STORAGE", "").strip() or "memory://",
        "MAX_IN_FLIGHT": env_number("MAX_IN_FLIGHT", 64, minimum=1),
        "MAX_LAG_MS": env_number("MAX_LAG_MS", 0, minimum=0),
        "BODY_TIMEOUT": env_number("BODY_TIMEOUT", 10.0, kind=float, minimum=0.1),
    }


def rate_key():
    """(clave, dirección): la clave va resumida (sha256), nunca tal cual en el almacén."""
    token = bearer_token()
    owner = hashlib.sha256(token.encode()).hexdigest()[:16] if token else "sin-clave"
    return f"{owner}|{request.remote_addr}"


class LoadShedder:
    """Cuenta las peticiones en curso de este proceso y mide el retraso del bucle de gevent."""

    def __init__(self, max_in_flight, max_lag_ms):
        self.max_in_flight, self.max_lag = max_in_flight, max_lag_ms / 1000
        self.in_flight = 0
        self.lag = 0.0
        self._monitor = None

    def before(self):
        if self.max_lag and self._monitor is None:
            self._start_monitor()
        if self.in_flight >= self.max_in_flight or (self.max_lag and self.lag > self.max_lag):
            raise ApiError(503, "overloaded", "La API está ocupada ahora mismo: inténtalo de nuevo en un segundo.",
                           headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        self.in_flight += 1
        g.in_flight = True

    def after(self, _error=None):
        if g.pop("in_flight", False):
            self.in_flight -= 1

    def _start_monitor(self):
        """Solo con gevent (el worker por defecto): una corrutina que duerme 50 ms y mide cuánto tarda de más."""
        try:
            from gevent import monkey, sleep, spawn
        except ImportError:
            self._monitor = False
            return
        if not monkey.is_module_patched("socket"):
            self._monitor = False
            return

        def watch():
            while True:
                started = time.monotonic()
                sleep(LAG_SAMPLE_SECONDS)
                self.lag = max(0.0, time.monotonic() - started - LAG_SAMPLE_SECONDS)

        self._monitor = spawn(watch)


@contextmanager
def body_deadline():
    """Recibir el cuerpo con plazo: con gevent, un Timeout; pasado, 408 en español."""
    seconds = current_app.config["BODY_TIMEOUT"]
    try:
        from gevent import Timeout, monkey
    except ImportError:
        yield
        return
    if not monkey.is_module_patched("socket"):
        yield
        return
    try:
        with Timeout(seconds):
            yield
    except Timeout:
        raise ApiError(408, "request_timeout", "El cuerpo de la petición no llegó completo a tiempo "
                       f"(BODY_TIMEOUT = {number(seconds, 1)} s).", headers={"Connection": "close"}) from None


def init_app(app):
    app.config.update({key: value for key, value in load_limit_settings().items() if key not in app.config})
    shedder = LoadShedder(app.config["MAX_IN_FLIGHT"], app.config["MAX_LAG_MS"])
    app.extensions["load_shedder"] = shedder
    app.before_request(shedder.before)
    app.teardown_request(shedder.after)
    if app.config["RATE_LIMIT"]:  # sin límite no se instala nada: ningún coste por petición
        from flask_limiter import Limiter

        limiter = Limiter(rate_key, app=app, default_limits=[app.config["RATE_LIMIT"]],
                          storage_uri=app.config["RATE_LIMIT_STORAGE"], headers_enabled=True,
                          swallow_errors=True, key_prefix="diabetes-api")
        limiter.request_filter(lambda: request.endpoint in EXEMPT or request.blueprint == "web")
        app.extensions["limiter"] = limiter
