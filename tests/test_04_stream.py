"""Etapa 04, streaming con Redis: nada se pierde, nada se duplica, lo venenoso se aparta.

Cada prueba arranca su propio redis-server en 127.0.0.1 (puerto libre, AOF en su carpeta) y sus
consumidores como procesos reales, y lo para todo por su PID al acabar, también si falla.
"""

import json
import signal
import subprocess
import sys

import pytest

from diabetes_model.patients import random_patients
from schemes import servers
from schemes.common import SchemesError
from schemes.stream import DONE_PREFIX, RedisStreams
from support import add_version, free_port, model_home, need, publish, run_to_exit, stop, wait_until
from workshop import processes

# Arranca servidores reales en 127.0.0.1: fuera de `make test-fast`.
pytestmark = pytest.mark.server


def redis_available():
    try:
        servers.redis_server_binary()
        return True
    except SchemesError:
        return False


@pytest.fixture()
def redis_url(tmp_path):
    need(redis_available(), "falta redis-server (apt-get install redis-server)")
    with servers.running_redis(tmp_path) as (url, _):
        yield url


@pytest.fixture()
def home(model_dir, tmp_path):
    """Un MODEL_DIR privado con la versión publicada del taller."""
    return model_home(model_dir, tmp_path / "modelo")


@pytest.fixture()
def workers(tmp_path, redis_url, home):
    """Arranca consumidores (`python -m schemes worker`) y los para todos al acabar."""
    started = []

    def start(name, *args):
        process = processes.start(servers.python_module("worker", "--name", name, *args), tmp_path / f"{name}.log",
                                  env={"REDIS_URL": redis_url, "MODEL_DIR": str(home)})
        started.append(process)
        broker = RedisStreams(redis_url)
        wait_until(lambda: process.poll() is not None or name in {c["name"] for c in broker.status()["consumers"]},
                   30, f"el consumidor {name} no se dio de alta")
        assert process.poll() is None, processes.log_tail(process)
        return process

    yield start
    for process in started:
        stop(process)


def publish_patients(broker, card, count, first_id=1):
    patients = random_patients(card["features"], count, seed=first_id)
    return broker.publish(list(enumerate(patients, first_id)))


def results_by_event(broker):
    return [fields["event_id"] for _, fields in broker.client.xrange(broker.results)]


@pytest.mark.slow
def test_killing_a_consumer_mid_burst_loses_nothing_and_duplicates_nothing(redis_url, workers, card):
    broker = RedisStreams(redis_url)
    broker.ensure_group()
    # Un consumidor lento (coste simulado 3 ms por evento) que lee de 25 en 25.
    first = workers("A", "--cost-ms", "3", "--count", "25", "--claim-idle-ms", "800")
    ids = publish_patients(broker, card, 1500)
    wait_until(lambda: broker.status()["results"] >= 200, 60, "el consumidor A no avanzó")

    def pending_of_a():
        return next((c["pending"] for c in broker.status()["consumers"] if c["name"] == "A"), 0)

    # Entre dos lecturas, A confirma lo último y por un instante no tiene nada pendiente: se le mata
    # cuando tiene al menos 5 eventos leídos sin confirmar (≥ 15 ms de trabajo por delante).
    wait_until(lambda: pending_of_a() >= 5, 30, "A no llegó a tener eventos leídos sin confirmar")
    first.send_signal(signal.SIGKILL)  # muere a mitad de la ráfaga, con eventos leídos y sin confirmar
    first.wait(10)
    abandoned = next(c["pending"] for c in broker.status()["consumers"] if c["name"] == "A")
    assert abandoned > 0, "A murió sin eventos pendientes: la prueba no ejercita la reclamación"
    second = workers("B", "--count", "100", "--claim-idle-ms", "800")
    wait_until(lambda: broker.status()["results"] + broker.status()["dead"] >= len(ids), 90,
               "no todos los eventos recibieron un resultado")
    # Sin pendientes ni lag ya no queda ninguna entrega en curso: no puede llegar ningún resultado de más.
    wait_until(lambda: broker.status()["pending"] == 0 and broker.status()["lag"] == 0, 30,
               "quedaron eventos pendientes o sin entregar")
    state = broker.status()
    events = results_by_event(broker)
    print(f"\nenviados {len(ids)}, resultados {len(events)}, distintos {len(set(events))}, "
          f"duplicados {len(events) - len(set(events))}, pendientes {state['pending']}, muertos {state['dead']}, "
          f"abandonados por A al morir {abandoned}")
    assert sorted(events) == sorted(ids)  # cada evento, exactamente un resultado
    assert state["pending"] == 0 and state["lag"] == 0 and state["dead"] == 0
    claimed = [fields for _, fields in broker.client.xrange(broker.results) if fields["consumer"] == "B"]
    assert len(claimed) >= abandoned
    second.send_signal(signal.SIGTERM)  # parada ordenada: acaba lo que tiene entre manos y sale con 0
    assert second.wait(15) == 0
    assert "parado:" in processes.log_tail(second, 3)


