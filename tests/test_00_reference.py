"""Pruebas de la referencia de la ficha (card["reference"]): sale de las filas del entrenamiento, sus tramos
son los de `reference.bin_of` y una ficha sin referencia (las versiones antiguas) se sigue cargando."""

import json
import shutil

import numpy as np
import pytest

from diabetes_model import reference, store, train

QUANTILE_KEYS = ["p05", "p25", "p50", "p75", "p95"]


@pytest.fixture(scope="module")
def training_rows(card):
    """Las filas del entrenamiento de la versión publicada: la misma partición (semilla de la ficha)."""
    X, y = train.load_data()
    X_train, _, _, _ = train.split_data(X, y, card["estimator"]["seed"])
    return X_train


def test_reference_describes_the_training_rows_of_every_feature(card, training_rows):
    ref = card["reference"]
    assert ref["source"] == "datos de entrenamiento" and ref["rows"] == len(training_rows) < card["data"]["rows"]
    assert list(ref["features"]) == [feature["name"] for feature in card["features"]]
    for feature in card["features"]:
        entry = ref["features"][feature["name"]]
        assert entry["zero_bin"] is feature["zero_means_missing"]
        assert entry["edges"] == sorted(set(entry["edges"])) and len(entry["edges"]) >= 1
        quantiles = [entry["quantiles"][key] for key in QUANTILE_KEYS]
        assert quantiles == sorted(quantiles), feature["name"]


def test_shares_sum_to_one_and_follow_the_bin_labels(card):
    described = [*card["reference"]["features"].values(), card["reference"]["risk"]]
    for entry in described:
        assert len(entry["shares"]) == len(reference.bin_labels(entry["edges"], entry.get("zero_bin", False)))
        assert sum(entry["shares"]) == pytest.approx(1.0, abs=1e-4)
        assert all(0 <= share <= 1 for share in entry["shares"])


def test_shares_are_the_training_rows_counted_with_bin_of(card, training_rows):
    """Cuenta de nuevo, fila a fila con `bin_of`: la ficha y la API usan los mismos tramos."""
    for column, feature in enumerate(card["features"]):
        entry = card["reference"]["features"][feature["name"]]
        labels = reference.bin_labels(entry["edges"], entry["zero_bin"])
        bins = [reference.bin_of(entry["edges"], float(value), entry["zero_bin"]) for value in training_rows[:, column]]
        counted = [bins.count(label) / len(bins) for label in labels]
        assert counted == pytest.approx(entry["shares"], abs=1e-6), feature["name"]
        assert entry["zero_share"] == pytest.approx(float(np.mean(training_rows[:, column] == 0)), abs=1e-6)


def test_edges_are_deciles_of_the_measured_values_only(card, training_rows):
    """Donde 0 es «no medido», los ceros tienen su tramo y no mueven los cortes ni los cuantiles."""
    for column, feature in enumerate(card["features"]):
        entry = card["reference"]["features"][feature["name"]]
        values = training_rows[:, column]
        measured = values[values != 0] if feature["zero_means_missing"] else values
        deciles = sorted({round(float(cut), 4) for cut in np.quantile(measured, [i / 10 for i in range(1, 10)])})
        assert entry["edges"] == deciles, feature["name"]
        assert entry["quantiles"]["p50"] == pytest.approx(float(np.median(measured)), abs=1e-4)
        if feature["zero_means_missing"] and entry["zero_share"] > 0:
            assert entry["shares"][0] == pytest.approx(entry["zero_share"], abs=1e-6)


def test_risk_reference_is_the_served_model_on_the_training_rows(card, model_dir, training_rows):
    import joblib

    pipeline = joblib.load(model_dir / "model.joblib")
    proba = pipeline.predict_proba(training_rows)[:, 1]
    risk = card["reference"]["risk"]
    bins = [reference.bin_of(risk["edges"], float(p)) for p in proba]
    assert [bins.count(label) / len(bins) for label in reference.bin_labels(risk["edges"])] == \
        pytest.approx(risk["shares"], abs=1e-6)
    assert risk["positive_share"] == pytest.approx(float(np.mean(proba >= card["threshold"])), abs=1e-6)


def test_build_reference_refuses_a_column_without_measured_values():
    features = [{"name": "Glucose", "zero_means_missing": True}]
    with pytest.raises(ValueError, match="No hay valores medidos"):
        reference.build_reference(np.zeros((5, 1)), np.full(5, 0.3), features)


def test_a_card_without_reference_still_loads(model_dir, tmp_path):
    folder = tmp_path / model_dir.name
    shutil.copytree(model_dir, folder)
    path = folder / "model.json"
    path.chmod(0o644)
    card = json.loads(path.read_text(encoding="utf-8"))
    del card["reference"]
    card["card_schema_version"] = 2
    path.write_text(json.dumps(card), encoding="utf-8")
    loaded = store.read_card(folder)
    assert "reference" not in loaded and loaded["version"] == model_dir.name


def test_build_reference_gives_again_what_the_card_says(card, model_dir, training_rows):
    """La función que usa el entrenamiento, llamada otra vez con las mismas filas, da la misma referencia."""
    import joblib

    proba = joblib.load(model_dir / "model.joblib").predict_proba(training_rows)[:, 1]
    assert reference.build_reference(training_rows, proba, card["features"], card["threshold"]) == card["reference"]
