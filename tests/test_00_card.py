"""Pruebas de la ficha del modelo: completa y coherente con el archivo, el pipeline y los datos."""

import csv
import hashlib

import joblib
import sklearn

import features
from support import ROOT

REQUIRED = {"version", "created_at", "environment", "data", "model_file", "estimator", "metrics",
            "classes", "features", "threshold"}
FEATURE_KEYS = {"name", "label", "unit", "description", "type", "min", "max", "zero_means_missing"}


def test_card_has_every_section(card):
    assert REQUIRED <= set(card)
    assert set(card["environment"]) == {"python", "scikit_learn", "numpy", "joblib"}
    assert card["environment"]["scikit_learn"] == sklearn.__version__
    assert {c["value"] for c in card["classes"]} == {0, 1} and all(c["label"] for c in card["classes"])


def test_every_feature_is_fully_described(card):
    for feature in card["features"]:
        assert FEATURE_KEYS <= set(feature), feature["name"]
        assert feature["type"] in {"integer", "number"} and feature["min"] < feature["max"]


def test_sha256_of_model_and_data_match_the_files(card, model_dir):
    model_bytes = (model_dir / card["model_file"]["name"]).read_bytes()
    assert hashlib.sha256(model_bytes).hexdigest() == card["model_file"]["sha256"]
    data_bytes = (ROOT / "00_intro" / "data" / card["data"]["file"]).read_bytes()
    assert hashlib.sha256(data_bytes).hexdigest() == card["data"]["sha256"]


def test_features_are_in_the_pipelines_input_order(card, model_dir):
    pipeline = joblib.load(model_dir / "model.joblib")
    names = [feature["name"] for feature in card["features"]]
    assert names == features.FEATURE_NAMES
    assert pipeline.n_features_in_ == len(names)
    imputed = pipeline.named_steps["imputar"].transformers_[0][2]
    assert [names[i] for i in imputed] == [f["name"] for f in card["features"] if f["zero_means_missing"]]


def test_every_measured_value_in_the_data_lies_inside_its_range(card):
    rows = list(csv.DictReader((ROOT / "00_intro" / "data" / "diabetes.csv").open(encoding="utf-8")))
    for feature in card["features"]:
        values = [float(row[feature["name"]]) for row in rows]
        measured = [v for v in values if not (feature["zero_means_missing"] and v == 0)]
        assert feature["min"] <= min(measured) and max(measured) <= feature["max"], feature["name"]
        if feature["type"] == "integer":
            assert all(v.is_integer() for v in values), feature["name"]
