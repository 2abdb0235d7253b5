"""Etapa 02: sobrecarga de verdad y límites por cliente, con gunicorn real (2 workers) en 127.0.0.1.

- Con más conexiones de las que la CPU atiende (wrk, 1.024, el entorno de 03_lightsail/deployment.json), el
  worker descarta por tiempo de espera (MAX_LAG_MS, serving/shedding.py): hay 503 con Retry-After y TODAS
  las conexiones reciben respuesta. Una petición que esperó antes de que el worker la leyera (worker
  parado con SIGSTOP) recibe 503; la salud, nunca.
- 140 cuerpos que llegan byte a byte con la clave compartida no ocupan los sitios (MAX_IN_FLIGHT) de
  las peticiones completas: las de verdad responden 200.
- RATE_LIMIT sin clave cuenta por dirección (un token inventado no abre cuenta nueva); con memory://
  cada worker aplica su parte; un lote cuenta sus filas.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import struct
import threading

import pytest
import requests

from diabetes_model.patients import example_patient
from support import HEALTH_PATH, need, running_gunicorn, wait_until, worker_pids

pytestmark = pytest.mark.slow
KEY = "clave-compartida-del-aula"
AUTH = {"Authorization": f"Bearer {KEY}"}


def test_real_overload_sheds_with_503_and_answers_every_connection(tmp_path, served_model_dir, card):
    """El entorno de 03_lightsail/deployment.json (MAX_LAG_MS, GUNICORN_WORKER_CONNECTIONS…) con 1.024
    conexiones de wrk y pacientes distintas: hay 503, todos con Retry-After, hay 200 y ninguna petición
    queda sin respuesta (post.lua del benchmark: enviada hace más de 2 s y sin contestar al terminar; wrk
    no cuenta una conexión que el servidor nunca acepta)."""
    from bench.load import LoadSettings, raise_open_files, run_wrk, summarize
    from bench.patients import write_body_files
    from bench.servers import lightsail_env

    need(shutil.which("wrk") is not None, "falta wrk (sudo apt-get install wrk)")
    need((raise_open_files() or 0) > 2 * 1024 + 100, "hacen falta más de 2.148 descriptores (ulimit -n)")
    bodies = write_body_files(card, tmp_path, single_count=40_000, batch_size=1, batch_count=1)
    env = {**lightsail_env(), "MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "2", "API_KEY": KEY}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        raw = run_wrk(url + "/v1/predict", LoadSettings(seconds=4, threads=2, timeout="10s"), 1024, bodies["miss"],
                      api_key=KEY, timing=True)
    result = summarize(raw)
    counts = {**result["statuses"], "retry_after": raw["responses"]["retry_after_503"],
              "sin_respuesta": result["unanswered"], "errores": raw["errors"]}
    print(f"\n[1.024 conexiones, MAX_LAG_MS={env['MAX_LAG_MS']}] {counts}")
    assert counts.get("503", 0) >= 1, f"bajo sobrecarga real ninguna petición recibió 503: {counts}"
    assert counts["retry_after"] == counts["503"], counts
    assert counts.get("200", 0) >= 1 and set(result["statuses"]) <= {"200", "503"}, counts
    assert result["unanswered"] == 0 and result["socket_errors"] == 0, f"conexiones sin respuesta: {counts}"


def raw_request(port, method, path, body=b"", sock=None):
    """Manda una petición HTTP/1.1 (keep-alive) por `sock` o por una conexión nueva; devuelve el socket."""
    sock = sock or socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return sock


def read_response(sock):
    """(estado, cabeceras en minúsculas) de la siguiente respuesta, y se lee su cuerpo entero."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b""
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    while len(rest) < int(headers.get("content-length", 0)):
        rest += sock.recv(65536)
    return int(lines[0].split()[1]), headers


def unsent_for_ms(sock):
    """Linux: ms desde que este socket mandó su último dato (tcpi_last_data_sent, tras 8 u8 y 9 u32)."""
    return struct.unpack_from("44xI", sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104))[0]