def test_a_redelivered_event_does_not_create_a_second_result(redis_url, card):
    broker = RedisStreams(redis_url)
    broker.ensure_group()
    (event_id,) = publish_patients(broker, card, 1)
    (slow,) = broker.read_new("lento", count=10, block_ms=100)  # lo lee y se queda «colgado»
    (claimed,) = broker.claim_stale("rapido", min_idle_ms=0, count=10)  # otro lo reclama (2.ª entrega)
    assert claimed.id == slow.id == event_id and claimed.deliveries == 2
    result = {"event_id": event_id, "prediction": "1"}
    assert broker.complete([(claimed, result, False)]) == 1
    assert broker.complete([(slow, result, False)]) == 0  # el lento termina tarde: no se escribe otra vez
    assert results_by_event(broker) == [event_id]
    assert broker.status()["pending"] == 0
    assert broker.client.exists(DONE_PREFIX + event_id)


@pytest.mark.slow
def test_a_poison_message_goes_to_dead_letters_after_n_attempts(redis_url, workers, card):
    broker = RedisStreams(redis_url)
    broker.ensure_group()
    good = publish_patients(broker, card, 5)
    poison = broker.client.xadd(broker.events, {"patient_id": "666", "data": "esto no es JSON", "created_at": "0"})
    missing = broker.client.xadd(broker.events, {"patient_id": "667", "data": json.dumps({"Glucose": 120}),
                                                 "created_at": "0"})
    worker = workers("W", "--max-attempts", "3", "--claim-idle-ms", "300")
    wait_until(lambda: broker.status()["dead"] >= 2 and broker.status()["results"] >= 5, 60,
               "los mensajes venenosos no llegaron a muertos")
    dead = {fields["event_id"]: fields for _, fields in broker.client.xrange(broker.dead)}
    print(f"\nenviados {len(good) + 2}, resultados {broker.status()['results']}, muertos {len(dead)}, "
          f"pendientes {broker.status()['pending']}")
    assert set(dead) == {poison, missing}
    assert all(fields["attempts"] == "3" for fields in dead.values())
    assert "JSONDecodeError" in dead[poison]["error"] and "Glucose" not in dead[poison]["error"]
    assert "falta la variable" in dead[missing]["error"]
    assert sorted(results_by_event(broker)) == sorted(good)
    assert broker.status()["pending"] == 0
    log = processes.log_tail(worker, 50)
    for attempt in (1, 2, 3):
        assert f"evento {poison}: intento {attempt}/3 falló" in log


def test_status_shows_lag_pending_and_consumers(redis_url, home, card):
    broker = RedisStreams(redis_url)
    broker.ensure_group()
    publish_patients(broker, card, 10)
    broker.read_new("curioso", count=4, block_ms=100)  # 4 entregados sin confirmar, 6 sin entregar
    code, out, err = run_to_exit([sys.executable, "-m", "schemes", "status"], env={"REDIS_URL": redis_url})
    assert code == 0, err
    assert "10 eventos · lag (sin entregar) 6 · pendientes (entregados sin confirmar) 4" in out
    assert "ocupación: 10 de 100.000 (0 %) · productor sin retener" in out
    assert "consumidor curioso: 4 pendientes" in out


@pytest.mark.parametrize("command", [["produce", "--patients", "3"], ["worker"], ["status"]])
def test_without_redis_the_producer_and_worker_say_so_in_spanish(command, home):
    url = f"redis://127.0.0.1:{free_port()}/0"  # nadie escucha ahí
    code, out, err = run_to_exit([sys.executable, "-m", "schemes", *command], env={"REDIS_URL": url,
                                                                                   "MODEL_DIR": str(home)})
    assert code == 1
    assert err.startswith(f"Error: No puedo conectar con Redis en {url}")
    assert "Traceback" not in out + err and err.count("\n") == 1


def test_worker_that_loses_redis_mid_run_says_so_and_goes_on(tmp_path, home, card):
    """Redis se para y vuelve VACÍO (sin persistencia): el consumidor lo dice una vez, no sale, crea otra vez
    el grupo al volver Redis y sigue prediciendo. (Con el AOF no se pierde nada: test_04_stream_faults.py.)"""
    need(redis_available(), "falta redis-server (apt-get install redis-server)")
    command = servers.redis_command(tmp_path, free_port(), appendfsync=None)
    url, redis_process = servers.start_redis(command, tmp_path)
    worker = processes.start(servers.python_module("worker", "--name", "W"), tmp_path / "worker.log",
                             env={"REDIS_URL": url, "MODEL_DIR": str(home)})
    try:
        broker = RedisStreams(url)
        wait_until(lambda: "W" in {c["name"] for c in broker.status()["consumers"]}, 30, "W no se dio de alta")
        stop(redis_process)
        wait_until(lambda: worker.poll() is not None or "Redis no responde en" in worker.log_path.read_text(), 30,
                   "el consumidor no dijo que Redis cayó")
        assert worker.poll() is None, processes.log_tail(worker)
        url, redis_process = servers.start_redis(command, tmp_path)  # mismo puerto, vacío
        wait_until(lambda: worker.poll() is not None or "Redis vuelve a responder" in worker.log_path.read_text(),
                   30, "el consumidor no dijo que Redis volvió")
        (event_id,) = publish_patients(broker, card, 1)
        wait_until(lambda: worker.poll() is not None or broker.status()["results"] >= 1, 30, "sin resultado")
        assert worker.poll() is None, processes.log_tail(worker)
        assert results_by_event(broker) == [event_id]
    finally:
        stop(worker)
        stop(redis_process)
    log = worker.log_path.read_text()
    assert log.count("Redis no responde en") == 1 and log.count("Redis vuelve a responder tras") == 1, log
    assert "el grupo predictores no existía (Redis volvió vacío" in log
    assert "Error:" not in log and "Traceback" not in log


