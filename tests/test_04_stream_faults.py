"""Etapa 04, streaming: el stream aguanta que Redis se caiga y no pierde eventos por su límite.

Redis real (redis-server con el AOF en la carpeta de la prueba y `appendfsync always`) y consumidores
reales (`python -m schemes worker`); Redis se mata con SIGKILL y se vuelve a arrancar con la misma orden,
en el mismo puerto. Todo se para por su PID al acabar, también si la prueba falla.
"""

import signal
import sys
import threading

import pytest

from diabetes_model.patients import random_patients
from schemes import servers
from schemes.common import SchemesError
from schemes.stream import RedisStreams
from schemes.stream_faults import PublishError
from support import free_port, model_home, need, run_to_exit, stop, wait_until
from workshop import processes

# Arranca servidores reales en 127.0.0.1: fuera de `make test-fast`.
pytestmark = pytest.mark.server

OUTAGE = "Redis no responde en"
BACK = "Redis vuelve a responder tras"


def redis_available():
    try:
        servers.redis_server_binary()
        return True
    except SchemesError:
        return False


@pytest.fixture()
def home(model_dir, tmp_path):
    return model_home(model_dir, tmp_path / "modelo")


@pytest.fixture()
def cluster(tmp_path, home):
    """Un redis-server con AOF que se puede matar y volver a arrancar, y consumidores reales; todo se para."""
    need(redis_available(), "falta redis-server (apt-get install redis-server)")
    folder = tmp_path / "redis"
    folder.mkdir()
    started = []

    class Cluster:
        command = servers.redis_command(folder, free_port())  # appendfsync always

        def start_redis(self):
            self.url, self.redis = servers.start_redis(self.command, folder)
            started.append(self.redis)

        def kill_redis(self):
            self.redis.send_signal(signal.SIGKILL)
            self.redis.wait(10)

        def worker(self, name, *args, env=None):
            process = processes.start(servers.python_module("worker", "--name", name, *args),
                                      tmp_path / f"{name}.log",
                                      env={"REDIS_URL": self.url, "MODEL_DIR": str(home), **(env or {})})
            started.append(process)
            broker = RedisStreams(self.url)
            wait_until(lambda: process.poll() is not None or name in {c["name"] for c in broker.status()["consumers"]},
                       30, f"el consumidor {name} no se dio de alta")
            assert process.poll() is None, processes.log_tail(process)
            return process

    cluster = Cluster()
    cluster.start_redis()
    yield cluster
    for process in reversed(started):
        stop(process)


def patients(card, count, first_id):
    return list(enumerate(random_patients(card["features"], count, seed=first_id), first_id))


def results_by_event(broker):
    return [fields["event_id"] for _, fields in broker.client.xrange(broker.results)]


def settled_or_dead(broker, consumers):
    """Con todo publicado, espera a que no quede nada sin entregar ni sin confirmar (entonces ya no puede
    llegar ningún resultado más: se confirma junto con su resultado), o a que un consumidor haya salido."""
    def done():
        if any(process.poll() is not None for process in consumers):
            return True
        state = broker.status()
        return state["lag"] == 0 and state["pending"] == 0
    wait_until(done, 60, "los consumidores no terminaron la ráfaga")


@pytest.mark.slow
def test_redis_killed_mid_burst_loses_no_event_and_no_consumer_exits(cluster, card):
    logs = []
    broker = RedisStreams(cluster.url, log=logs.append, wait_s=30)
    broker.ensure_group()
    consumers = [cluster.worker(name, "--cost-ms", "2", "--count", "25", "--claim-idle-ms", "1000")
                 for name in ("A", "B")]
    ids = broker.publish(patients(card, 1500, 1))
    wait_until(lambda: broker.status()["results"] >= 200, 30, "los consumidores no avanzaron")
    before = broker.status()
    assert before["lag"] + before["pending"] > 0, "la ráfaga ya había terminado: la prueba no ejercita nada"
    cluster.kill_redis()  # SIGKILL: lo que no esté en el AOF se pierde
    # La app sigue publicando con Redis caído: su XADD reintenta con esperas crecientes hasta que vuelva.
    second, errors, more = [], [], patients(card, 1500, 1501)

    def publish_second():
        try:
            second.extend(broker.publish(more))
        except Exception as error:  # la prueba lo comprueba abajo
            errors.append(error)

    publisher = threading.Thread(target=publish_second)
    publisher.start()
    for process in consumers:
        wait_until(lambda p=process: p.poll() is not None or OUTAGE in p.log_path.read_text(), 30,
                   "un consumidor no dijo que Redis cayó")
        assert process.poll() is None, f"un consumidor salió con la caída:\n{processes.log_tail(process)}"
    wait_until(lambda: logs, 30, "el productor no dijo que Redis cayó")
    cluster.start_redis()  # la misma orden: mismo puerto, mismo AOF
    publisher.join(60)
    assert not publisher.is_alive() and not errors and len(second) == 1500, (errors, logs)
    ids += second
    settled_or_dead(broker, consumers)
    events = results_by_event(broker)
    state = broker.status()
    print(f"\nXADD con respuesta {len(ids)}, resultados {len(events)}, distintos {len(set(events))}, "
          f"pendientes al matar Redis {before['pending']}, sin entregar {before['lag']}, muertos {state['dead']}")
    assert [process.poll() for process in consumers] == [None, None], "un consumidor salió con la caída"
    assert sorted(events) == sorted(ids)  # cada evento cuyo XADD respondió: exactamente un resultado
    assert state["dead"] == 0
    for process in consumers:
        log = process.log_path.read_text()
        assert log.count(OUTAGE) == 1 and log.count(BACK) == 1 and "Traceback" not in log, log
    assert sum(OUTAGE in line for line in logs) == 1 and sum(BACK in line for line in logs) == 1, logs


