"""Pruebas del entrenamiento: calidad mínima, reproducibilidad y la CLI en español."""

import subprocess
import sys

import joblib
import numpy as np
import pytest

import train
from support import ROOT


@pytest.fixture(scope="module")
def two_trainings(tmp_path_factory):
    """Entrena dos veces, en carpetas temporales distintas, con la misma semilla."""
    quiet = lambda *_: None  # noqa: E731
    first, second = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    return (first, train.train(output_dir=first, log=quiet)), (second, train.train(output_dir=second, log=quiet))


def test_cross_validated_roc_auc_reaches_the_quality_bar(two_trainings):
    (_, card), _ = two_trainings
    assert card["metrics"]["cv_roc_auc_mean"] >= 0.82
    assert set(card["metrics"]["cv_results"]) >= {"logistic_regression", "random_forest"}


def test_held_out_metrics_are_reported(two_trainings):
    (_, card), _ = two_trainings
    test = card["metrics"]["test"]
    assert 0.5 < test["roc_auc"] <= 1 and 0.5 < test["accuracy"] <= 1 and 0 < test["recall_positive"] <= 1
    assert np.array(test["confusion_matrix"]).sum() == round(0.2 * 768)


def test_two_trainings_give_identical_predictions_and_version(two_trainings):
    (first, card_a), (second, card_b) = two_trainings
    X, _ = train.load_data()
    a = joblib.load(first / "model.joblib").predict_proba(X)
    b = joblib.load(second / "model.joblib").predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert card_a["version"] == card_b["version"]


def test_another_seed_gives_another_version(tmp_path, two_trainings):
    (_, card), _ = two_trainings
    other = train.train(output_dir=tmp_path, seed=7, log=lambda *_: None)
    assert other["version"] != card["version"]


def test_cli_prints_spanish_progress_and_writes_the_model(tmp_path):
    result = subprocess.run([sys.executable, "00_intro/train.py", "--output", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Validación cruzada" in result.stdout and "±" in result.stdout
    assert (tmp_path / "model.joblib").is_file() and (tmp_path / "model.json").is_file()


def test_cli_with_a_missing_data_file_gives_a_spanish_error(tmp_path):
    result = subprocess.run([sys.executable, "00_intro/train.py", "--data", str(tmp_path / "no.csv"),
                             "--output", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no encuentro el archivo de datos" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_with_wrong_columns_gives_a_spanish_error(tmp_path):
    bad = tmp_path / "malo.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "00_intro/train.py", "--data", str(bad), "--output", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "faltan las columnas" in result.stderr and "Traceback" not in result.stderr
