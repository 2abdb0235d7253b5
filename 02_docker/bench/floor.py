"""El suelo dentro del proceso: cuánto cuesta cada pieza de una predicción sin HTTP.

Se mide con timeit (el mejor de 5 repeticiones, en microsegundos por llamada): la aritmética
del modelo en numpy, el pipeline de scikit-learn, la validación, el JSON, el log y una petición
completa de Flask sin red.
"""

import io
import json
import logging
import sys
import timeit

import numpy as np
import sklearn

from .numpy_twin import numpy_twin, same_predictions
from .servers import ROOT

sys.path.insert(0, str(ROOT / "01_flask_api"))


def microseconds(function, repeat=5):
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def quiet_api_logs():
    """El log de cada petición va a memoria, no a la terminal (su coste sí se mide)."""
    logger = logging.getLogger("diabetes_api")
    logger.handlers[:] = [logging.StreamHandler(io.StringIO())]
    logger.propagate = False


def pandas_frame(patient):
    """Lo que la API evita: construir un DataFrame de pandas de una fila por petición."""
    try:
        import pandas as pd
    except ImportError:  # servir no necesita pandas; sin él, se omite la línea
        return []
    return [("construir un DataFrame de pandas de 1 fila (la API no lo hace)",
             microseconds(lambda: pd.DataFrame([patient])))]


def measure_floor(patients, model_dir):
    """Devuelve [(descripción, µs por llamada)] de cada capa, de la más interna a la más externa."""
    from diabetes_api import create_app
    from diabetes_api.model_store import load_model
    from diabetes_api.validation import FeatureValidator

    model = load_model(model_dir)
    validator = FeatureValidator(model.card["features"])
    patient = patients[0]
    row = np.array([validator.one(patient)], dtype=np.float64)

    def predict_checked():
        model.pipeline.predict_proba(row)

    def predict_assume_finite():
        with sklearn.config_context(assume_finite=True):
            model.pipeline.predict_proba(row)

    quiet_api_logs()
    client_miss = create_app({"MODEL_DIR": model_dir, "CACHE_SIZE": 0}).test_client()
    client_hit = create_app({"MODEL_DIR": model_dir}).test_client()
    client_hit.post("/v1/predict", json=patient)

    def flask_miss():
        client_miss.post("/v1/predict", json=patient)

    def flask_hit():
        client_hit.post("/v1/predict", json=patient)

    body = json.dumps(patient)
    answer = {"prediction": 0, "label": model.labels[0], "probability": 0.123456, "model_version": model.version}
    access_log = logging.getLogger("diabetes_api.access")

    def json_round_trip():
        json.loads(body)
        json.dumps(answer, ensure_ascii=False)

    def log_line():
        access_log.info("request_id=%s method=%s path=%s status=%d latency_ms=%.2f cache=%s model_version=%s",
                        "0123456789abcdef", "POST", "/v1/predict", 200, 1.23, "miss", model.version)

    twin = numpy_twin(model.pipeline)
    rows = np.array([validator.one(p) for p in patients], dtype=np.float64)
    arithmetic = []
    if twin is not None and same_predictions(model.pipeline, twin, rows):
        arithmetic = [("la misma aritmética escrita a mano con numpy (imputar, escalar, logística)",
                       microseconds(lambda: twin(row)))]

    return [
        *arithmetic,
        ("pipeline.predict_proba, 1 fila numpy (con las comprobaciones de scikit-learn)",
         microseconds(predict_checked)),
        ("pipeline.predict_proba, 1 fila numpy con assume_finite (como la API)", microseconds(predict_assume_finite)),
        ("validación de la API (FeatureValidator.one)", microseconds(lambda: validator.one(patient))),
        *pandas_frame(patient),
        ("JSON: leer el cuerpo y escribir la respuesta (json.loads + json.dumps)", microseconds(json_round_trip)),
        ("una línea de log de la petición (logging, a memoria)", microseconds(log_line)),
        ("petición completa en Flask sin red (test_client, sin caché, con log)", microseconds(flask_miss)),
        ("petición completa en Flask sin red (test_client, acierto de caché, con log)", microseconds(flask_hit)),
    ]
