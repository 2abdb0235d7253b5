"""El almacén de versiones del modelo en disco: lo escribe el entrenamiento (etapa 00) y lo leen la API (01),
el maestro de gunicorn (02), Lightsail (03) y los esquemas (04):

    MODEL_DIR/live.json                 puntero a la versión publicada: {"version": "v-…", "previous": …}
    MODEL_DIR/versions/<versión>/       inmutable: model.json (ficha), model.onnx, model.joblib, metrics.json

`read_pointer` es la ÚNICA función que lee qué versión está publicada (y `live_version_dir`, su carpeta
comprobada); cualquier problema es un `ModelError` con una frase en español. `verify_version` comprueba
una versión antes de servirla: su ficha, la huella sha256 del artefacto, que la versión del motor
instalado es la del entrenamiento y una predicción de prueba. Devuelve los bytes exactos que comprobó:
quien sirve no vuelve a leer el disco. Sin Flask, pandas ni scikit-learn (ver `engines`).
Publicar, volver atrás y podar están en `versions` (la línea de órdenes del mantenedor).
"""

import hashlib
import json
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from workshop.environment import StartupError, shared_path

from .engines import ENGINES
from .patients import example_row

# La disposición de MODEL_DIR, definida solo aquí.
POINTER = "live.json"
VERSIONS = "versions"
CARD = "model.json"
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # con fullmatch: entera
KEEP_VERSIONS = 5  # versiones que se conservan en MODEL_DIR/versions (más la viva y la anterior)
REQUIRED_CARD_KEYS = ("version", "threshold", "classes", "features", "artifacts")
# Motor → (clave del artefacto en la ficha, clave de la versión del motor, paquete instalado).
RUNTIMES = {"onnx": ("onnx", "onnxruntime", "onnxruntime"),
            "sklearn": ("joblib", "scikit_learn", "scikit-learn")}


def default_model_dir():
    """La carpeta del modelo servido (MODEL_DIR de `workshop.env` o del entorno): live.json y versions/."""
    return shared_path("MODEL_DIR")


class ModelError(StartupError):
    """La versión no se puede servir con garantías; el mensaje dice en español qué hacer."""


@dataclass(frozen=True)
class VerifiedModel:
    """Una versión comprobada: su ficha y los bytes exactos del artefacto que se comprobaron."""

    card: dict
    runtime: str
    payload: bytes
    folder: Path

    @property
    def version(self):
        return self.card["version"]


# ------------------------------------------------------------------ Versiones en disco

def read_pointer(model_dir=None):
    """El puntero live.json de `model_dir` (por defecto MODEL_DIR) como diccionario, o None si aún no se ha
    publicado nada. Es la única lectura de «qué versión está publicada»; dañado → ModelError."""
    pointer = Path(model_dir or default_model_dir()) / POINTER
    if not pointer.is_file():
        return None
    try:
        data = json.loads(pointer.read_text(encoding="utf-8"))
        name = data["version"]
    except (OSError, ValueError, TypeError, KeyError):
        name = None
    if not isinstance(name, str) or not VERSION_PATTERN.fullmatch(name):
        raise ModelError(f"El puntero {pointer} está dañado. Vuelve a una versión buena con `make rollback` "
                         "o publica la de referencia con `make model`.")
    return data


def live_version_dir(model_dir=None):
    """La carpeta de la versión publicada: la que nombra el puntero live.json de `model_dir` (MODEL_DIR)."""
    model_dir = Path(model_dir) if model_dir else default_model_dir()
    data = read_pointer(model_dir)
    if data is None:
        raise ModelError(f"No hay ninguna versión del modelo publicada en {model_dir}. "
                         "Entrena y publica la de referencia con `make model`.")
    name, pointer = data["version"], model_dir / POINTER
    folder = model_dir / VERSIONS / name
    if folder.is_symlink() or not folder.resolve().is_relative_to((model_dir / VERSIONS).resolve()):
        raise ModelError(f"{pointer} apunta a {folder}, que es un enlace o está fuera de {folder.parent}: "
                         "no se sirve. Vuelve a una versión buena con `make rollback`.")
    if not folder.is_dir():
        raise ModelError(f"{pointer} apunta a la versión {name}, que no está en {folder.parent}. "
                         "Vuelve a la anterior con `make rollback`.")
    return folder


