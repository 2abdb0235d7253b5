"""Pruebas de comportamiento del modelo: cambios clínicamente obvios mueven el riesgo en su sentido."""

import joblib
import numpy as np
import pytest


@pytest.fixture(scope="module")
def predict_risk(model_dir, card):
    pipeline = joblib.load(model_dir / "model.joblib")
    names = [feature["name"] for feature in card["features"]]
    base = {"Pregnancies": 2, "Glucose": 120, "BloodPressure": 70, "SkinThickness": 25, "Insulin": 100,
            "BMI": 30, "DiabetesPedigreeFunction": 0.4, "Age": 35}

    def risk(**changes):
        row = np.array([[{**base, **changes}[name] for name in names]], dtype=float)
        return pipeline.predict_proba(row)[0, 1]

    return risk


def test_higher_glucose_does_not_lower_the_risk(predict_risk):
    assert predict_risk(Glucose=190) >= predict_risk(Glucose=90)


def test_higher_bmi_does_not_lower_the_risk(predict_risk):
    assert predict_risk(BMI=40) >= predict_risk(BMI=22)


def test_unmeasured_zero_is_imputed_not_taken_literally(predict_risk):
    # Una glucosa de 0 literal daría un riesgo casi nulo; imputada, queda entre 90 y 190.
    assert predict_risk(Glucose=90) <= predict_risk(Glucose=0) <= predict_risk(Glucose=190)
