"""Ajustes finos de gevent que gunicorn.conf.py llama desde sus ganchos (medidos en 02_docker/bench/README.md).

1. Ceder el turno tras cada respuesta (`yield_after_response`, gancho `post_request`; GUNICORN_YIELD).
   Con keep-alive, gunicorn vuelve a leer de la MISMA conexión y, si el cliente ya mandó la siguiente
   petición, gevent no cambia de corrutina: una conexión muy activa acapara el worker. `gevent.idle()`
   (API pública) espera a que el bucle no tenga nada pendiente. Medido: p99 de 340 ms a 22 ms con 16
   conexiones.

2. Repartir las conexiones nuevas entre los workers (`pre_fork`, `install`, `release`;
   GUNICORN_FAIR_ACCEPT). Todos los workers esperan en el MISMO socket y el sistema despierta a todos:
   la acepta el que llega antes, a menudo el que acaba de aceptar otra. Con 2 conexiones keep-alive
   (un balanceador, wrk -c2) las dos acababan a veces en el mismo worker: la mitad de peticiones/s.
   Cada worker publica en memoria compartida cuántas conexiones tiene abiertas; uno con más que algún
   otro espera HEAD_START (2 ms) antes de aceptar: si el otro está libre, se la lleva; si no, la acepta.

   API PRIVADA (comprobada con gevent 26.9.0 y gunicorn 27.0.1): gunicorn no ofrece un gancho para
   aceptar conexiones, así que se sustituye `gunicorn.workers.ggevent.StreamServer` (el nombre que usa
   su worker gevent al crear los servidores) por una subclase que redefine `_do_read` y usa
   `_start_accepting_if_started` y `loop.timer` de `gevent.baseserver.BaseServer` (métodos internos: el
   primero decide si aceptar, el segundo vuelve a escuchar). `do_handle` y `do_close` también son de
   BaseServer. Si una versión nueva los cambia, GUNICORN_FAIR_ACCEPT=0 vuelve al reparto del sistema;
   test_02_gunicorn.py y test_02_overload.py lo notan.
"""

from multiprocessing.sharedctypes import RawArray

HEAD_START = 0.002  # segundos de ventaja que da un worker con más conexiones a los demás
SLOTS = 64  # workers vivos a la vez como máximo para el reparto (uno más, con kill -TTIN, no reparte)


def yield_after_response():
    """Tras cada respuesta, el worker gevent atiende antes las demás conexiones con petición lista."""
    import gevent

    gevent.idle()


def pre_fork(server, worker):
    """En el maestro, antes de crear un worker: le da un puesto libre en la tabla compartida."""
    if not hasattr(server, "open_connections"):  # una vez por maestro (sobrevive a SIGHUP)
        server.open_connections = RawArray("i", [-1] * SLOTS)  # -1: puesto libre
    free = [slot for slot, count in enumerate(server.open_connections) if count < 0]
    worker.slot = free[0] if free else None
    if worker.slot is not None:
        server.open_connections[worker.slot] = 0
    worker.open_connections = server.open_connections


def install(worker):
    """En el worker, antes de escuchar: sus servidores gevent cuentan conexiones y ceden las nuevas."""
    if getattr(worker, "slot", None) is None:
        return
    from gunicorn.workers import ggevent

    ggevent.StreamServer = fair_server(ggevent.StreamServer, worker.open_connections, worker.slot)


def release(server, worker):
    """En el maestro, cuando un worker termina: su puesto queda libre."""
    if getattr(worker, "slot", None) is not None and hasattr(server, "open_connections"):
        server.open_connections[worker.slot] = -1


def fair_server(base, table, slot):
    """Un StreamServer de gevent que cuenta sus conexiones en `table[slot]` y cede las nuevas a un
    worker con menos (ver arriba)."""

    class FairStreamServer(base):
        waited = False

        def _do_read(self):
            others = [count for index, count in enumerate(table) if index != slot and count >= 0]
            if not self.waited and others and table[slot] > min(others):
                self.stop_accepting()
                self._timer = self.loop.timer(HEAD_START)
                self._timer.start(self._after_head_start)
                return
            self.waited = False
            super()._do_read()

        def _after_head_start(self):
            self.waited = True
            self._start_accepting_if_started()

        def do_handle(self, *args):
            table[slot] += 1
            super().do_handle(*args)

        def do_close(self, *args):
            table[slot] -= 1
            super().do_close(*args)

    return FairStreamServer
