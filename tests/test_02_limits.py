"""Límites que responden en vez de encolar y métricas de todos los workers, con gunicorn real en 127.0.0.1:
429 con Retry-After (RATE_LIMIT), 408 para un cuerpo que no llega (BODY_TIMEOUT), 503 al momento pasado
MAX_IN_FLIGHT, y /metrics en formato de Prometheus que suma los workers y que un Prometheus real lee."""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from diabetes_api import create_app
from support import HEALTH_PATH, free_port, need, running_gunicorn, stop, wait_until
from workshop.patients import example_patient

KEY = "clave-de-prueba"
AUTH = {"Authorization": f"Bearer {KEY}"}


def slow_sender(port, declared=1000, sent=b'{"Glucose": '):
    """Una conexión que anuncia un cuerpo de `declared` bytes y solo manda el principio."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(declared).encode() + b"\r\n\r\n" + sent)
    return sock


def status_line(sock):
    return sock.recv(4096).split(b"\r\n", 1)[0].decode()


def test_rate_limit_answers_429_with_retry_after_per_key_and_address(tmp_path, served_model_dir, card):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "RATE_LIMIT": "3/minute",
           "API_KEY": f"{KEY},otra-clave"}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        answers = [requests.post(url + "/v1/predict", json=example_patient(card), headers=AUTH, timeout=5)
                   for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        limited = answers[-1]
        assert limited.json()["error"]["code"] == "too_many_requests"
        assert "Demasiadas peticiones" in limited.json()["error"]["message"]
        assert int(limited.headers["Retry-After"]) >= 1
        # Otra clave (otra persona) tiene su propia cuenta; la salud nunca se limita.
        other = requests.post(url + "/v1/predict", json=example_patient(card), timeout=5,
                              headers={"Authorization": "Bearer otra-clave"})
        assert other.status_code == 200
        assert all(requests.get(url + HEALTH_PATH, timeout=5).status_code == 200 for _ in range(10))


def test_a_body_that_does_not_arrive_gets_408(tmp_path, served_model_dir):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "BODY_TIMEOUT": "1"}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        sock = slow_sender(port)
        started = time.monotonic()
        try:
            line = status_line(sock)
        finally:
            sock.close()
        assert line.startswith("HTTP/1.1 408"), line
        assert time.monotonic() - started < 5


def test_past_max_in_flight_the_api_answers_503_at_once(tmp_path, served_model_dir, card):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "MAX_IN_FLIGHT": "2", "BODY_TIMEOUT": "20"}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        senders = [slow_sender(port) for _ in range(2)]  # dos peticiones en curso, esperando su cuerpo
        try:
            def shed():
                answer = requests.post(url + "/v1/predict", json=example_patient(card), timeout=5)
                return [answer] if answer.status_code == 503 else None  # una lista: un 503 es «falso»

            (answer,) = wait_until(shed, timeout=10, message="la tercera petición no recibió 503")
            assert answer.json()["error"]["code"] == "overloaded"
            assert answer.headers["Retry-After"] == "1"
            assert answer.elapsed.total_seconds() < 1  # al momento, sin esperar turno
        finally:
            for sock in senders:
                sock.close()
        wait_until(lambda: requests.post(url + "/v1/predict", json=example_patient(card), timeout=5).ok,
                   timeout=10, message="al cerrar las lentas, la API no volvió a responder 200")


def test_a_lagging_event_loop_sheds_new_requests(served_model_dir, card):
    app = create_app({"MODEL_DIR": served_model_dir, "MAX_LAG_MS": 100})
    client = app.test_client()
    assert client.post("/v1/predict", json=example_patient(card)).status_code == 200
    app.extensions["load_shedder"].lag = 0.5  # el bucle de gevent va medio segundo tarde: hay cola
    assert client.post("/v1/predict", json=example_patient(card)).status_code == 503


def samples(text, name, **labels):
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def test_one_scrape_covers_every_worker(tmp_path, served_model_dir, card):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "2", "API_KEY": KEY}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        for _ in range(40):  # conexiones nuevas: las reparte el sistema entre los dos workers
            requests.post(url + "/v1/predict", json=example_patient(card), headers={**AUTH, "Connection": "close"},
                          timeout=5)
        scrapes = [requests.get(url + "/metrics", headers={**AUTH, "Connection": "close"}, timeout=5).text
                   for _ in range(4)]
    counts = {samples(text, "diabetes_api_requests_total", route="/v1/predict", status="200") for text in scrapes}
    assert counts == {40.0}, "cada lectura debe sumar los dos workers: siempre 40"
    assert samples(scrapes[0], "diabetes_api_cache_total") == 40


def test_a_real_prometheus_scrapes_the_api_with_the_key(tmp_path, served_model_dir, card):
    binary = shutil.which("prometheus")
    need(binary is not None, "falta prometheus (sudo apt-get install prometheus)")
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "2", "API_KEY": KEY}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        for _ in range(7):
            requests.post(url + "/v1/predict", json=example_patient(card), headers=AUTH, timeout=5)
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        port = free_port()
        (folder / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: api\n    metrics_path: /metrics\n"
            f"    authorization: {{type: Bearer, credentials: {KEY}}}\n"
            f"    static_configs: [{{targets: ['{url.split('//')[1]}']}}]\n", encoding="utf-8")
        log = open(folder / "prometheus.log", "wb")
        prometheus = subprocess.Popen([binary, f"--config.file={folder / 'prometheus.yml'}",
                                       f"--storage.tsdb.path={folder / 'data'}",
                                       f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        try:
            query = "sum(diabetes_api_requests_total{route=\"/v1/predict\",status=\"200\"})"

            def value():
                try:
                    answer = requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": query},
                                          timeout=2).json()
                except (requests.RequestException, ValueError):
                    return None
                result = answer.get("data", {}).get("result", [])
                return float(result[0]["value"][1]) if result else None

            assert wait_until(value, timeout=30, message="Prometheus no leyó las métricas de la API") == 7.0
        finally:
            stop(prometheus)
            log.close()


@pytest.mark.parametrize("route", ["/metrics", "/v1/model/card", "/v1/model.onnx"])
def test_without_the_key_a_real_server_answers_401(tmp_path, served_model_dir, route):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "API_KEY": KEY}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        assert requests.get(url + route, timeout=5).status_code == 401
        assert requests.get(url + route, headers=AUTH, timeout=5).status_code == 200