def read_card(folder):
    """La ficha de una versión, comprobada; cualquier problema es un ModelError en español."""
    path = Path(folder) / CARD
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"Falta la ficha {path}: la versión está incompleta. "
                         "Vuelve a una versión buena con `make rollback`.") from None
    except (OSError, ValueError) as error:
        raise ModelError(f"La ficha {path} no se puede leer ({type(error).__name__}). "
                         "Vuelve a una versión buena con `make rollback`.") from None
    missing = [key for key in REQUIRED_CARD_KEYS if not isinstance(card, dict) or key not in card]
    problem = (f"le faltan campos ({', '.join(missing)})" if missing
               else _feature_problem(card["features"]) or _class_problem(card["classes"]))
    if problem:
        raise ModelError(f"La ficha {path} no sirve: {problem}. "
                         "Vuelve a entrenar con `make model` o vuelve atrás con `make rollback`.")
    return card


def _feature_problem(features):
    """Qué le falta a la lista de variables para que la API pueda validar con ella (o None)."""
    if not isinstance(features, list) or not features:
        return "la lista de variables está vacía"
    for feature in features:
        ok = (isinstance(feature, dict) and isinstance(feature.get("name"), str)
              and feature.get("type") in ("integer", "number")
              and all(isinstance(feature.get(key), (int, float)) and not isinstance(feature.get(key), bool)
                      for key in ("min", "max"))
              and isinstance(feature.get("zero_means_missing"), bool))
        if not ok or feature["min"] > feature["max"]:
            name = feature.get("name") if isinstance(feature, dict) else feature
            return f"la variable {name!r} está incompleta (name, type, min ≤ max, zero_means_missing)"
    return None


def _class_problem(classes):
    values = {item.get("value") for item in classes if isinstance(item, dict) and isinstance(item.get("label"), str)} \
        if isinstance(classes, list) else set()
    return None if values == {0, 1} else "las clases deben ser 0 y 1, cada una con su etiqueta"


def verify_version(folder, runtime="onnx", run=None):
    """Comprueba una versión (ficha, sha256, versión del motor, predicción de prueba) sin servirla.

    `run(test_prediction, verified)` ejecuta la predicción de prueba; por defecto, aquí mismo. El
    maestro de gunicorn (etapa 02) la ejecuta en un proceso hijo desechable.
    """
    folder = Path(folder)
    card = read_card(folder)
    artifact_key, version_key, package = RUNTIMES[runtime]
    artifact = card["artifacts"].get(artifact_key) if isinstance(card["artifacts"], dict) else None
    if not isinstance(artifact, dict) or "sha256" not in artifact:
        raise ModelError(f"La ficha de {folder.name} no describe el artefacto «{artifact_key}». "
                         "Vuelve a entrenar con `make model`.")
    # Solo el nombre del archivo: la ficha no puede apuntar fuera de la carpeta de la versión.
    path = folder / Path(str(artifact.get("file", ""))).name
    try:
        payload = path.read_bytes()
    except OSError:
        raise ModelError(f"Falta el archivo {path}. Vuelve a una versión buena con `make rollback`.") from None
    if hashlib.sha256(payload).hexdigest() != artifact["sha256"]:
        raise ModelError(f"El archivo {path} no coincide con su ficha (sha256 distinto): está dañado o "
                         "alguien lo ha cambiado, y no se sirve. Vuelve a una versión buena con `make rollback`.")
    installed = _installed(package)
    if artifact.get(version_key) != installed:
        raise ModelError(f"La versión {card['version']} se exportó con {package} {artifact.get(version_key)}, "
                         f"pero está instalado {package} {installed or '(ninguno)'}. Instala la versión de la ficha "
                         "(`make setup`) o vuelve a entrenar con `make model`.")
    verified = VerifiedModel(card=card, runtime=runtime, payload=payload, folder=folder)
    problem = (run or _here)(test_prediction, verified)
    if problem:
        raise ModelError(f"La versión {card['version']} {problem}. Vuelve a una versión buena con `make rollback`.")
    return verified


def _here(function, *args):
    return function(*args)


def test_prediction(verified):
    """None si la paciente de ejemplo da una probabilidad válida; si no, qué falla (en español)."""
    try:
        engine = ENGINES[verified.runtime](verified.payload)
        probability = float(engine.positive(np.array([example_row(verified.card)]))[0])
    except Exception as error:  # un grafo o un pickle que no carga es el mismo problema para quien sirve
        return f"no predice ({type(error).__name__})"
    return None if 0.0 <= probability <= 1.0 else "da una probabilidad imposible en la predicción de prueba"


def _installed(package):
    try:
        return version(package)
    except PackageNotFoundError:
        return None
