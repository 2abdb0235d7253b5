"""Peticiones mal formadas a un gunicorn real (02_docker/gunicorn.conf.py): cada respuesta es el JSON de
la API en español, las que da Flask y las que gunicorn da por sí mismo (serving.http_errors), nunca
HTML; y ninguna redirección repite la cabecera Host que mandó el cliente."""

import json
import socket

import pytest

from support import running_gunicorn

pytestmark = pytest.mark.slow
HOST = b"Host: atacante.example\r\nConnection: close\r\n"


@pytest.fixture(scope="module")
def port(served_model_dir, tmp_path_factory):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off"}
    with running_gunicorn(tmp_path_factory.mktemp("protocolo"), env=env) as (url, _process):
        yield int(url.rsplit(":", 1)[1])


def raw(port, data):
    """Envía bytes tal cual y devuelve (estado, cabeceras en minúsculas, cuerpo) de la respuesta."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


CASES = [
    ("barras dobles", b"GET /v1//model HTTP/1.1\r\n" + HOST + b"\r\n", 308, "moved_permanently"),
    ("método no permitido", b"GET /v1/predict HTTP/1.1\r\n" + HOST + b"\r\n", 405, "method_not_allowed"),
    ("ruta que no existe", b"GET /%ff%fe HTTP/1.1\r\n" + HOST + b"\r\n", 404, "not_found"),
    ("cuerpo declarado enorme", b"POST /v1/predict HTTP/1.1\r\n" + HOST
     + b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n", 413, "payload_too_large"),
    ("trozos rotos", b"POST /v1/predict HTTP/1.1\r\n" + HOST
     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "invalid_body"),
    ("URL enorme", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n" + HOST + b"\r\n", 414, "uri_too_long"),
    ("cabecera enorme", b"GET /v1/model HTTP/1.1\r\n" + HOST + b"X-Grande: " + b"a" * 9000 + b"\r\n\r\n",
     431, "request_header_fields_too_large"),
    ("demasiadas cabeceras", b"GET /v1/model HTTP/1.1\r\n" + HOST + b"".join(b"X-%d: 1\r\n" % i for i in range(60))
     + b"\r\n", 431, "request_header_fields_too_large"),
    ("línea de petición rota", b"ESTO NO ES HTTP\r\n\r\n", 400, "invalid_body"),
    ("versión de HTTP desconocida", b"GET /v1/model HTTP/9.9\r\n" + HOST + b"\r\n", 400, "invalid_body"),
    ("Content-Length no numérico", b"POST /v1/predict HTTP/1.1\r\n" + HOST
     + b"Content-Type: application/json\r\nContent-Length: abc\r\n\r\n", 400, "invalid_body"),
]


@pytest.mark.parametrize(("what", "request_bytes", "status", "code"), CASES, ids=[case[0] for case in CASES])
def test_malformed_requests_get_the_api_json_in_spanish(port, what, request_bytes, status, code):
    got, headers, body = raw(port, request_bytes)
    assert got == status, body[:200]
    assert headers["content-type"].startswith("application/json"), body[:200]
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"].endswith(".") and "atacante" not in body.decode()
    assert "location" not in headers or headers["location"] == "/v1/model"  # relativa: nunca el Host del cliente
