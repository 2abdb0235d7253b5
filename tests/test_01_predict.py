"""POST /v1/predict: respuestas correctas, iguales al pipeline y lote = individuales."""

import joblib
import numpy as np
import pytest


def valid_patient(card, **changes):
    """Un paciente válido: el punto medio de cada rango de la ficha."""
    patient = {}
    for feature in card["features"]:
        middle = (feature["min"] + feature["max"]) / 2
        patient[feature["name"]] = round(middle) if feature["type"] == "integer" else middle
    return {**patient, **changes}


def patients(card, count=5):
    """Pacientes distintos y válidos, repartidos por los rangos de la ficha."""
    result = []
    for step in range(count):
        share = (step + 0.5) / count
        patient = {}
        for feature in card["features"]:
            value = feature["min"] + share * (feature["max"] - feature["min"])
            patient[feature["name"]] = round(value) if feature["type"] == "integer" else value
        result.append(patient)
    return result


def direct_probability(model_dir, card, patient):
    pipeline = joblib.load(model_dir / "model.joblib")
    row = np.array([[patient[f["name"]] for f in card["features"]]], dtype=float)
    return float(pipeline.predict_proba(row)[0, list(pipeline.classes_).index(1)])


def test_one_patient_answers_with_the_contract(client, card):
    response = client.post("/v1/predict", json=valid_patient(card))
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["prediction", "label", "probability", "model_version"]
    assert body["prediction"] in (0, 1)
    assert body["label"] == {c["value"]: c["label"] for c in card["classes"]}[body["prediction"]]
    assert 0.0 <= body["probability"] <= 1.0
    assert body["model_version"] == card["version"]
    assert response.headers["X-Model-Version"] == card["version"]
    assert response.headers["X-Cache"] == "MISS"


@pytest.mark.parametrize("index", range(5))
def test_answer_equals_the_pipeline_called_directly(client, card, model_dir, index):
    patient = patients(card)[index]
    body = client.post("/v1/predict", json=patient).get_json()
    expected = direct_probability(model_dir, card, patient)
    assert body["probability"] == round(expected, 6)
    assert body["prediction"] == int(expected >= card["threshold"])


def test_zero_means_missing_is_accepted(client, card):
    zeros = {f["name"]: 0 for f in card["features"] if f["zero_means_missing"]}
    assert zeros, "la ficha debería tener alguna variable con 0 = «no medido»"
    response = client.post("/v1/predict", json=valid_patient(card, **zeros))
    assert response.status_code == 200


def test_integer_feature_accepts_integral_float(client, card):
    name = next(f["name"] for f in card["features"] if f["type"] == "integer")
    patient = valid_patient(card)
    as_float = client.post("/v1/predict", json={**patient, name: float(patient[name])})
    assert as_float.status_code == 200
    assert as_float.get_json()["probability"] == client.post("/v1/predict", json=patient).get_json()["probability"]


def test_field_order_does_not_matter(client, card):
    patient = valid_patient(card)
    reversed_patient = dict(reversed(list(patient.items())))
    first = client.post("/v1/predict", json=patient).get_json()
    second = client.post("/v1/predict", json=reversed_patient).get_json()
    assert first == second


def test_batch_equals_the_single_answers(model_dir, card):
    from diabetes_api import create_app

    client = create_app({"MODEL_DIR": model_dir, "CACHE_SIZE": 0}).test_client()
    group = patients(card, count=7)
    batch = client.post("/v1/predict", json={"instances": group})
    assert batch.status_code == 200
    body = batch.get_json()
    assert body["model_version"] == card["version"]
    singles = [client.post("/v1/predict", json=p).get_json() for p in group]
    assert body["predictions"] == [{k: s[k] for k in ("prediction", "label", "probability")} for s in singles]


def test_batch_keeps_the_order(client, card):
    group = patients(card, count=4)
    forward = client.post("/v1/predict", json={"instances": group}).get_json()["predictions"]
    backward = client.post("/v1/predict", json={"instances": group[::-1]}).get_json()["predictions"]
    assert forward == backward[::-1]
