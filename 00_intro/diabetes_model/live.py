"""`predict(data)`: la función de la charla, en el idioma del modelo. Predice con la versión publicada en
MODEL_DIR, comprobada y cargada UNA vez por proceso (ONNX en onnxruntime, sin scikit-learn).

    >>> from diabetes_model import predict
    >>> predict({"Pregnancies": 2, "Glucose": 150, ...})
    {'label': 'Riesgo alto de diabetes', 'prediction': 1, 'probability': 0.71…, 'threshold': 0.5, 'version': 'v-…'}

`data` es un diccionario con las variables de la ficha o una lista de ellos (devuelve una lista). Una variable
que falta o que no es un número finito es un ValueError en español. Los rangos plausibles los comprueba la API
(etapa 01); aquí, como en la diapositiva, se predice lo que llega. Para servir otra versión publicada hay que
reiniciar el proceso (la API de producción sabe recargar: `make reload`).
"""

import math
import threading
from pathlib import Path

import numpy as np

from .engines import ENGINES
from .store import default_model_dir, live_version_dir, verify_version

DECIMALS = 6  # como la API: la probabilidad redondeada da lo mismo sola o en un lote

_loaded = {}
_lock = threading.Lock()


class LiveModel:
    """La versión publicada, comprobada: su ficha, su umbral, sus etiquetas y su motor."""

    def __init__(self, verified):
        self.card = verified.card
        self.version = verified.version
        self.threshold = float(self.card["threshold"])
        self.labels = {int(item["value"]): item["label"] for item in self.card["classes"]}
        self.feature_names = [feature["name"] for feature in self.card["features"]]
        self.engine = ENGINES[verified.runtime](verified.payload)

    def predict(self, data):
        patients = data if isinstance(data, list) else [data]
        if not patients:
            return []
        matrix = np.array([self.row(patient) for patient in patients], dtype=np.float64)
        results = [self.result(float(probability)) for probability in self.engine.positive(matrix)]
        return results if isinstance(data, list) else results[0]

    def row(self, patient):
        """Los números de una paciente en el orden de la ficha; lo que no sirve → ValueError en español."""
        if not isinstance(patient, dict):
            raise ValueError("cada paciente debe ser un diccionario con las variables de la ficha")
        missing = [name for name in self.feature_names if name not in patient]
        if missing:
            raise ValueError(f"faltan variables: {', '.join(missing)}")
        row = []
        for name in self.feature_names:
            value = patient[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"la variable {name} no es un número finito ({value!r})")
            row.append(float(value))
        return row

    def result(self, probability):
        probability = round(probability, DECIMALS)
        prediction = int(probability >= self.threshold)
        return {"label": self.labels[prediction], "prediction": prediction, "probability": probability,
                "threshold": self.threshold, "version": self.version}


def live_model(model_dir=None):
    """El modelo publicado en `model_dir` (por defecto MODEL_DIR), comprobado y cargado una sola vez."""
    key = Path(model_dir or default_model_dir()).resolve()
    with _lock:
        if key not in _loaded:
            _loaded[key] = LiveModel(verify_version(live_version_dir(key), "onnx"))
        return _loaded[key]


def predict(data, model_dir=None):
    """Etiqueta, probabilidad y umbral de la ficha para una paciente (dict) o varias (lista de dicts)."""
    return live_model(model_dir).predict(data)
