"""Recargar (SIGHUP) sin un hueco: los workers viejos atienden hasta que los nuevos están listos.

Lo que hace gunicorn al recibir SIGHUP: crea los workers nuevos y, sin esperar a que carguen la app,
envía SIGTERM a los viejos. Un worker viejo deja de aceptar conexiones en menos de un segundo; uno
nuevo tarda más en estar listo si la máquina está cargada (crea la app y carga una o dos versiones
del modelo). Mientras, nadie acepta: las conexiones esperan en la cola del núcleo. Medido (6 recargas
bajo carga constante de 4 clientes, 2 núcleos): la petición más lenta, 913 ms sin este módulo y 135 ms
con él. Con MAX_LAG_MS (Lightsail), esa espera se descarta con 503.

Aquí, con los ganchos públicos de gunicorn (gunicorn.conf.py): el maestro anota en memoria compartida
cada worker que crea (`pre_fork`, «arrancando», con su orden de nacimiento) y lo borra al salir
(`child_exit`); cada worker se marca «listo» al terminar de cargar (`post_worker_init`) y cambia su
manejador de SIGTERM: si hay algún worker MÁS JOVEN todavía arrancando, sigue atendiendo (como
mucho WAIT_SECONDS) hasta que no quede ninguno, y después termina como siempre (lo que tiene en
curso, con graceful_timeout). Al parar el servidor no hay workers más jóvenes: termina al momento.
"""

import signal
import threading
import time
from multiprocessing.sharedctypes import RawArray

SLOTS = 64  # workers vivos a la vez como máximo (durante una recarga conviven los viejos y los nuevos)
FREE, BOOTING, READY = 0, 1, 2
WAIT_SECONDS = 60.0  # lo más que un worker viejo espera a los nuevos (uno colgado lo mata el maestro a los 30 s)
POLL_SECONDS = 0.02


def pre_fork(server, worker):
    """En el maestro, antes de crear un worker: un puesto con su orden de nacimiento, «arrancando»."""
    if not hasattr(server, "handover_state"):  # una vez por maestro (sobrevive a SIGHUP)
        server.handover_state, server.handover_birth = RawArray("i", SLOTS), RawArray("q", SLOTS)
        server.handover_births = 0
    free = [slot for slot, state in enumerate(server.handover_state) if state == FREE]
    worker.handover_slot = free[0] if free else None
    if worker.handover_slot is not None:
        server.handover_births += 1
        server.handover_birth[worker.handover_slot] = server.handover_births
        server.handover_state[worker.handover_slot] = BOOTING
    worker.handover_state, worker.handover_birth = server.handover_state, server.handover_birth


def release(server, worker):
    """En el maestro, cuando un worker termina (o muere arrancando): su puesto queda libre."""
    if getattr(worker, "handover_slot", None) is not None and hasattr(server, "handover_state"):
        server.handover_state[worker.handover_slot] = FREE


def younger_booting(worker):
    """¿Hay algún worker nacido después de `worker` que todavía no está listo?"""
    mine = worker.handover_birth[worker.handover_slot]
    return any(state == BOOTING and birth > mine
               for state, birth in zip(worker.handover_state, worker.handover_birth, strict=True))


def install(worker):
    """En el worker, con la app ya cargada: se marca listo y espera a los nuevos antes de terminar."""
    if getattr(worker, "handover_slot", None) is None:
        return
    worker.handover_state[worker.handover_slot] = READY
    graceful = worker.handle_exit

    def wait_then_exit(sig, frame):
        deadline = time.monotonic() + WAIT_SECONDS
        while younger_booting(worker) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)  # con gevent (monkey patch), cede el turno: sigue atendiendo
        graceful(sig, frame)

    def on_term(sig, frame):
        if not younger_booting(worker):
            graceful(sig, frame)
            return
        if type(worker).__module__.endswith("ggevent"):  # en el bucle de gevent no se puede bloquear: una corrutina
            import gevent

            gevent.spawn(wait_then_exit, sig, frame)
        else:
            threading.Thread(target=wait_then_exit, args=(sig, frame), daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
