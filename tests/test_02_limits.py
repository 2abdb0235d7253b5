"""Límites que responden en vez de encolar (el descarte bajo sobrecarga real y los cuerpos lentos, en
test_02_overload.py) y métricas de todos los workers, con gunicorn real en 127.0.0.1:
429 con Retry-After (RATE_LIMIT), 408 para un cuerpo que no llega (BODY_TIMEOUT) y
/metrics en formato de Prometheus que suma los workers y que un Prometheus real lee."""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from diabetes_model.patients import example_patient
from support import HEALTH_PATH, free_port, need, running_gunicorn, stop, wait_until

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


@pytest.mark.server
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


@pytest.mark.server
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


def samples(text, name, **labels):
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


@pytest.mark.server
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


@pytest.mark.server
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


@pytest.mark.server
@pytest.mark.parametrize("route", ["/metrics", "/v1/model/card", "/v1/model.onnx"])
def test_without_the_key_a_real_server_answers_401(tmp_path, served_model_dir, route):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "API_KEY": KEY}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        assert requests.get(url + route, timeout=5).status_code == 401
        assert requests.get(url + route, headers=AUTH, timeout=5).status_code == 200


@pytest.mark.slow
def test_the_memory_limiter_keeps_at_most_10000_clients_and_drops_the_oldest(served_model_dir):
    """RATE_LIMIT con memory://: 10.050 direcciones distintas (X-Forwarded-For tras PROXY_HOPS=1) no hacen
    crecer sin tope la memoria del límite (RATE_LIMIT_MAX_KEYS, 10.000); la más antigua sale y vuelve
    con su cuenta a cero. En proceso y con un cuerpo no válido (422, que también cuenta): rápido."""
    from diabetes_api import create_app

    app = create_app({"MODEL_DIR": served_model_dir, "RATE_LIMIT": "1/minute", "PROXY_HOPS": 1})
    client, storage = app.test_client(), app.extensions["limiter"].storage

    def post(index):
        address = f"10.{index // 65536}.{index // 256 % 256}.{index % 256}"
        return client.post("/v1/predict", json={}, headers={"X-Forwarded-For": address}).status_code

    assert (post(1), post(1)) == (422, 429), "el límite de 1/minute no cuenta por dirección"
    codes = [post(index) for index in range(2, 10_051)]
    assert set(codes) == {422}, "cada dirección nueva tiene su propia cuenta"
    assert len(storage.storage) <= 10_000, f"la memoria del límite guarda {len(storage.storage)} claves"
    assert post(1) == 422, "la dirección más antigua debía haber salido (y volver con la cuenta a cero)"
    assert post(10_050) == 429, "la más reciente sigue contada"


def test_past_max_in_flight_a_request_gets_503_at_once_with_retry_after(served_model_dir, card):
    """MAX_IN_FLIGHT=1: con una petición dentro de la API (su contexto abierto, antes de terminar), la
    siguiente recibe 503 con Retry-After sin esperar; al terminar la primera, el sitio queda libre. En
    proceso: con gevent la predicción no cede la CPU y, por HTTP, el contador no pasa de una."""
    from diabetes_api import create_app
    from diabetes_api.errors import ApiError

    app = create_app({"MODEL_DIR": served_model_dir, "MAX_IN_FLIGHT": 1})
    shedder = app.extensions["load_shedder"]
    with app.test_request_context("/v1/predict", method="POST", json=example_patient(card)):
        shedder.before()  # la primera, dentro
        with app.test_request_context("/v1/predict", method="POST", json=example_patient(card)):
            with pytest.raises(ApiError) as refused:
                shedder.before()
            response = app.handle_user_exception(refused.value)
        shedder.after()
    assert (response.status_code, response.headers["Retry-After"]) == (503, "1")
    assert response.get_json()["error"]["code"] == "overloaded"
    assert app.test_client().post("/v1/predict", json=example_patient(card)).status_code == 200
