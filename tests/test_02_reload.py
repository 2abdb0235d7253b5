"""Etapa 02, tolerancia a fallos al publicar versiones del modelo: gunicorn real (el `gunicorn.conf.py`
del repositorio, 2 workers gevent) en 127.0.0.1, bajo una carga constante y acotada. Ninguna
petición puede fallar.

- Se publica algo roto (ONNX dañado, ficha borrada, puntero ilegible) y SIGHUP: el maestro lo
  rechaza, sigue vivo, lo dice en el log, y los workers NUEVOS sirven la última versión comprobada.
- SIGHUP y los workers nuevos tardan en cargar (se congelan con SIGSTOP antes de que estén listos): los
  viejos siguen atendiendo hasta que lo están (serving/handover.py). Sin eso, gunicorn para a los viejos
  al momento y, mientras los nuevos cargan, nadie acepta conexiones (cientos de ms bajo carga; con
  MAX_LAG_MS, 503).
- Se publica una versión buena y SIGHUP: en cuanto han salido los workers viejos (tiempo acotado),
  TODAS las respuestas llevan la nueva. Volver a la anterior (rollback) y SIGHUP: todas la anterior.

Cada prueba imprime las peticiones enviadas y fallidas, la respuesta más lenta y las versiones que
llevaron las respuestas (con `pytest -s`; también van en el mensaje si falla).
"""

import os
import signal
import time

import pytest

from diabetes_model.patients import example_patient
from support import (
    DAMAGES,
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
# ACCESS_LOG=0: el log del servidor solo lleva lo de gunicorn (las líneas de recarga que se comprueban).
ENV = {"WEB_CONCURRENCY": "2", "GUNICORN_MAX_REQUESTS": "0", "ACCESS_LOG": "0"}
SETTLE_SECONDS = 30  # máximo para que los workers viejos terminen lo suyo (graceful_timeout 5 s) y salgan


@pytest.fixture()
def server(tmp_path, fresh_model_dir):
    """gunicorn sirviendo una carpeta del modelo propia de la prueba; devuelve (url de predicción, maestro, carpeta)."""
    with running_gunicorn(tmp_path, env={**ENV, "MODEL_DIR": str(fresh_model_dir)}) as (base_url, master):
        yield base_url + "/v1/predict", master, fresh_model_dir


def ok(outcome):
    return outcome.ok


@pytest.mark.parametrize("kind", ["sha256", "card", "pointer"])
def test_a_broken_publication_then_sighup_keeps_serving_the_verified_version(server, card, kind):
    url, master, model_dir = server
    with SteadyLoad(url, example_patient(card)) as load:
        load.wait_for(ok, timeout=10, count=20)
        damage(model_dir, kind)
        signalled, renewed = reload_workers(master, SETTLE_SECONDS)
        load.wait_for(ok, timeout=10, since=renewed, count=30)  # solo workers nacidos tras el SIGHUP
    report = load.report(f"{kind} + SIGHUP", event=signalled)
    print(f"\n{report}")
    assert load.failures() == [], report
    assert {outcome.version for outcome in load.snapshot()} == {card["version"]}, report
    assert master.poll() is None, "el maestro debe seguir vivo"
    log = read_log(master, None)
    rejected = [line for line in log.splitlines() if "Recarga rechazada: " in line]
    assert len(rejected) == 1 and DAMAGES[kind] in rejected[0], log
    assert rejected[0].endswith(f"Se sigue sirviendo la versión {card['version']}."), rejected[0]
    assert "Traceback" not in log


def test_a_good_version_then_sighup_switches_every_response_and_a_rollback_returns(server, card):
    url, master, model_dir = server
    old, new = card["version"], "v-nueva"
    add_version(model_dir, new)
    with SteadyLoad(url, example_patient(card)) as load:
        load.wait_for(ok, timeout=10, count=20)
        publish(model_dir, new)
        published = time.monotonic()
        load.wait_for(ok, timeout=10, since=published, count=20)  # sin SIGHUP, nada cambia
        switched, renewed = reload_workers(master, SETTLE_SECONDS)
        load.wait_for(ok, timeout=10, since=renewed, count=30)
        publish(model_dir, old)  # rollback: el puntero vuelve a la anterior
        rolled_back, renewed_again = reload_workers(master, SETTLE_SECONDS)
        load.wait_for(ok, timeout=10, since=renewed_again, count=30)

    outcomes = load.snapshot()
    report = load.report("versión nueva + SIGHUP, y rollback + SIGHUP", event=switched)
    last_old = max((o.finished for o in outcomes if switched <= o.started < rolled_back and o.version == old),
                   default=switched)
    last_new = max((o.finished for o in outcomes if o.started >= rolled_back and o.version == new),
                   default=rolled_back)
    def ms(seconds):
        return f"{spanish(seconds * 1000)} ms"

    print(f"\n{report}\núltima respuesta {old} a {ms(last_old - switched)} del SIGHUP (workers renovados a "
          f"{ms(renewed - switched)}); tras el rollback, última {new} a {ms(last_new - rolled_back)} "
          f"(renovados a {ms(renewed_again - rolled_back)})")
    assert load.failures() == [], report
    assert {o.version for o in outcomes if o.started < switched} == {old}, report
    assert {o.version for o in outcomes if renewed <= o.started < rolled_back} == {new}, report
    assert {o.version for o in outcomes if o.started >= renewed_again} == {old}, report
    assert master.poll() is None
    log = read_log(master, None)
    assert f"SIGHUP: versión {new} comprobada (antes {old}), sin candidata" in log
    assert f"SIGHUP: versión {old} comprobada (antes {new}), sin candidata" in log


def test_old_workers_keep_answering_until_the_new_ones_are_ready(server, card):
    url, master, _ = server
    with SteadyLoad(url, example_patient(card)) as load:
        load.wait_for(ok, timeout=10, count=20)
        old = worker_pids(master.pid)
        os.kill(master.pid, signal.SIGHUP)
        def all_new():
            born = worker_pids(master.pid) - old
            return born if len(born) == len(old) else None

        new = wait_until(all_new, 10, "el maestro no creó los workers nuevos", interval=0.002)
        for pid in new:
            os.kill(pid, signal.SIGSTOP)  # los nuevos, congelados mientras cargan: no están listos
        frozen = time.monotonic()
        try:
            # Un worker viejo sin este mecanismo deja de aceptar en menos de 1 s: desde 2 s después, nada.
            load.wait_for(ok, timeout=15, since=frozen + 2.0, count=20)
            assert worker_pids(master.pid) >= old
        finally:
            for pid in new:
                os.kill(pid, signal.SIGCONT)
        wait_until(lambda: not worker_pids(master.pid) & old, 30, "los workers viejos no salieron")
        load.wait_for(ok, timeout=10, since=time.monotonic(), count=20)
    report = load.report("SIGHUP con los workers nuevos congelados", event=frozen)
    print(f"\n{report}")
    assert load.failures() == [], report
