"""Los motores que ejecutan una versión comprobada: ONNX (onnxruntime, lo que se sirve) y, solo si se
pide, el pipeline de scikit-learn del joblib. Cada motor recibe los bytes del artefacto ya comprobados
(`store.verify_version`) y da la probabilidad de la clase 1 de cada fila.

onnxruntime, joblib y scikit-learn se importan al crear el motor, no al importar el módulo: quien usa
ONNX no carga scikit-learn.
"""

import io

import numpy as np


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
