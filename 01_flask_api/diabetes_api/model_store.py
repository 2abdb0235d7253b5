"""Carga el modelo una sola vez, al arrancar, y solo si es el archivo que describe su ficha.

Un archivo `.joblib` es un *pickle*: al cargarlo, Python ejecuta el código que contenga.
Por eso, ANTES de cargarlo se comprueba que su sha256 coincide con el de la ficha
(`model.json`) y que la versión de scikit-learn instalada es la del entrenamiento.
"""

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from .settings import StartupError

REQUIRED_CARD_KEYS = ("version", "environment", "model_file", "threshold", "classes", "features")


class ModelLoadError(StartupError):
    """El modelo no se puede cargar con garantías: la API se niega a arrancar."""


@dataclass(frozen=True)
class LoadedModel:
    pipeline: object
    card: dict
    version: str
    threshold: float
    labels: dict  # valor de la clase (0/1) → etiqueta en español


def file_sha256(path):
    """sha256 de un archivo, leído por bloques (hashlib.file_digest, Python 3.11)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_card(model_dir):
    """Lee y comprueba la ficha del modelo; cualquier problema es un ModelLoadError en español."""
    card_path = Path(model_dir) / "model.json"
    if not card_path.is_file():
        raise ModelLoadError(f"No encuentro la ficha del modelo en {card_path}. Entrena el modelo con `make model`.")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"La ficha {card_path} no se puede leer ({error}). "
                             "Vuelve a entrenar con `make clean model`.") from None
    missing = [key for key in REQUIRED_CARD_KEYS if not isinstance(card, dict) or key not in card]
    if missing:
        raise ModelLoadError(f"A la ficha {card_path} le faltan campos ({', '.join(missing)}). "
                             "Vuelve a entrenar con `make clean model`.")
    return card


def check_model_file(model_path, card):
    """Comprueba huella y versión de scikit-learn sin abrir el pickle."""
    if not model_path.is_file():
        raise ModelLoadError(f"No encuentro el modelo {model_path}. Entrena el modelo con `make model`.")
    # La versión instalada se lee de los metadatos, sin importar scikit-learn: el maestro de
    # gunicorn hace esta comprobación y no debe cargar librerías que luego heredarían los workers.
    installed_sklearn = version("scikit-learn")
    expected_sklearn = card["environment"].get("scikit_learn")
    if expected_sklearn != installed_sklearn:
        raise ModelLoadError(
            f"El modelo se entrenó con scikit-learn {expected_sklearn}, pero está instalado "
            f"scikit-learn {installed_sklearn}. Un modelo solo es fiable con la versión con la que se "
            "entrenó: vuelve a entrenarlo con `make model` (o instala la versión de la ficha).")
    expected_sha = card["model_file"].get("sha256")
    actual_sha = file_sha256(model_path)
    if actual_sha != expected_sha:
        raise ModelLoadError(
            f"El archivo {model_path} no coincide con su ficha (sha256 esperado {expected_sha}, "
            f"obtenido {actual_sha}): está dañado o alguien lo ha cambiado. No se carga, porque un "
            "archivo joblib es un pickle y cargarlo ejecuta código. Vuelve a entrenar con `make clean model`.")


def verify_model_dir(model_dir):
    """Ficha y archivo comprobados, SIN deserializar nada. Devuelve (ficha, ruta del modelo)."""
    card = read_card(model_dir)
    # Solo el nombre del archivo: la ficha no puede apuntar fuera de la carpeta del modelo.
    model_path = Path(model_dir) / Path(str(card["model_file"].get("name", "model.joblib"))).name
    check_model_file(model_path, card)
    return card, model_path


def load_model(model_dir):
    """Devuelve el modelo listo para predecir, o lanza ModelLoadError con qué hacer."""
    import joblib  # solo al cargar: el healthcheck importa el paquete y no lo necesita

    card, model_path = verify_model_dir(model_dir)
    try:
        pipeline = joblib.load(model_path)
    except Exception as error:  # cualquier fallo al deserializar es el mismo problema
        raise ModelLoadError(f"No se pudo cargar {model_path} ({type(error).__name__}: {error}). "
                             "Vuelve a entrenar con `make clean model`.") from None
    labels = {int(item["value"]): item["label"] for item in card["classes"]}
    return LoadedModel(pipeline=pipeline, card=card, version=card["version"],
                       threshold=float(card["threshold"]), labels=labels)
