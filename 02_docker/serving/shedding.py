"""Descarte de carga por tiempo de espera, en el worker de gunicorn y antes de Flask.

Medido (02_docker/bench/README.md, «Dónde espera una petición»): bajo sobrecarga de CPU una petición
no espera DENTRO de la API sino antes: lista en su conexión hasta que el bucle de gevent llega a
ella (una vuelta del bucle atiende, una tras otra, todas las conexiones con algo que leer) y, si la
conexión es nueva, en la cola de `accept` del núcleo. La predicción no cede la CPU: un contador de
peticiones en curso nunca ve más de una.

Por eso aquí se mide la ESPERA de cada petición y, pasado el presupuesto MAX_LAG_MS, se contesta 503
con `Retry-After: 1` sin entrar en Flask. Con gevent, ese 503 sale 1 s después (lo que dice su propio
Retry-After), sin gastar CPU mientras: un cliente que reintenta al momento no llena el worker de 503.
Medido (02_docker/bench/README.md): sin esa espera, con 256 conexiones el worker gastaba casi todo en
descartar (~100 respuestas 2xx/s); con un 503 inmediato y `Connection: close`, cada reintento pasa por
la cola de `accept`, llega ya tarde y vuelve a descartarse (11 respuestas 2xx/s con 1.024 conexiones).

- gevent: la espera de una petición es la mayor de dos medidas. En Linux, TCP_INFO de su conexión
  (`tcpi_last_data_recv`: ms desde que llegó su último byte) cuenta TODO lo que lleva esperando: en la
  cola de `accept`, en su socket antes del sondeo y en la vuelta del bucle. En todos los sistemas, un
  vigilante «check» del bucle (API pública de gevent: `loop.check()`) anota cuándo volvió el sondeo de
  sockets: `ahora - sondeo` es lo que lleva en esta vuelta. Una vuelta sirve como mucho MAX_LAG_MS de
  predicciones y despacha el resto con 503: las vueltas son cortas y la espera total queda acotada.
- sync: un worker atiende una conexión cada vez y la cola es la de `accept`, compartida por todos.
  En Linux, TCP_INFO del socket que escucha da su longitud (`tcpi_unacked`); la espera estimada es
  longitud × tiempo medio de una petición ÷ workers. En otros sistemas no se estima (no descarta).

La salud (HEALTH_PATH) nunca se descarta: es barata y el balanceador no debe creer muerto un nodo ocupado.
Se instala desde el gancho público `post_worker_init` de gunicorn.conf.py (envuelve `worker.wsgi`).
Comprobado con gunicorn 27.0.1 y gevent 26.9.0.
"""

import json
import socket
import struct
import time

from diabetes_api.observability import SAFE_ID

from .gunicorn_settings import read

RETRY_AFTER_SECONDS = 1
BODY = json.dumps({"error": {"code": "overloaded", "message": "La API está ocupada ahora mismo: inténtalo de nuevo "
                             "en un segundo.", "details": []}}, ensure_ascii=False).encode()
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY))),
           ("Retry-After", str(RETRY_AFTER_SECONDS)), ("Cache-Control", "no-store")]
ACCEPT_BATCH = 100  # conexiones nuevas por vuelta del bucle (el valor por defecto de gevent)
TCP_INFO_UNACKED = struct.Struct("24xI")  # tcp_info: 8 campos u8; rto, ato, snd_mss, rcv_mss (u32); unacked
# tcp_info: 8 campos u8 y 11 u32 (rto … last_ack_sent); luego last_data_recv: ms desde el último dato recibido.
TCP_INFO_LAST_DATA_RECV = struct.Struct("52xI")


def arrived_ago(sock):
    """Linux: segundos desde que llegó el último dato de esta conexión (la petición entera ya está ahí: es lo
    que lleva esperando, también en la cola de `accept` o antes del sondeo). None si no se puede saber."""
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except (AttributeError, OSError):
        return None
    return TCP_INFO_LAST_DATA_RECV.unpack_from(raw)[0] / 1000 if len(raw) >= 56 else None


