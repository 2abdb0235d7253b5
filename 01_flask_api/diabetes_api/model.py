"""El modelo servido: la versión publicada, comprobada ANTES de servirla, su predicción y su caché.

Disposición de MODEL_DIR (la escribe el entrenamiento, etapa 00):

    live.json                     puntero a la versión publicada: {"version": "v-…", "previous": …}
    versions/<versión>/           inmutable: model.json (ficha), model.onnx, model.joblib, metrics.json

Antes de servir una versión se comprueba su ficha, la huella sha256 del artefacto, que la versión
del motor instalado es la del entrenamiento y que una predicción de prueba sale bien. Lo que se
sirve son exactamente los bytes comprobados (no se vuelve a leer el disco). Sin Flask ni pandas;
scikit-learn solo si se pide MODEL_RUNTIME=sklearn.

Con gunicorn, el maestro comprueba la versión y la guarda con `hold()`; cada worker (también los
que nacen tras un SIGHUP, un fallo o un reciclado) crea su sesión desde lo guardado. Así ningún
archivo roto en disco puede tumbar el servicio: sigue la última versión comprobada.
"""

import hashlib
import io
import json
import os
import re
import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from cachetools import LRUCache

from .settings import StartupError, shared_path

POINTER = "live.json"
CARD = "model.json"
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
REQUIRED_CARD_KEYS = ("version", "threshold", "classes", "features", "artifacts")
DECIMALS = 6  # la probabilidad se redondea: una fila da lo mismo sola o en un lote, con ONNX o sin él
# Motor → (clave del artefacto en la ficha, clave de la versión del motor, paquete instalado).
RUNTIMES = {"onnx": ("onnx", "onnxruntime", "onnxruntime"),
            "sklearn": ("joblib", "scikit_learn", "scikit-learn")}


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

def live_version_dir(model_dir=None):
    """La carpeta de la versión publicada: la que nombra el puntero live.json de MODEL_DIR."""
    model_dir = Path(model_dir) if model_dir else shared_path("MODEL_DIR")
    pointer = model_dir / POINTER
    if not pointer.is_file():
        raise ModelError(f"No hay ninguna versión del modelo publicada en {model_dir}. "
                         "Entrena y publica la de referencia con `make model`.")
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, TypeError, KeyError):
        name = None
    if not isinstance(name, str) or not VERSION_PATTERN.match(name):
        raise ModelError(f"El puntero {pointer} está dañado. Vuelve a una versión buena con `make rollback` "
                         "o publica la de referencia con `make model`.")
    folder = model_dir / "versions" / name
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


def verify_version(folder, runtime="onnx", isolated=False):
    """Comprueba una versión (ficha, sha256, versión del motor, predicción de prueba) sin servirla.

    `isolated=True` (el maestro de gunicorn) hace la predicción de prueba en un proceso hijo
    desechable: si el maestro cargara onnxruntime, sus workers (creados por fork) se quedarían
    colgados al terminar y `docker stop` esperaría hasta el SIGKILL.
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
    problem = _in_child(_test_prediction, verified) if isolated else _test_prediction(verified)
    if problem:
        raise ModelError(f"La versión {card['version']} {problem}. Vuelve a una versión buena con `make rollback`.")
    return verified


def _test_prediction(verified):
    """None si la paciente de ejemplo da una probabilidad válida; si no, qué falla (en español)."""
    try:
        probability = float(Model(verified).engine.positive(np.array([example_row(verified.card)]))[0])
    except Exception as error:  # un grafo o un pickle que no carga es el mismo problema para quien sirve
        return f"no predice ({type(error).__name__})"
    return None if 0.0 <= probability <= 1.0 else "da una probabilidad imposible en la predicción de prueba"


def _in_child(function, *args):
    """Ejecuta `function(*args)` en un proceso hijo (fork) y devuelve su texto (o None)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # el hijo: calcula, escribe la respuesta y sale sin pasar por nada más
        try:
            os.write(write_end, (function(*args) or "").encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return "hizo terminar el proceso de la predicción de prueba"
    return answer or None


def _installed(package):
    try:
        return version(package)
    except PackageNotFoundError:
        return None


# ------------------------------------------------------------------ La versión que guarda el maestro

_held = None


def hold(verified):
    """Guarda la versión comprobada (la llama el maestro de gunicorn; los workers la heredan)."""
    global _held
    _held = verified


def held(runtime):
    """La versión guardada por el maestro para ese motor, o None (fuera de gunicorn)."""
    return _held if _held is not None and _held.runtime == runtime else None


def load_model(model_dir=None, runtime="onnx", cache_size=0):
    """El modelo listo para predecir: la versión guardada por el maestro o la publicada, comprobada."""
    verified = held(runtime) if model_dir is None else None
    return Model(verified or verify_version(live_version_dir(model_dir), runtime), cache_size)


# ------------------------------------------------------------------ Predicción

class OnnxEngine:
    """El grafo ONNX (preprocesado incluido) en onnxruntime: una sesión por proceso, un hilo."""

    def __init__(self, payload):
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)  # solo errores: sin avisos de telemetría en el log
        options = onnxruntime.SessionOptions()
        # Un hilo: con varios workers, más hilos por sesión solo compiten por los mismos núcleos.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(payload, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def positive(self, matrix):
        """Probabilidad de la clase 1 de cada fila (el grafo calcula en float32)."""
        return self.session.run(["probabilities"], {self.input: matrix.astype(np.float32)})[0][:, 1]


