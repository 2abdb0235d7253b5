"""Pruebas de la ficha del modelo publicado: completa y coherente con sus archivos, el pipeline y los datos,
y con una paridad ONNX / scikit-learn que no solo está escrita: se vuelve a comprobar aquí."""

import csv
import hashlib

import joblib
import numpy as np
import onnx
import onnxruntime
import sklearn

from diabetes_model import features, train
from support import ROOT

REQUIRED = {"card_schema_version", "version", "created_at", "environment", "data", "model_file", "artifacts",
            "parity", "estimator", "metrics", "classes", "features", "threshold"}
FEATURE_KEYS = {"name", "label", "unit", "description", "type", "min", "max", "zero_means_missing"}
VERSION_FILES = {"model.json", "model.onnx", "model.joblib", "metrics.json"}


def test_card_has_every_section(card, model_dir):
    assert REQUIRED <= set(card)
    assert card["card_schema_version"] == 3
    assert card["version"] == model_dir.name
    assert {path.name for path in model_dir.iterdir()} == VERSION_FILES
    assert {"python", "scikit_learn", "numpy", "joblib", "skl2onnx", "onnx"} <= set(card["environment"])
    assert card["environment"]["scikit_learn"] == sklearn.__version__
    assert {c["value"] for c in card["classes"]} == {0, 1} and all(c["label"] for c in card["classes"])


def test_every_feature_is_fully_described(card):
    for feature in card["features"]:
        assert FEATURE_KEYS <= set(feature), feature["name"]
        assert feature["type"] in {"integer", "number"} and feature["min"] < feature["max"]


def test_artifacts_describe_both_files_with_their_sha256(card, model_dir):
    onnx_info, joblib_info = card["artifacts"]["onnx"], card["artifacts"]["joblib"]
    assert set(onnx_info) == {"file", "sha256", "opset", "onnxruntime"}
    assert set(joblib_info) == {"file", "sha256", "scikit_learn"}
    for info in (onnx_info, joblib_info):
        assert hashlib.sha256((model_dir / info["file"]).read_bytes()).hexdigest() == info["sha256"]
    assert card["model_file"] == {"name": joblib_info["file"], "sha256": joblib_info["sha256"]}
    assert onnx_info["onnxruntime"] == onnxruntime.__version__ and joblib_info["scikit_learn"] == sklearn.__version__
    graph = onnx.load(model_dir / onnx_info["file"])
    assert {item.domain: item.version for item in graph.opset_import}[""] == onnx_info["opset"]
    data_bytes = (ROOT / "00_intro" / "data" / card["data"]["file"]).read_bytes()
    assert hashlib.sha256(data_bytes).hexdigest() == card["data"]["sha256"]


def test_parity_is_recorded_and_holds_when_checked_again(card, model_dir):
    parity = card["parity"]
    assert parity["rows"] >= 768 + 100_000 and parity["tolerance"] == 1e-6
    assert parity["max_abs_diff"] <= parity["tolerance"] and parity["decision_flips"] == 0
    # Se comprueba de nuevo, con otras filas aleatorias (otra semilla), sobre los archivos publicados.
    X, _ = train.load_data()
    rows = train.parity_rows(X, seed=2024, size=20_000)
    pipeline = joblib.load(model_dir / "model.joblib")
    session = onnxruntime.InferenceSession(model_dir / "model.onnx", providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    label, probabilities = session.run(None, {session.get_inputs()[0].name: rows.astype(np.float32)})
    expected = pipeline.predict_proba(rows)[:, 1]
    assert probabilities.shape == (len(rows), 2)
    assert np.max(np.abs(probabilities[:, 1] - expected)) <= parity["tolerance"]
    assert np.array_equal(probabilities[:, 1] >= card["threshold"], expected >= card["threshold"])
    assert np.array_equal(label, pipeline.predict(rows))


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
