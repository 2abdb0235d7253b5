"""Etapa 02, tolerancia a fallos: un worker de gunicorn muere de golpe (SIGKILL, como un fallo de
memoria o un error en C) mientras el puntero publicado nombra una versión ROTA.

El maestro crea un worker nuevo, y ese worker sirve la última versión comprobada que guarda el
maestro: no lee el disco, así que la versión rota no puede tumbarlo. Bajo una carga constante y
acotada, ninguna petición falla.

SIGKILL pierde por fuerza lo que ese proceso tuviera a medias; eso no depende del servidor. Para que
la cuenta de fallos mida solo lo que sí depende de él, la prueba mata al worker en un instante sin
ninguna conexión abierta con un cliente (lo congela con SIGSTOP, lo comprueba y, si no, lo deja
seguir y vuelve a probar). Después congela un momento al otro worker: así las respuestas de ese
intervalo solo pueden venir del worker nuevo.

Y después, sin parar la carga: se publica una versión buena + SIGHUP y, en cuanto han salido los
workers viejos, TODAS las respuestas llevan la nueva; rollback (el puntero a la anterior) + SIGHUP
y todas vuelven a la anterior.
"""

import os
import signal
import time

import psutil
import pytest

from diabetes_model.patients import example_patient
from support import (
    SteadyLoad,
    add_version,
    damage,
    publish,
    read_log,
    reload_workers,
    running_gunicorn,
    spanish,
    wait_until,
    worker_pids,
)

pytestmark = pytest.mark.slow
ENV = {"WEB_CONCURRENCY": "2", "GUNICORN_MAX_REQUESTS": "0", "ACCESS_LOG": "0"}


def kill_when_idle(pid, attempts=500):
    """SIGKILL al worker `pid` en un instante en que no tiene conexiones con clientes; devuelve los intentos."""
    for attempt in range(1, attempts + 1):
        os.kill(pid, signal.SIGSTOP)
        clients = [c for c in psutil.Process(pid).net_connections("tcp") if c.status != psutil.CONN_LISTEN]
        if not clients:
            os.kill(pid, signal.SIGKILL)
            return attempt
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.005)
    raise TimeoutError(f"el worker {pid} siempre tenía conexiones abiertas ({attempts} intentos)")


def test_a_killed_worker_is_replaced_by_one_serving_the_verified_version_and_then_a_release_and_a_rollback(
        tmp_path, fresh_model_dir, card):
    served, new = card["version"], "v-nueva"
    add_version(fresh_model_dir, new)
    with running_gunicorn(tmp_path, env={**ENV, "MODEL_DIR": str(fresh_model_dir)}) as (base_url, master):
        # El puntero pasa a nombrar una versión rota (sin SIGHUP: el maestro sigue con la comprobada).
        add_version(fresh_model_dir, "v-rota")
        publish(fresh_model_dir, "v-rota")
        damage(fresh_model_dir, "sha256")
        with SteadyLoad(base_url + "/v1/predict", example_patient(card)) as load:
            load.wait_for(lambda o: o.ok, timeout=10, count=20)
            workers = worker_pids(master.pid)
            victim, survivor = sorted(workers)
            attempts = kill_when_idle(victim)
            killed = time.monotonic()
            (replacement,) = wait_until(lambda: worker_pids(master.pid) - workers, timeout=30,
                                        message="el maestro no creó un worker nuevo tras el SIGKILL")
            # Solo el worker nuevo puede atender mientras el otro está congelado.
            os.kill(survivor, signal.SIGSTOP)
            frozen = time.monotonic()
            try:
                by_replacement = load.wait_for(lambda o: o.ok, timeout=20, since=frozen, count=20)
            finally:
                os.kill(survivor, signal.SIGCONT)
            load.wait_for(lambda o: o.ok, timeout=10, since=time.monotonic(), count=20)
            assert master.poll() is None and victim not in worker_pids(master.pid), "el maestro sigue, sin el muerto"
            crash_report = load.report("SIGKILL con el puntero en una versión rota", event=killed)

            publish(fresh_model_dir, new)
            released, renewed = reload_workers(master)
            load.wait_for(lambda o: o.ok, timeout=10, since=renewed, count=30)
            publish(fresh_model_dir, served)  # rollback: el puntero vuelve a la anterior
            rolled_back, renewed_again = reload_workers(master)
            load.wait_for(lambda o: o.ok, timeout=10, since=renewed_again, count=30)

    outcomes = load.snapshot()
    report = load.report("…y después versión nueva + SIGHUP y rollback + SIGHUP", event=released)
    print(f"\n{crash_report}\nworker {victim} muerto (intento {attempts}); sustituto {replacement}; respuestas del "
          f"sustituto solo: {spanish(len(by_replacement))}, versiones {sorted({o.version for o in by_replacement})}"
          f"\n{report}")
    assert load.failures() == [], report
    assert {o.version for o in by_replacement} == {served}, crash_report
    assert {o.version for o in outcomes if o.started < released} == {served}, report
    assert {o.version for o in outcomes if renewed <= o.started < rolled_back} == {new}, report
    assert {o.version for o in outcomes if o.started >= renewed_again} == {served}, report
    log = read_log(master, None)
    assert f"Worker (pid:{victim}) was sent SIGKILL" in log and "Traceback" not in log, log
