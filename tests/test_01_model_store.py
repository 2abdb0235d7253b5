"""El modelo se comprueba ANTES de cargarlo: si no es el de la ficha, la API no arranca (mensaje en español)."""

import json
import shutil

import pytest

from diabetes_api import create_app
from diabetes_api.model_store import ModelLoadError


@pytest.fixture()
def model_copy(model_dir, tmp_path):
    """Una copia de la carpeta del modelo que la prueba puede estropear (el original no se toca)."""
    return shutil.copytree(model_dir, tmp_path / "modelo")


def edit_card(folder, change):
    path = folder / "model.json"
    card = json.loads(path.read_text(encoding="utf-8"))
    change(card)
    path.write_text(json.dumps(card), encoding="utf-8")


def test_the_untouched_copy_loads(model_copy):
    assert create_app({"MODEL_DIR": model_copy}).test_client().get("/v1/model").status_code == 200


def test_tampered_model_file_refuses_to_start(model_copy):
    with open(model_copy / "model.joblib", "ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(ModelLoadError) as refused:
        create_app({"MODEL_DIR": model_copy})
    message = str(refused.value)
    assert "no coincide con su ficha" in message and "make clean model" in message


def test_other_scikit_learn_version_refuses_to_start(model_copy):
    edit_card(model_copy, lambda card: card["environment"].update(scikit_learn="0.24.2"))
    with pytest.raises(ModelLoadError) as refused:
        create_app({"MODEL_DIR": model_copy})
    message = str(refused.value)
    assert "scikit-learn 0.24.2" in message and "make model" in message


def test_missing_model_refuses_to_start(model_copy):
    (model_copy / "model.joblib").unlink()
    with pytest.raises(ModelLoadError, match="make model"):
        create_app({"MODEL_DIR": model_copy})


def test_missing_card_refuses_to_start(tmp_path):
    with pytest.raises(ModelLoadError, match="No encuentro la ficha"):
        create_app({"MODEL_DIR": tmp_path})


def test_broken_card_refuses_to_start(model_copy):
    (model_copy / "model.json").write_text("{no es json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="make clean model"):
        create_app({"MODEL_DIR": model_copy})


def test_card_cannot_point_outside_its_folder(model_copy, tmp_path):
    edit_card(model_copy, lambda card: card["model_file"].update(name="../otro/model.joblib"))
    app = create_app({"MODEL_DIR": model_copy})  # se usa solo el nombre: carga model_copy/model.joblib
    assert app.extensions["diabetes_api"].model.version


def test_bad_setting_refuses_to_start(monkeypatch, model_dir):
    from diabetes_api.settings import SettingsError

    monkeypatch.setenv("CACHE_SIZE", "mucho")
    with pytest.raises(SettingsError, match="CACHE_SIZE"):
        create_app({"MODEL_DIR": model_dir})
