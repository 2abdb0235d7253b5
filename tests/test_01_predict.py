"""POST /v1/predict y su validación (FeatureValidator, check_value): el contrato, los límites EXACTOS de
cada variable de la ficha, lote = individuales, y la caché (X-Cache), cuya clave es la fila exacta."""

import pytest

from diabetes_api import create_app
from diabetes_api.model import load_model
from diabetes_api.predict import check_value
from diabetes_model.patients import example_patient


def step(feature):
    """El paso más pequeño con sentido: 1 en las variables enteras, 0,01 en las demás."""
    return 1 if feature["type"] == "integer" else 0.01


def nudged(value, feature, times=1):
    return round(value + times * step(feature), 2)


def answer_of(model, card, patient):
    """Lo que responde el modelo (sin caché) para un paciente."""
    row = tuple(float(patient[f["name"]]) for f in card["features"])
    return model.predict_rows([row])[0][0]


def range_message(feature):
    extra = " (o 0 si no se midió)" if feature["zero_means_missing"] else ""
    low, high = (f"{feature[key]:,g}".translate(str.maketrans(",.", ".,")) for key in ("min", "max"))
    return f"Debe estar entre {low} y {high}{extra}."


# ------------------------------------------------------------------ Contrato

def test_one_patient_answers_with_the_contract(client, card):
    response = client.post("/v1/predict", json=example_patient(card))
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["prediction", "label", "probability", "model_version"]
    assert body["label"] == {c["value"]: c["label"] for c in card["classes"]}[body["prediction"]]
    assert 0.0 <= body["probability"] <= 1.0
    assert body["model_version"] == response.headers["X-Model-Version"] == card["version"]
    assert response.headers["X-Cache"] == "MISS"


def test_answers_equal_the_model_called_directly(client, served_model_dir, card):
    model = load_model(model_dir=served_model_dir)
    for share in (0.0, 0.1, 0.5, 0.9, 1.0):
        patient = example_patient(card, share)
        body = client.post("/v1/predict", json=patient).get_json()
        assert {k: body[k] for k in ("prediction", "label", "probability")} == answer_of(model, card, patient)


def test_zero_means_missing_is_accepted(client, card):
    zeros = {f["name"]: 0 for f in card["features"] if f["zero_means_missing"]}
    assert zeros, "la ficha debería tener alguna variable con 0 = «no medido»"
    assert client.post("/v1/predict", json={**example_patient(card), **zeros}).status_code == 200


def test_integer_feature_accepts_an_integral_float_with_the_same_answer(client, card):
    name = next(f["name"] for f in card["features"] if f["type"] == "integer")
    patient = example_patient(card)
    as_float = client.post("/v1/predict", json={**patient, name: float(patient[name])})
    assert as_float.status_code == 200
    assert as_float.get_json() == client.post("/v1/predict", json=patient).get_json()


def test_field_order_does_not_matter(client, card):
    patient = example_patient(card)
    reversed_patient = dict(reversed(list(patient.items())))
    assert client.post("/v1/predict", json=patient).get_json() == \
        client.post("/v1/predict", json=reversed_patient).get_json()


def test_batch_equals_the_single_answers_in_the_same_order(served_model_dir, card):
    client = create_app({"MODEL_DIR": served_model_dir, "CACHE_SIZE": 0}).test_client()
    group = [example_patient(card, share) for share in (0.9, 0.1, 0.5, 0.3, 0.7)]
    body = client.post("/v1/predict", json={"instances": group}).get_json()
    assert body["model_version"] == card["version"]
    singles = [client.post("/v1/predict", json=patient).get_json() for patient in group]
    assert body["predictions"] == [{k: s[k] for k in ("prediction", "label", "probability")} for s in singles]
    backward = client.post("/v1/predict", json={"instances": group[::-1]}).get_json()["predictions"]
    assert backward == body["predictions"][::-1]


# ------------------------------------------------------------------ Límites exactos (de la ficha)

def test_the_exact_minimum_and_maximum_of_every_feature_are_accepted(client, card):
    refused = []
    for feature in card["features"]:
        for value in (feature["min"], feature["max"]):
            response = client.post("/v1/predict", json={**example_patient(card), feature["name"]: value})
            if response.status_code != 200:
                refused.append((feature["name"], value, response.get_json()["error"]["details"]))
    assert refused == []


def test_one_step_outside_every_range_is_422_naming_only_that_field(client, card):
    wrong = []
    for feature in card["features"]:
        below = nudged(feature["min"], feature, -1)
        if below == 0 and feature["zero_means_missing"]:
            below = -step(feature)  # 0 sería «no medido», que es válido
        for value in (below, nudged(feature["max"], feature)):
            response = client.post("/v1/predict", json={**example_patient(card), feature["name"]: value})
            expected = [{"field": feature["name"], "message": range_message(feature)}]
            details = response.get_json()["error"]["details"] if response.status_code == 422 else None
            if details != expected:
                wrong.append((feature["name"], value, response.status_code, details))
    assert wrong == []


