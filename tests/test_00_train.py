"""Pruebas del entrenamiento: calidad mínima, reproducibilidad, exportación a ONNX con su paridad, versiones
inmutables (la misma receta no se reescribe, un experimento no se publica) y la CLI en español."""

import json
import subprocess
import sys

import joblib
import numpy as np
import pytest

from diabetes_model import train
from support import ROOT

QUIET = lambda *_: None  # noqa: E731
VERSION_FILES = {"model.json", "model.onnx", "model.joblib", "metrics.json"}


def run_cli(*args, timeout=180):
    """La CLI de entrenamiento como la escribe una persona (y `make model`): python -m diabetes_model.train."""
    return subprocess.run([sys.executable, "-m", "diabetes_model.train", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def entries(root):
    """Lo que hay en root/versions (sin el archivo del cerrojo)."""
    folder = root / "versions"
    return sorted(path.name for path in folder.iterdir() if path.name != ".lock") if folder.exists() else []


def snapshot(folder):
    """Inodo y fecha de modificación (ns) de una carpeta y de cada archivo: si algo se reescribe, cambian."""
    return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in [folder, *folder.iterdir()]}


@pytest.fixture(scope="module")
def two_trainings(tmp_path_factory):
    """Entrena dos veces la receta de referencia, en carpetas del modelo distintas, sin publicar."""
    first, second = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    return (first, train.train(output_dir=first, log=QUIET)), (second, train.train(output_dir=second, log=QUIET))


def test_cross_validated_roc_auc_reaches_the_quality_bar(two_trainings):
    (_, card), _ = two_trainings
    assert card["metrics"]["cv_roc_auc_mean"] >= 0.82
    assert set(card["metrics"]["cv_results"]) >= {"logistic_regression", "random_forest"}


def test_held_out_metrics_are_reported(two_trainings):
    (_, card), _ = two_trainings
    test = card["metrics"]["test"]
    assert 0.5 < test["roc_auc"] <= 1 and 0.5 < test["accuracy"] <= 1 and 0 < test["recall_positive"] <= 1
    assert np.array(test["confusion_matrix"]).sum() == round(0.2 * 768)


def test_a_training_writes_one_unpublished_version_folder(two_trainings):
    (root, card), _ = two_trainings
    folder = root / "versions" / card["version"]
    assert {path.name for path in folder.iterdir()} == VERSION_FILES
    assert not (root / "live.json").exists(), "sin --publish no se publica nada"
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["version"] == card["version"] and metrics["metrics"] == card["metrics"]
    assert metrics["parity"] == card["parity"] and metrics["training_seconds"] > 0


def test_two_trainings_give_identical_files_predictions_and_version(two_trainings):
    (first, card_a), (second, card_b) = two_trainings
    assert card_a["version"] == card_b["version"]
    assert card_a["artifacts"] == card_b["artifacts"], "la misma receta debe dar los mismos bytes (ONNX y joblib)"
    X, _ = train.load_data()
    a = joblib.load(first / "versions" / card_a["version"] / "model.joblib").predict_proba(X)
    b = joblib.load(second / "versions" / card_b["version"] / "model.joblib").predict_proba(X)
    np.testing.assert_array_equal(a, b)


def perturbed_coefficient(model):
    """El grafo con el primer coeficiente de la clase 1 retocado en 1e-3."""
    node = next(node for node in model.graph.node if node.op_type == "LinearClassifier")
    coefficients = next(attribute for attribute in node.attribute if attribute.name == "coefficients").floats
    coefficients[len(coefficients) // 2] += 1e-3
    return model


def unconvertible(model):
    raise RuntimeError("Unsupported proposed value '0'. You may raise an issue at https://github.com/onnx/sklearn-onnx.")


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "message"), [
    (perturbed_coefficient, "no reproduce el modelo de scikit-learn"),
    (unconvertible, "skl2onnx no sabe convertir el pipeline a ONNX"),
])
def test_a_broken_onnx_export_stops_the_training_in_spanish(tmp_path, monkeypatch, capsys, fault, message):
    """Fallo plantado en la exportación: la paridad (o la conversión) lo detecta y no se escribe ninguna
    versión, ni carpetas temporales a medias."""
    export = train.export_onnx
    monkeypatch.setattr(train, "export_onnx", lambda pipeline: fault(export(pipeline)))
    assert train.main(["--output", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1
    assert "Traceback" not in error
    assert entries(tmp_path) == []


@pytest.mark.slow
def test_cli_as_a_file_trains_publishes_and_says_so(tmp_path):
    result = run_cli("--output", str(tmp_path), "--publish")
    assert result.returncode == 0, result.stderr
    assert "Validación cruzada" in result.stdout and "±" in result.stdout and "0,8" in result.stdout
    assert "Publicada la versión" in result.stdout
    pointer = json.loads((tmp_path / "live.json").read_text(encoding="utf-8"))
    assert set(pointer) == {"version", "previous", "published_at"} and pointer["previous"] is None
    assert {path.name for path in (tmp_path / "versions" / pointer["version"]).iterdir()} == VERSION_FILES


@pytest.mark.slow
def test_retraining_the_same_recipe_reuses_its_folder_without_touching_it(two_trainings):
    (root, card), _ = two_trainings
    folder = root / "versions" / card["version"]
    before = snapshot(folder)
    result = run_cli("--output", str(root))
    assert result.returncode == 0, result.stderr
    assert "se reutiliza" in result.stdout and card["version"] in result.stdout
    assert snapshot(folder) == before
    assert entries(root) == [card["version"]]


@pytest.mark.slow
def test_an_experiment_is_another_version_and_is_not_published(tmp_path):
    train.train(output_dir=tmp_path, publish=True, log=QUIET)
    pointer = (tmp_path / "live.json").read_bytes()
    result = run_cli("--output", str(tmp_path), "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "live.json").read_bytes() == pointer, "un experimento sin --publish no cambia live.json"
    live = json.loads(pointer)["version"]
    experiments = [name for name in entries(tmp_path) if name != live]
    assert len(experiments) == 1 and experiments[0] != live
    assert "SIN publicar" in result.stdout and f"publish {experiments[0]}" in result.stdout
    assert "rollback" in result.stdout and "--publish" in result.stdout  # cómo volver a la de referencia
    # La semilla 7 elige el bosque aleatorio: la misma comprobación de paridad vale para los árboles.
    card = json.loads((tmp_path / "versions" / experiments[0] / "model.json").read_text(encoding="utf-8"))
    assert card["estimator"]["name"] == "random_forest"
    assert card["parity"]["max_abs_diff"] <= card["parity"]["tolerance"] and card["parity"]["decision_flips"] == 0


@pytest.mark.slow
def test_training_prunes_old_versions_but_never_the_published_one(tmp_path):
    live = train.train(output_dir=tmp_path, publish=True, log=QUIET)["version"]
    newest = [train.train(output_dir=tmp_path, seed=seed, keep=1, log=QUIET)["version"] for seed in (1, 2)]
    assert entries(tmp_path) == sorted([live, newest[-1]]), "se conserva la más reciente y la publicada"


@pytest.mark.slow
def test_cli_with_a_missing_data_file_gives_a_spanish_error(tmp_path):
    result = run_cli("--data", str(tmp_path / "no.csv"), "--output", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "no encuentro el archivo de datos" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_with_wrong_columns_gives_a_spanish_error(tmp_path):
    bad = tmp_path / "malo.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = run_cli("--data", str(bad), "--output", str(tmp_path), timeout=60)
    assert result.returncode == 1
    assert "faltan las columnas" in result.stderr and "Traceback" not in result.stderr
    assert entries(tmp_path) == []