def test_the_worker_predicts_like_the_api(redis_url, workers, home, card):
    """Mismo modelo que la API: la probabilidad del stream es la de `load_model` para esa paciente."""
    from diabetes_api.model import load_model

    broker = RedisStreams(redis_url)
    broker.ensure_group()
    workers("W")
    (event_id,) = publish_patients(broker, card, 1, first_id=42)
    wait_until(lambda: broker.status()["results"] >= 1, 30, "sin resultado")
    (_, fields), = broker.client.xrange(broker.results)
    model = load_model(model_dir=home)
    patient = random_patients(card["features"], 1, seed=42)[0]
    (expected,), _ = model.predict_rows([tuple(float(patient[name]) for name in model.feature_names)])
    assert fields["event_id"] == event_id and fields["patient_id"] == "42"
    assert fields["model_version"] == model.version
    assert float(fields["probability"]) == expected["probability"]
    assert int(fields["prediction"]) == expected["prediction"]


def test_cli_help_is_in_spanish():
    result = subprocess.run([sys.executable, "-m", "schemes", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.startswith("uso: python -m schemes") and "Trabajo por lotes" in result.stdout
    assert "show this help" not in result.stdout


@pytest.mark.slow
def test_a_new_model_version_is_used_for_the_next_events(redis_url, workers, home, card):
    broker = RedisStreams(redis_url)
    broker.ensure_group()
    worker = workers("W")
    publish_patients(broker, card, 3)
    wait_until(lambda: broker.status()["results"] >= 3, 30, "sin resultados")
    add_version(home, "v-prueba-stream")
    publish(home, "v-prueba-stream")
    wait_until(lambda: "ahora predice con v-prueba-stream" in worker.log_path.read_text(), 30,
               "el consumidor no cargó la versión nueva")
    publish_patients(broker, card, 3, first_id=10)
    wait_until(lambda: broker.status()["results"] >= 6, 30, "sin resultados")
    versions = [fields["model_version"] for _, fields in broker.client.xrange(broker.results)]
    assert versions[3:] == ["v-prueba-stream"] * 3 and "v-prueba-stream" not in versions[:3]


def test_every_stream_keeps_about_maxlen_entries(redis_url, card, monkeypatch):
    """Eventos: como mucho N, y solo se borra lo confirmado. Resultados y muertos: XADD MAXLEN ~ N, cerca de N.

    Con «~» Redis solo borra nodos enteros (como mucho `stream-node-max-entries` entradas cada uno): el
    stream nunca baja de N y puede pasarse, como mucho, en un nodo.
    """
    maxlen = 150
    monkeypatch.setenv("SCHEMES_STREAM_MAXLEN", str(maxlen))
    broker = RedisStreams(redis_url)  # el límite sale de SCHEMES_STREAM_MAXLEN
    assert broker.maxlen == maxlen
    broker.ensure_group()
    node = int(broker.client.config_get("stream-node-max-entries")["stream-node-max-entries"])
    first = None
    # La app publica de 100 en 100; un consumidor completa la mitad como resultado y la otra mitad como muerta.
    for start in range(0, 1200, 100):
        ids = publish_patients(broker, card, 100, first_id=start + 1)
        first = first or ids[0]
        deliveries = broker.read_new("c", count=100, block_ms=100)
        broker.complete([(delivery, {"event_id": delivery.id}, index % 2 == 1)
                         for index, delivery in enumerate(deliveries)])
        assert broker.client.xlen(broker.events) <= maxlen  # nunca más de N eventos en el stream
    lengths = {name: broker.client.xlen(name) for name in (broker.events, broker.results, broker.dead)}
    print(f"\nMAXLEN ~ {maxlen} (nodos de {node}): {lengths} tras 1.200 eventos, 600 resultados y 600 muertos")
    assert all(maxlen <= length <= maxlen + node for length in (lengths[broker.results], lengths[broker.dead]))
    assert broker.client.xrange(broker.events, min=first, max=first) == []  # el más antiguo (confirmado) ya no está


def test_a_bad_stream_maxlen_is_one_spanish_sentence(redis_url):
    code, out, err = run_to_exit([sys.executable, "-m", "schemes", "status"],
                                 env={"REDIS_URL": redis_url, "SCHEMES_STREAM_MAXLEN": "muchos"})
    assert code == 1 and err == "Error: SCHEMES_STREAM_MAXLEN='muchos' no es un número entero.\n"
