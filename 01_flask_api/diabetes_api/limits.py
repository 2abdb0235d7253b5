"""Límites que responden en vez de encolar: peticiones por minuto, peticiones en curso y el cuerpo a tiempo.

- RATE_LIMIT (p. ej. `600/minute`; vacío = sin límite, lo normal en local): peticiones por cliente, con
  flask-limiter; pasado el límite, 429 en español con `Retry-After`. El cliente es (clave, dirección)
  si la API tiene clave y la que manda es válida; sin clave (`--public`) o con otra, SOLO la dirección:
  un token inventado nunca abre una cuenta nueva. La dirección es la del socket o, tras PROXY_HOPS
  proxies de confianza, la de X-Forwarded-For (security.py).
- Coste: cada petición cuenta max(filas, ⌈bytes / 16 KiB⌉): un lote de 1.000 filas cuenta 1.000.
- Dónde se cuenta (RATE_LIMIT_STORAGE): con `redis://…` el límite es exacto entre workers y nodos.
  Con `memory://` (por defecto) cada worker cuenta en su memoria y aplica su parte, límite ÷ workers
  (RATE_LIMIT_WORKERS, que pone gunicorn.conf.py): entre todos no pasan de RATE_LIMIT por nodo, pero un
  cliente con una sola conexión (un worker) recibe solo su parte. Con N nodos, hasta N × RATE_LIMIT.
  La memoria guarda como mucho RATE_LIMIT_MAX_KEYS clientes (10.000); con uno nuevo sale el más antiguo.
- MAX_IN_FLIGHT (64 por worker): peticiones dentro de la API a la vez, contadas cuando su cuerpo ya
  llegó entero (un cuerpo que llega despacio no ocupa el sitio de una petición completa). Pasado el
  número, 503 con `Retry-After`. El descarte por tiempo de espera (MAX_LAG_MS) va antes de Flask, en
  el worker de gunicorn (02_docker/serving/shedding.py): una predicción no cede la CPU y bajo
  sobrecarga la cola está fuera de la API.
- BODY_TIMEOUT (10 s): tiempo máximo para recibir el cuerpo; pasado, 408 (un cliente lento no
  retiene su sitio para siempre).
"""

import hashlib
import json
import math
import re
from contextlib import contextmanager

from flask import current_app, g, request
from limits.storage import MemoryStorage

from workshop.spanish import number

from .errors import ApiError
from .protection import marked
from .security import bearer_token, key_matches

RETRY_AFTER_SECONDS = 1
COST_BYTES = 16 * 1024  # un cuerpo grande cuenta una petición por cada 16 KiB
LIMIT_TEXT = re.compile(r"\s*(\d+)\s*(/|per\s)\s*(.+)")


def rate_key():
    """(clave, dirección) con una clave válida (resumida con sha256, nunca tal cual); si no, solo la dirección."""
    token = bearer_token()
    if token and current_app.config["API_KEYS"] and key_matches(token, current_app.config["API_KEYS"]):
        return f"{hashlib.sha256(token.encode()).hexdigest()[:16]}|{request.remote_addr}"
    return f"sin-clave|{request.remote_addr}"


def request_cost():
    """max(filas, ⌈bytes / 16 KiB⌉), al menos 1: lo que cuesta de verdad la petición."""
    data = request.get_data(cache=True) if g.get("body_read") else b""
    rows = 1
    if b'"instances"' in data:
        try:
            instances = json.loads(data).get("instances")
            rows = len(instances) if isinstance(instances, list) else 1
        except (ValueError, AttributeError, RecursionError):
            rows = 1
    return max(1, rows, math.ceil(len(data) / COST_BYTES))


def worker_share(limit, storage, workers):
    """Con memory://, la parte de cada worker: `600/minute` con 2 workers → `300/minute`."""
    match = LIMIT_TEXT.fullmatch(limit)
    if not storage.startswith("memory://") or workers <= 1 or not match:
        return limit
    return f"{max(1, int(match[1]) // workers)}/{match[3].strip()}"


class BoundedMemoryStorage(MemoryStorage):
    """La memoria de flask-limiter con un máximo de claves: con una nueva, sale la más antigua."""

    STORAGE_SCHEME = ["bounded-memory"]

    def __init__(self, uri=None, wrap_exceptions=False, max_keys=10_000, **options):
        self.max_keys = int(max_keys)
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def incr(self, key, expiry, amount=1):
        while key not in self.storage and len(self.storage) >= self.max_keys:
            oldest = next(iter(self.storage))
            for table in (self.storage, self.expirations, self.events, self.locks):
                table.pop(oldest, None)
        return super().incr(key, expiry, amount)


class LoadShedder:
    """Cuenta las peticiones en curso de este proceso, desde que su cuerpo llegó entero."""

    def __init__(self, max_in_flight):
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    def before(self):
        if request.content_length or request.headers.get("Transfer-Encoding"):
            with body_deadline():  # el cuerpo, antes de ocupar sitio (408 si no llega; 413 si es enorme)
                request.get_data(cache=True)
            g.body_read = True
        if self.in_flight >= self.max_in_flight:
            raise ApiError(503, "overloaded", "La API está ocupada ahora mismo: inténtalo de nuevo en un segundo.",
                           headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        self.in_flight += 1
        g.in_flight = True

    def after(self, _error=None):
        if g.pop("in_flight", False):
            self.in_flight -= 1


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
    shedder = LoadShedder(app.config["MAX_IN_FLIGHT"])
    app.extensions["load_shedder"] = shedder
    app.before_request(shedder.before)
    app.teardown_request(shedder.after)
    if app.config["RATE_LIMIT"]:  # sin límite no se instala nada: ningún coste por petición
        from flask_limiter import Limiter

        storage = app.config["RATE_LIMIT_STORAGE"]
        limit = worker_share(app.config["RATE_LIMIT"], storage, app.config["RATE_LIMIT_WORKERS"])
        bounded = storage.startswith("memory://")
        limiter = Limiter(rate_key, app=app, default_limits=[limit], default_limits_cost=request_cost,
                          storage_uri="bounded-memory://" if bounded else storage,
                          storage_options={"max_keys": app.config["RATE_LIMIT_MAX_KEYS"]} if bounded else {},
                          headers_enabled=True, swallow_errors=True, key_prefix="diabetes-api")
        # Las rutas con @not_rate_limited (la salud, el contrato, el índice, la vista pública) y la app no cuentan.
        limiter.request_filter(lambda: marked(request.endpoint, "not_rate_limited") or request.blueprint == "web")
        app.extensions["limiter"] = limiter