def budget_seconds():
    """MAX_LAG_MS (0 = apagado, lo normal en local): la espera máxima antes de descartar."""
    return read("MAX_LAG_MS") / 1000


class LoopClock:
    """gevent: cuándo volvió el último sondeo de sockets del bucle de este worker."""

    def __init__(self):
        import gevent

        self.polled = time.monotonic()
        self._watcher = gevent.get_hub().loop.check()
        self._watcher.start(self._tick)

    def _tick(self):
        self.polled = time.monotonic()

    def waited(self, environ):
        since_poll = time.monotonic() - self.polled
        arrived = arrived_ago(environ.get("gunicorn.socket"))
        return since_poll if arrived is None else max(since_poll, arrived)

    @staticmethod
    def hold():
        """El 503 sale tras RETRY_AFTER_SECONDS, sin gastar CPU (solo esta corrutina espera): un cliente que
        reintenta al momento (wrk, un bucle sin pausa) no convierte el worker en una fábrica de 503."""
        import gevent

        gevent.sleep(RETRY_AFTER_SECONDS)


class AcceptQueue:
    """sync (Linux): la espera estimada por la cola de `accept` del socket que escucha."""

    def __init__(self, sockets, workers):
        self.sockets = [listener.sock for listener in sockets]
        self.workers = max(1, workers)
        self.service = 0.001  # media móvil de lo que tarda una petición (s)

    def queued(self):
        total = 0
        for sock in self.sockets:
            try:
                raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
            except (AttributeError, OSError):
                return 0
            total += TCP_INFO_UNACKED.unpack_from(raw)[0]
        return total

    def waited(self, _environ):
        return self.queued() * self.service / self.workers

    @staticmethod
    def hold():
        """Con sync no se espera: el worker entero quedaría parado."""

    def served(self, seconds):
        self.service += (seconds - self.service) / 32


def shedding(app, gauge, budget, health_path):
    """Envuelve la aplicación WSGI: 503 con Retry-After si la espera medida pasa del presupuesto."""
    timed = getattr(gauge, "served", None)

    def application(environ, start_response):
        if environ.get("PATH_INFO") != health_path and gauge.waited(environ) > budget:
            gauge.hold()
            incoming = environ.get("HTTP_X_REQUEST_ID")  # como la API: el id del cliente, si es seguro
            start_response("503 Service Unavailable",
                           HEADERS + ([("X-Request-ID", incoming)] if incoming and SAFE_ID.match(incoming) else []))
            return [BODY]
        if timed is None:
            return app(environ, start_response)
        started = time.monotonic()
        try:
            return app(environ, start_response)
        finally:
            timed(time.monotonic() - started)

    return application


def accept_in_batches(batch=ACCEPT_BATCH):
    """gunicorn pone `max_accept = 1` al servidor de gevent con varios workers: UNA conexión nueva por vuelta
    del bucle. Con vueltas de decenas de ms, cientos de conexiones esperaban segundos en la cola de
    `accept`, donde no se ve su espera (medido: 193 en cola con 256 conexiones). Aquí, hasta `batch` por
    vuelta: llegan pronto al bucle y, si sobran, reciben 503 en vez de esperar."""
    from gunicorn.workers import ggevent

    class BatchAcceptServer(ggevent.StreamServer):
        max_accept = property(lambda self: batch, lambda self, _value: None)

    ggevent.StreamServer = BatchAcceptServer


def install(worker):
    """Desde post_worker_init: envuelve `worker.wsgi` según la clase de worker. Devuelve el medidor o None."""
    budget = budget_seconds()
    if not budget:
        return None
    kind = worker.cfg.worker_class_str
    if kind == "gevent":
        gauge = LoopClock()
        accept_in_batches()
    elif kind == "sync":
        gauge = AcceptQueue(worker.sockets, worker.cfg.workers)
    else:
        worker.log.warning("MAX_LAG_MS solo se aplica con workers gevent o sync (este: %s).", kind)
        return None
    worker.wsgi = shedding(worker.wsgi, gauge, budget, read("HEALTH_PATH"))
    return gauge
