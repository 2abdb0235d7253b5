"""Pruebas de comportamiento del modelo publicado: cambios clínicamente obvios mueven el riesgo en su sentido,
igual con el pipeline de scikit-learn (joblib) que con el grafo ONNX (lo que sirve la API)."""

import joblib
import numpy as np
import onnxruntime
import pytest

BASE = {"Pregnancies": 2, "Glucose": 120, "BloodPressure": 70, "SkinThickness": 25, "Insulin": 100,
        "BMI": 30, "DiabetesPedigreeFunction": 0.4, "Age": 35}


@pytest.fixture(scope="module", params=["joblib", "onnx"])
def predict_risk(request, model_dir, card):
    names = [feature["name"] for feature in card["features"]]
    if request.param == "joblib":
        pipeline = joblib.load(model_dir / "model.joblib")
        positive = lambda row: pipeline.predict_proba(row)[0, 1]  # noqa: E731
    else:
        session = onnxruntime.InferenceSession(model_dir / "model.onnx", providers=["CPUExecutionProvider"])
        positive = lambda row: session.run(["probabilities"], {"X": row.astype(np.float32)})[0][0, 1]  # noqa: E731

    def risk(**changes):
        return positive(np.array([[{**BASE, **changes}[name] for name in names]], dtype=float))

    return risk


def test_higher_glucose_does_not_lower_the_risk(predict_risk):
    assert predict_risk(Glucose=190) >= predict_risk(Glucose=90)


def test_higher_bmi_does_not_lower_the_risk(predict_risk):
    assert predict_risk(BMI=40) >= predict_risk(BMI=22)


def test_unmeasured_zero_is_imputed_not_taken_literally(predict_risk):
    # Una glucosa de 0 literal daría un riesgo casi nulo; imputada, queda entre 90 y 190.
    assert predict_risk(Glucose=90) <= predict_risk(Glucose=0) <= predict_risk(Glucose=190)
