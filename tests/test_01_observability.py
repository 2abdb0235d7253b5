"""diabetes_api.observability: una línea de log clave=valor por petición, X-Request-ID y X-Model-Version."""

import logging
import re

from support import HEALTH_PATH
from workshop.patients import example_patient

LINE = re.compile(r"request_id=(\S+) method=(\S+) path=(\S+) status=(\d+) latency_ms=([\d.]+) "
                  r"cache=(\S+) model_version=(\S+)")


def access_lines(caplog):
    return [LINE.fullmatch(r.getMessage()) for r in caplog.records if r.name == "diabetes_api.access"]


def test_one_log_line_per_request_with_every_field(client, card, caplog):
    caplog.set_level(logging.INFO, logger="diabetes_api")
    client.post("/v1/predict", json=example_patient(card), headers={"X-Request-ID": "pedido-42"})
    client.post("/v1/predict", json=example_patient(card))
    client.get("/no/existe")
    lines = access_lines(caplog)
    assert len(lines) == 3 and all(lines)
    first, second, missing = (m.groups() for m in lines)
    assert first[:4] == ("pedido-42", "POST", "/v1/predict", "200")
    assert first[5:] == ("miss", card["version"])
    assert second[5] == "hit"
    assert missing[2:4] == ("/no/existe", "404") and missing[5] == "-"


def test_request_id_is_echoed_or_generated(client):
    echoed = client.get(HEALTH_PATH, headers={"X-Request-ID": "abc.123"})
    assert echoed.headers["X-Request-ID"] == "abc.123"
    generated = {client.get(HEALTH_PATH).headers["X-Request-ID"] for _ in range(3)}
    assert len(generated) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", value) for value in generated)


def test_unsafe_request_id_is_replaced(client):
    response = client.get(HEALTH_PATH, headers={"X-Request-ID": "x y=z" + "a" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_every_response_names_the_model_version(client, card):
    for response in (client.get(HEALTH_PATH), client.get("/no/existe"), client.post("/v1/predict", json={})):
        assert response.headers["X-Model-Version"] == card["version"]