def test_a_request_that_waited_before_the_worker_read_it_gets_503_and_health_does_not(tmp_path, served_model_dir,
                                                                                         card):
    """El worker parado (SIGSTOP) mientras llegan: una petición en una conexión keep-alive ya abierta, otra en
    una conexión nueva (en la cola de `accept`) y la salud. Al seguir (SIGCONT), las dos predicciones llevan
    más de MAX_LAG_MS esperando aunque el bucle acabe de sondear: 503 con Retry-After; la salud, 200. El
    tiempo de espera sale de TCP_INFO de cada conexión (serving/shedding.py); solo Linux."""
    need(hasattr(socket, "TCP_INFO"), "TCP_INFO solo existe en Linux")
    body = json.dumps(example_patient(card)).encode()
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "MAX_LAG_MS": "200"}
    with running_gunicorn(tmp_path, env=env) as (url, process):
        port = int(url.rsplit(":", 1)[1])
        kept = raw_request(port, "POST", "/v1/predict", body)
        assert read_response(kept)[0] == 200
        (worker,) = worker_pids(process.pid)
        os.kill(worker, signal.SIGSTOP)
        try:
            raw_request(port, "POST", "/v1/predict", body, sock=kept)
            fresh = raw_request(port, "POST", "/v1/predict", body)
            health = raw_request(port, "GET", HEALTH_PATH)
            wait_until(lambda: min(unsent_for_ms(s) for s in (kept, fresh, health)) >= 400, 10,
                       "las peticiones no llevan 400 ms esperando")
        finally:
            os.kill(worker, signal.SIGCONT)
        answers = {name: read_response(sock) for name, sock in (("keep-alive", kept), ("nueva", fresh),
                                                                 ("salud", health))}
        after = raw_request(port, "POST", "/v1/predict", body, sock=kept)
        later = read_response(after)[0]
        for sock in (kept, fresh, health):
            sock.close()
    assert {name: status for name, (status, _) in answers.items()} == {"keep-alive": 503, "nueva": 503, "salud": 200}
    assert answers["keep-alive"][1]["retry-after"] == answers["nueva"][1]["retry-after"] == "1"
    assert later == 200, "sin espera, la siguiente petición se atiende"


def trickle_bodies(port, count, stop):
    """`count` conexiones con la clave compartida que mandan su cuerpo a razón de un byte por segundo."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + KEY.encode() + b"\r\nContent-Length: 100000\r\n\r\n{")
        sockets.append(sock)

    def trickle():
        while not stop.wait(1.0):
            for sock in sockets:
                try:
                    sock.send(b" ")
                except OSError:
                    pass

    threading.Thread(target=trickle, daemon=True).start()
    return sockets


def test_140_slow_bodies_with_the_shared_key_do_not_lock_out_complete_requests(tmp_path, served_model_dir, card):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "2", "API_KEY": KEY, "PROXY_HOPS": "1",
           "BODY_TIMEOUT": "30"}  # MAX_IN_FLIGHT por defecto (64 por worker: 128 < 140)
    stop = threading.Event()
    with running_gunicorn(tmp_path, env=env) as (url, _):
        sockets = trickle_bodies(int(url.rsplit(":", 1)[1]), 140, stop)
        try:
            codes = [requests.post(url + "/v1/predict", json=example_patient(card), timeout=10,
                                   headers={**AUTH, "Connection": "close"}).status_code for _ in range(30)]
        finally:
            stop.set()
            for sock in sockets:
                sock.close()
    assert codes == [200] * 30, f"con 140 cuerpos lentos, las peticiones completas recibieron {codes}"


def post(session, url, body, token=None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return session.post(url + "/v1/predict", json=body, headers=headers, timeout=10).status_code


def test_without_a_key_a_client_inventing_tokens_is_limited_by_its_address(tmp_path, served_model_dir, card):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "2", "RATE_LIMIT": "10/minute"}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        codes = [post(requests, url, example_patient(card), secrets.token_hex(8), Connection="close")
                 for _ in range(40)]
    assert codes.count(200) <= 10, f"cada token inventado abrió una cuenta nueva: {codes.count(200)} de 40"
    assert codes.count(429) >= 30


def test_memory_storage_each_worker_enforces_its_share(tmp_path, served_model_dir, card):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "2", "RATE_LIMIT": "10/minute", "API_KEY": KEY}
    with running_gunicorn(tmp_path, env=env) as (url, _):
        codes = [post(requests, url, example_patient(card), KEY, Connection="close") for _ in range(40)]
    assert codes.count(200) <= 10, f"con 2 workers pasaron {codes.count(200)} de un límite de 10"


def test_a_batch_counts_its_rows(tmp_path, served_model_dir, card):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "2", "RATE_LIMIT": "10/minute", "API_KEY": KEY}
    with running_gunicorn(tmp_path, env=env) as (url, _), requests.Session() as session:
        # Una sola conexión: un solo worker, que aplica su parte (5/minute).
        first = post(session, url, {"instances": [example_patient(card)] * 5}, KEY)
        second = post(session, url, example_patient(card), KEY)
    assert (first, second) == (200, 429), "un lote de 5 filas debe gastar 5 de las 5 peticiones del worker"


def test_redis_storage_is_exact_across_workers(tmp_path, served_model_dir, card):
    from schemes.servers import running_redis

    need(shutil.which("redis-server") is not None, "falta redis-server (sudo apt-get install redis-server)")
    with running_redis(tmp_path) as (redis_url, _):
        env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "2", "RATE_LIMIT": "10/minute",
               "API_KEY": KEY, "RATE_LIMIT_STORAGE": redis_url}
        with running_gunicorn(tmp_path, env=env) as (url, _):
            codes = [post(requests, url, example_patient(card), KEY, Connection="close") for _ in range(30)]
    assert codes.count(200) == 10, f"con redis el límite es exacto entre workers: {codes.count(200)} de 10"