@pytest.mark.slow
def test_a_full_stream_holds_the_producer_back_and_loses_nothing(cluster, card, home):
    bound = 200
    broker = RedisStreams(cluster.url, maxlen=bound, wait_s=30, log=lambda text: None)
    broker.ensure_group()
    ids, errors = [], []

    def produce():
        try:
            ids.extend(broker.publish(patients(card, 1000, 1)))
        except Exception as error:  # la prueba lo comprueba abajo
            errors.append(error)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        # Sin consumidores: el productor llena el stream hasta el límite y espera, sin borrar nada sin leer.
        wait_until(lambda: broker.status()["held"] or not producer.is_alive(), 30, "el productor no quedó retenido")
        assert broker.status()["held"], f"el productor no esperó: publicó {len(ids)} de 1.000 sin consumidores"
        code, out, err = run_to_exit([sys.executable, "-m", "schemes", "status"],
                                     env={"REDIS_URL": cluster.url, "SCHEMES_STREAM_MAXLEN": str(bound)})
        assert code == 0, err
        assert "ocupación: 200 de 200 (100 %) · productor RETENIDO" in out
        assert "espera sitio para 800 eventos" in out
        worker = cluster.worker("W", "--count", "50")  # el límite es del productor: el consumidor no lo necesita
    finally:
        producer.join(60)
    assert not errors and len(ids) == 1000
    settled_or_dead(broker, [worker])
    events = results_by_event(broker)
    print(f"\nlímite {bound}: XADD con respuesta {len(ids)}, resultados {len(events)}, "
          f"distintos {len(set(events))}, en el stream al final {broker.status()['events']}")
    assert sorted(events) == sorted(ids)  # nada se recortó sin leer
    assert broker.status()["held"] is None and broker.status()["events"] <= bound


def test_a_producer_that_gets_no_room_says_how_many_it_could_not_send(cluster, home):
    code, out, err = run_to_exit([sys.executable, "-m", "schemes", "produce", "--patients", "300"],
                                 env={"REDIS_URL": cluster.url, "MODEL_DIR": str(home),
                                      "SCHEMES_STREAM_MAXLEN": "100", "SCHEMES_PRODUCER_WAIT_S": "0,5"})
    broker = RedisStreams(cluster.url)
    assert code == 1, out + err
    assert err.startswith("Error: La app publicó 100 de 300 eventos y no pudo enviar 200: el stream "
                          "pacientes:eventos está lleno"), err
    assert "Traceback" not in err and err.count("\n") == 1
    assert broker.client.xlen(broker.events) == 100  # los 100 primeros siguen ahí, sin recortar
    assert broker.status()["held"] is None  # al rendirse, deja de marcarse como retenido


def test_a_producer_that_cannot_reach_redis_gives_up_and_counts_what_it_did_not_send(cluster, card):
    logs = []
    broker = RedisStreams(cluster.url, wait_s=0.5, log=logs.append)
    assert len(broker.publish(patients(card, 3, 1))) == 3
    cluster.kill_redis()
    with pytest.raises(PublishError) as caught:
        broker.publish(patients(card, 7, 4))
    assert caught.value.ids == [] and caught.value.unsent == 7
    assert str(caught.value).startswith("La app publicó 0 de 7 eventos y no pudo enviar 7: Redis no respondió")
    assert len(logs) == 1 and OUTAGE in logs[0] and "reintento la publicación" in logs[0]