def test_check_value_at_and_beyond_the_limits():
    assert check_value(0, "integer", 0, 20, False) is None
    assert check_value(20, "integer", 0, 20, False) is None
    assert check_value(20.0, "integer", 0, 20, False) is None
    assert check_value(21, "integer", 0, 20, False) == "Debe estar entre 0 y 20."
    assert check_value(-1, "integer", 0, 20, False) == "Debe estar entre 0 y 20."
    assert check_value(2.5, "number", 0.05, 2.5, False) is None
    assert check_value(2.51, "number", 0.05, 2.5, False) == "Debe estar entre 0,05 y 2,5."
    assert check_value(0.04, "number", 0.05, 2.5, False) == "Debe estar entre 0,05 y 2,5."
    assert check_value(0, "number", 40, 400, True) is None
    assert check_value(39.99, "number", 40, 400, True) == "Debe estar entre 40 y 400 (o 0 si no se midió)."
    assert check_value(10**400, "integer", 0, 20, False) == "Debe estar entre 0 y 20."  # sin desbordar
    assert check_value(2.5, "integer", 0, 20, False) == "Debe ser un número entero."
    assert check_value(True, "integer", 0, 20, False) == "Debe ser un número (se recibió un booleano)."
    assert check_value(float("nan"), "number", 0, 1, False) == "Debe ser un número finito (no NaN ni Infinity)."


# ------------------------------------------------------------------ Caché (X-Cache)

def test_a_repeated_patient_is_a_hit_with_the_same_body(client, card):
    patient = example_patient(card)
    first = client.post("/v1/predict", json=patient)
    second = client.post("/v1/predict", json=patient)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.get_json() == second.get_json()


def test_one_small_step_in_one_feature_is_a_miss_with_the_models_answer(served_model_dir, card):
    """La clave es la fila completa y exacta: un paso de 1 (entera) o 0,01 (número) en UNA variable es otro paciente."""
    client = create_app({"MODEL_DIR": served_model_dir, "CACHE_SIZE": 64}).test_client()
    model = load_model(model_dir=served_model_dir)
    base = example_patient(card)
    assert client.post("/v1/predict", json=base).headers["X-Cache"] == "MISS"
    wrong = []
    for feature in card["features"]:
        patient = {**base, feature["name"]: nudged(base[feature["name"]], feature)}
        response = client.post("/v1/predict", json=patient)
        body = {k: v for k, v in response.get_json().items() if k != "model_version"}
        if response.headers["X-Cache"] != "MISS" or body != answer_of(model, card, patient):
            wrong.append((feature["name"], response.headers["X-Cache"], body, answer_of(model, card, patient)))
    assert wrong == []
    assert client.post("/v1/predict", json=base).headers["X-Cache"] == "HIT"


def test_the_key_is_the_validated_values_not_the_json_text(client, card):
    patient = example_patient(card)
    integer = next(f["name"] for f in card["features"] if f["type"] == "integer")
    client.post("/v1/predict", json=patient)
    same_values = {**dict(reversed(list(patient.items()))), integer: float(patient[integer])}
    assert client.post("/v1/predict", json=same_values).headers["X-Cache"] == "HIT"


def cache_stats(app):
    """Los contadores de la caché de esta app (en /metrics están los de todo el servicio)."""
    return app.extensions["diabetes_api"].model.cache.stats()


def test_cache_size_zero_never_hits(served_model_dir, card):
    app = create_app({"MODEL_DIR": served_model_dir, "CACHE_SIZE": 0})
    client = app.test_client()
    answers = [client.post("/v1/predict", json=example_patient(card)) for _ in range(3)]
    assert [a.headers["X-Cache"] for a in answers] == ["MISS"] * 3
    assert len({a.get_data() for a in answers}) == 1
    assert cache_stats(app) == {"hits": 0, "misses": 3, "size": 0, "maxsize": 0}


def test_the_least_recently_used_patient_is_evicted(served_model_dir, card):
    app = create_app({"MODEL_DIR": served_model_dir, "CACHE_SIZE": 2})
    client = app.test_client()
    first, second, third = (example_patient(card, share) for share in (0.2, 0.4, 0.6))
    for patient in (first, second, third):
        client.post("/v1/predict", json=patient)
    assert client.post("/v1/predict", json=third).headers["X-Cache"] == "HIT"
    assert client.post("/v1/predict", json=first).headers["X-Cache"] == "MISS"
    assert cache_stats(app)["size"] == 2


def test_a_batch_uses_and_fills_the_cache(app, client, card):
    group = [example_patient(card, share) for share in (0.2, 0.4, 0.6)]
    client.post("/v1/predict", json=group[0])
    batch = client.post("/v1/predict", json={"instances": group}).get_json()["predictions"]
    stats = cache_stats(app)
    assert (stats["hits"], stats["misses"], stats["size"]) == (1, 3, 3)
    single = client.post("/v1/predict", json=group[2])
    assert single.headers["X-Cache"] == "HIT"
    assert {k: v for k, v in single.get_json().items() if k != "model_version"} == batch[2]


@pytest.mark.parametrize("body", [{"Glucose": "alta"}, {"instances": [{"Glucose": 1}]}])
def test_invalid_requests_do_not_touch_the_cache(app, client, body):
    client.post("/v1/predict", json=body)
    stats = cache_stats(app)
    assert (stats["hits"], stats["misses"], stats["size"]) == (0, 0, 0)