class SklearnEngine:
    """El pipeline de scikit-learn del archivo joblib (un pickle: solo tras comprobar su sha256)."""

    def __init__(self, payload):
        import joblib
        import sklearn

        self.pipeline = joblib.load(io.BytesIO(payload))
        self.column = list(self.pipeline.classes_).index(1)
        self.config = sklearn.config_context

    def positive(self, matrix):
        with self.config(assume_finite=True):  # los valores ya se validaron finitos
            return self.pipeline.predict_proba(matrix)[:, self.column]


ENGINES = {"onnx": OnnxEngine, "sklearn": SklearnEngine}


class PredictionCache:
    """LRU de predicciones frecuentes en la memoria de cada proceso, con sus contadores.

    La clave es la fila validada completa (tupla de floats en el orden de la ficha): dos pacientes
    que difieren en un solo valor son dos entradas. Con tamaño 0 nunca acierta.
    """

    def __init__(self, maxsize):
        self.maxsize = int(maxsize)
        self._entries = LRUCache(self.maxsize) if self.maxsize > 0 else None
        self._lock = threading.Lock()  # los workers con hilos comparten el objeto
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            value = self._entries.get(key) if self._entries is not None else None
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def put(self, key, value):
        if self._entries is not None:
            with self._lock:
                self._entries[key] = value

    def stats(self):
        with self._lock:
            size = len(self._entries) if self._entries is not None else 0
            return {"hits": self.hits, "misses": self.misses, "size": size, "maxsize": self.maxsize}


class Model:
    """Una versión comprobada, lista para predecir filas validadas, con su caché."""

    def __init__(self, verified, cache_size=0):
        self.card = verified.card
        self.version = verified.version
        self.runtime = verified.runtime
        self.threshold = float(self.card["threshold"])
        self.labels = {int(item["value"]): item["label"] for item in self.card["classes"]}
        self.feature_names = [feature["name"] for feature in self.card["features"]]
        self.engine = ENGINES[verified.runtime](verified.payload)
        self.cache = PredictionCache(cache_size)

    def predict_rows(self, rows):
        """Predice filas ya validadas y finitas. Devuelve (resultados, aciertos de caché)."""
        results = [self.cache.get(row) for row in rows]
        pending = [index for index, result in enumerate(results) if result is None]
        if pending:
            matrix = np.array([rows[index] for index in pending], dtype=np.float64)
            for index, probability in zip(pending, self.engine.positive(matrix), strict=True):
                results[index] = self._result(float(probability))
                self.cache.put(rows[index], results[index])
        hits = [True] * len(rows)
        for index in pending:
            hits[index] = False
        return results, hits

    def _result(self, probability):
        probability = round(probability, DECIMALS)
        prediction = int(probability >= self.threshold)
        return {"prediction": prediction, "label": self.labels[prediction], "probability": probability}


def example_patient(card, share=0.3):
    """Una paciente de ejemplo válida, hecha con la lista de variables de la ficha: cada valor al
    30 % de su rango (plausible, ni extremo ni «no medido»)."""
    patient = {}
    for feature in card["features"]:
        value = feature["min"] + share * (feature["max"] - feature["min"])
        patient[feature["name"]] = round(value) if feature["type"] == "integer" else round(value, 2)
    return patient


def example_row(card):
    return tuple(float(value) for value in example_patient(card).values())
