"""El modelo cargado más la caché: filas validadas → resultados. Sin Flask y sin pandas."""

import numpy as np
import sklearn

from .cache import PredictionCache

DECIMALS = 6  # la probabilidad se redondea: así una fila da lo mismo sola o en un lote


class Predictor:
    def __init__(self, model, cache_size):
        self.model = model
        self.cache = PredictionCache(cache_size)
        # Índice de la columna de la clase positiva (1) en predict_proba.
        self._positive = list(model.pipeline.classes_).index(1)

    def predict_rows(self, rows):
        """Predice filas ya validadas y finitas. Devuelve (resultados, aciertos de caché)."""
        results = [self.cache.get(row) for row in rows]
        hits = [result is not None for result in results]
        pending = [index for index, hit in enumerate(hits) if not hit]
        if pending:
            matrix = np.array([rows[index] for index in pending], dtype=np.float64)
            # Los valores ya se comprobaron finitos: se ahorra la comprobación de scikit-learn.
            with sklearn.config_context(assume_finite=True):
                probabilities = self.model.pipeline.predict_proba(matrix)[:, self._positive]
            for index, probability in zip(pending, probabilities, strict=True):
                results[index] = self._result(float(probability))
                self.cache.put(rows[index], results[index])
        return results, hits

    def _result(self, probability):
        prediction = int(probability >= self.model.threshold)
        return {"prediction": prediction, "label": self.model.labels[prediction],
                "probability": round(probability, DECIMALS)}
