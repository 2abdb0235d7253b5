"""Fuzzing con hypothesis: más de 1000 cuerpos generados. Nunca un 5xx; siempre la forma de error.

Se usa el cliente de pruebas de Flask (HTTP en memoria) para que sea rápido.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diabetes_api import create_app

FAST = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}

numbers = (st.integers() | st.integers(min_value=-(10**300), max_value=10**300)
           | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324]))
odd_text = st.text(max_size=50) | st.text(st.characters(codec=None), min_size=200, max_size=400)
scalars = st.none() | st.booleans() | numbers | odd_text
any_json = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(odd_text, inner, max_size=5), max_leaves=20)


@pytest.fixture(scope="module")
def fuzz_client(served_model_dir):
    return create_app({"MODEL_DIR": served_model_dir, "MAX_BATCH": 20, "LOG_LEVEL": "WARNING"}).test_client()


@pytest.fixture(scope="module")
def names(card):
    return [feature["name"] for feature in card["features"]]


def check(response):
    """Nunca un 5xx; un 200 trae una predicción y cualquier otro estado, la forma de error."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    if response.status_code == 200:
        assert "model_version" in body and ("prediction" in body or "predictions" in body)
        return
    assert response.status_code in (400, 413, 422)
    error = body["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert all(set(detail) == {"field", "message"} for detail in error["details"])
    if response.status_code == 422:
        assert error["details"]


def post_json(client, value):
    return client.post("/v1/predict", data=json.dumps(value), content_type="application/json")


@settings(max_examples=400, **FAST)
@given(body=any_json)
def test_any_json_value(fuzz_client, body):
    check(post_json(fuzz_client, body))


@settings(max_examples=400, **FAST)
@given(data=st.data())
def test_patient_shaped_bodies_with_any_values(fuzz_client, names, data):
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True))
    patient = {name: data.draw(scalars | st.lists(scalars, max_size=2)) for name in chosen}
    patient.update(data.draw(st.dictionaries(odd_text, scalars, max_size=2)))
    response = post_json(fuzz_client, patient)
    check(response)
    if response.status_code == 422:
        bad = {detail["field"] for detail in response.get_json()["error"]["details"]}
        assert set(names) - set(chosen) <= bad  # cada campo que falta aparece nombrado


@settings(max_examples=150, **FAST)
@given(instances=st.lists(st.dictionaries(odd_text, scalars, max_size=9), max_size=25) | any_json)
def test_batches(fuzz_client, instances):
    check(post_json(fuzz_client, {"instances": instances}))


@settings(max_examples=250, **FAST)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_raw_bytes(fuzz_client, raw):
    check(fuzz_client.post("/v1/predict", data=raw, content_type="application/json"))


@settings(max_examples=100, **FAST)
@given(depth=st.integers(min_value=1, max_value=50_000), opener=st.sampled_from(["[", '{"a":']))
def test_deep_nesting(fuzz_client, depth, opener):
    closer = "]" if opener == "[" else "}"
    check(fuzz_client.post("/v1/predict", data=opener * depth + "1" + closer * depth, content_type="application/json"))
