"""El modelo servido: una versión ya comprobada, su predicción y su caché de predicciones.

Qué versión se sirve y cómo se comprueba lo dice `diabetes_model.store`: aquí llega una `VerifiedModel` y se
sirven sus bytes. Bajo gunicorn la comprueba el maestro (etapa 02); con `flask run` o en las pruebas, la API.
"""

import threading
from collections import OrderedDict

import numpy as np

from diabetes_model.engines import ENGINES
from diabetes_model.store import live_version_dir, verify_version

DECIMALS = 6  # la probabilidad se redondea: una fila da lo mismo sola o en un lote, con ONNX o sin él


def load_model(verified=None, model_dir=None, runtime="onnx", cache_size=0):
    """El modelo listo para predecir: la versión ya comprobada que llega o la publicada, comprobada aquí."""
    if verified is None or verified.runtime != runtime:
        verified = verify_version(live_version_dir(model_dir), runtime)
    return Model(verified, cache_size)


class PredictionCache:
    """LRU de predicciones frecuentes en la memoria de cada proceso, con sus contadores.

    La clave es la fila validada completa (tupla de floats en el orden de la ficha): dos pacientes
    que difieren en un solo valor son dos entradas. Con tamaño 0 nunca acierta.
    """

    def __init__(self, maxsize):
        self.maxsize = int(maxsize)
        # OrderedDict (en C): mover al final y expulsar la primera cuestan lo que una consulta a un dict.
        self._entries = OrderedDict() if self.maxsize > 0 else None
        self._lock = threading.Lock()  # los workers con hilos comparten el objeto
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            value = self._entries.get(key) if self._entries is not None else None
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
                self._entries.move_to_end(key)  # la más recién usada, al final
            return value

    def put(self, key, value):
        if self._entries is not None:
            with self._lock:
                self._entries[key] = value
                self._entries.move_to_end(key)
                if len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)  # fuera la menos usada

    def stats(self):
        with self._lock:
            size = len(self._entries) if self._entries is not None else 0
            return {"hits": self.hits, "misses": self.misses, "size": size, "maxsize": self.maxsize}


class Model:
    """Una versión comprobada, lista para predecir filas validadas, con su caché."""

    def __init__(self, verified, cache_size=0):
        self.verified = verified
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
        if len(rows) == 1:  # el caso de cada petición con una paciente: sin listas de pendientes
            result, hit = self.predict_one(rows[0])
            return [result], [hit]
        results = [self.cache.get(row) for row in rows]
        hits = [result is not None for result in results]
        pending = [index for index, hit in enumerate(hits) if not hit]
        if pending:
            matrix = np.array([rows[index] for index in pending], dtype=np.float64)
            for index, probability in zip(pending, self.engine.positive(matrix), strict=True):
                results[index] = self._result(float(probability))
                self.cache.put(rows[index], results[index])
        return results, hits

    def predict_one(self, row):
        """Una fila validada → (resultado, ¿de la caché?)."""
        result = self.cache.get(row)
        if result is not None:
            return result, True
        result = self._result(float(self.engine.positive(np.array((row,), dtype=np.float64))[0]))
        self.cache.put(row, result)
        return result, False

    def _result(self, probability):
        probability = round(probability, DECIMALS)
        prediction = int(probability >= self.threshold)
        return {"prediction": prediction, "label": self.labels[prediction], "probability": probability}
