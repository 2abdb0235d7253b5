"""Caché LRU de predicciones: una petición repetida es un HIT con la misma respuesta; con tamaño 0, nunca."""

from test_01_predict import patients, valid_patient

from diabetes_api import create_app


def test_repeated_request_is_a_hit_with_the_same_body(client, card):
    patient = valid_patient(card)
    first = client.post("/v1/predict", json=patient)
    second = client.post("/v1/predict", json=patient)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.get_json() == second.get_json()
    stats = client.get("/metrics").get_json()["cache"]
    assert (stats["hits"], stats["misses"], stats["size"]) == (1, 1, 1)
    assert client.get("/v1/model").get_json()["cache"] == stats


def test_the_key_is_the_validated_values_not_the_json_text(client, card):
    patient = valid_patient(card)
    integer = next(f["name"] for f in card["features"] if f["type"] == "integer")
    client.post("/v1/predict", json=patient)
    same_values = {**dict(reversed(list(patient.items()))), integer: float(patient[integer])}
    assert client.post("/v1/predict", json=same_values).headers["X-Cache"] == "HIT"


def test_size_zero_never_hits(model_dir, card):
    client = create_app({"MODEL_DIR": model_dir, "CACHE_SIZE": 0}).test_client()
    patient = valid_patient(card)
    answers = [client.post("/v1/predict", json=patient) for _ in range(3)]
    assert [a.headers["X-Cache"] for a in answers] == ["MISS"] * 3
    assert len({a.get_data() for a in answers}) == 1
    stats = client.get("/metrics").get_json()["cache"]
    assert (stats["hits"], stats["misses"], stats["size"], stats["maxsize"]) == (0, 3, 0, 0)


def test_least_recently_used_entry_is_evicted(model_dir, card):
    client = create_app({"MODEL_DIR": model_dir, "CACHE_SIZE": 2}).test_client()
    first, second, third = patients(card, count=3)
    for patient in (first, second, third):
        client.post("/v1/predict", json=patient)
    assert client.post("/v1/predict", json=third).headers["X-Cache"] == "HIT"
    assert client.post("/v1/predict", json=first).headers["X-Cache"] == "MISS"
    assert client.get("/metrics").get_json()["cache"]["size"] == 2


def test_batch_uses_and_fills_the_cache(client, card):
    group = patients(card, count=3)
    client.post("/v1/predict", json=group[0])
    batch = client.post("/v1/predict", json={"instances": group}).get_json()["predictions"]
    assert client.get("/metrics").get_json()["cache"]["hits"] == 1
    single = client.post("/v1/predict", json=group[2])
    assert single.headers["X-Cache"] == "HIT"
    assert {k: v for k, v in single.get_json().items() if k != "model_version"} == batch[2]


def test_invalid_requests_do_not_touch_the_cache(client):
    client.post("/v1/predict", json={"Glucose": "alta"})
    stats = client.get("/metrics").get_json()["cache"]
    assert (stats["hits"], stats["misses"]) == (0, 0)
