"""Fixtures comunes: el modelo entrenado y su ficha."""

import json
import sys

import pytest

from support import ROOT, SHARED

MODEL_DIR = ROOT / SHARED["MODEL_DIR"]


@pytest.fixture(scope="session")
def model_dir():
    """La carpeta del modelo del taller; lo entrena si falta (como `make model`)."""
    if not (MODEL_DIR / "model.json").is_file():
        sys.path.insert(0, str(ROOT / "00_intro"))
        import train

        train.train(output_dir=MODEL_DIR, log=lambda *_: None)
    return MODEL_DIR


@pytest.fixture(scope="session")
def card(model_dir):
    """La ficha del modelo (`model.json`) como diccionario."""
    return json.loads((model_dir / "model.json").read_text(encoding="utf-8"))


@pytest.fixture()
def app(model_dir):
    """La aplicación Flask de la etapa 01 con el modelo del taller (como en el tutorial de Flask)."""
    from diabetes_api import create_app

    return create_app({"MODEL_DIR": model_dir, "TESTING": True})


@pytest.fixture()
def client(app):
    """Cliente HTTP de pruebas de Flask: peticiones reales a la app, sin abrir un puerto."""
    return app.test_client()
