"""Dentro del proceso, sin red: cuánto cuesta el modelo y cada pieza de una petición.

Se mide con timeit en TIEMPO DE CPU del proceso (time.process_time), el mejor de varias tandas de
~0,1 s, en microsegundos por llamada: lo que gasta el código no cambia si la máquina está ocupada
con otros programas (el tiempo de reloj, sí). Se mide:
- los dos motores, ONNX Runtime y `predict_proba` de scikit-learn, con 1 fila y con un lote;
- lo que la API hace en cada petición: validar, JSON, predecir, X-Request-ID, la línea de log;
- la app Flask entera llamada como la llama gunicorn (WSGI, sin red), tal cual, quitando una
  pieza cada vez (el log, CORS, los ganchos de observabilidad) y añadiendo la clave y el límite de
  peticiones: la diferencia es lo que cuesta.
"""

import io
import json
import logging
import os
import time
import timeit
from unittest import mock

import numpy as np
from werkzeug.test import EnvironBuilder

from diabetes_api import create_app
from diabetes_api.model import load_model
from diabetes_api.observability import finish_request, new_request_id, start_request
from diabetes_api.predict import FeatureValidator

from .servers import BATCH_SIZE, BENCH_API_KEY, HEALTH_PATH, NEVER_LIMIT, TUNING

CPU = time.process_time


def calls_per_round(function):
    """Cuántas llamadas caben en ~0,1 s de CPU (timeit.autorange busca ≥ 0,2 s)."""
    number, _ = timeit.Timer(function, timer=CPU).autorange()
    return max(1, number // 2)


def microseconds(function, repeat=3):
    number = calls_per_round(function)
    return min(timeit.Timer(function, timer=CPU).repeat(repeat=repeat, number=number)) / number * 1e6


def engines(patients):
    """µs por fila de cada motor, con 1 fila y dentro de un lote de BATCH_SIZE filas."""
    models = {runtime: load_model(runtime=runtime, cache_size=0) for runtime in ("onnx", "sklearn")}
    validator = FeatureValidator(models["onnx"].card["features"])
    rows = np.array([validator.one(patient) for patient in patients], dtype=np.float64)
    one, batch = rows[:1], np.resize(rows, (BATCH_SIZE, rows.shape[1]))
    result = {}
    for runtime, model in models.items():
        result[runtime] = {"one": microseconds(lambda m=model: m.engine.positive(one)),
                           "batch_row": microseconds(lambda m=model: m.engine.positive(batch)) / BATCH_SIZE}
    return result


def memory_log():
    """El log de la API va a memoria en vez de a la terminal, con el mismo formato (se mide su coste)."""
    logger = logging.getLogger("diabetes_api")
    formatter = logger.handlers[0].formatter if logger.handlers else None
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(formatter)
    logger.handlers[:] = [handler]
    logger.propagate = False
    return handler


def api(drop=(), config=None):
    """La app (ONNX, sin caché, con log a memoria) sin los ganchos indicados.

    drop: "log" (ACCESS_LOG=0), "cors" (el after_request de flask-cors), "observability"
    (X-Request-ID, contadores y línea de log: los dos ganchos de observability.py).
    config: ajustes de más (p. ej. la clave y el límite). Como en los servidores, los ajustes de la
    terminal (API_KEY, RATE_LIMIT…; servers.TUNING) no cuentan: «tal cual» son los de por defecto.
    """
    clean = {name: value for name, value in os.environ.items() if name not in TUNING}
    with mock.patch.dict(os.environ, clean, clear=True):
        app = create_app({"MODEL_RUNTIME": "onnx", "CACHE_SIZE": 0, "ACCESS_LOG": "log" not in drop, **(config or {})})
    handler = memory_log()
    unwanted = set()
    if "cors" in drop:
        unwanted |= {f for f in app.after_request_funcs[None] if f.__module__.startswith("flask_cors")}
    if "observability" in drop:
        unwanted |= {start_request, finish_request}
    for hooks in (app.before_request_funcs, app.after_request_funcs):
        hooks[None] = [f for f in hooks.get(None, []) if f not in unwanted]
    return app, handler


def wsgi_call(app, handler, method, path, body=None, headers=None):
    """Una función que hace la petición como gunicorn: llama a la app WSGI con su entorno."""
    environ = EnvironBuilder(path=path, method=method, json=body, headers=headers,
                             base_url="http://127.0.0.1:8000").get_environ()
    data = environ["wsgi.input"].read()

    def start_response(status, headers, exc_info=None):
        return None

    def call():
        response = app({**environ, "wsgi.input": io.BytesIO(data)}, start_response)
        for _ in response:
            pass
        response.close()
        if handler.stream.tell() > 1_000_000:  # que el log en memoria no crezca sin fin
            handler.stream.seek(0)
            handler.stream.truncate()

    return call


def pieces(patient):
    """(descripción, µs) de cada pieza que la API añade a una petición."""
    app, handler = api()
    service = app.extensions["diabetes_api"]
    access_log = logging.getLogger("diabetes_api.access")
    body = json.dumps(patient)
    answer = {"prediction": 0, "label": "Riesgo bajo de diabetes", "probability": 0.123456,
              "model_version": service.model.version}
    row = service.validator.one(patient)

    def log_line():
        access_log.info("request_id=%s method=%s path=%s status=%d latency_ms=%.2f cache=%s model_version=%s",
                        "0123456789abcdef0123456789abcdef", "POST", "/v1/predict", 200, 1.23, "miss",
                        service.model.version)
        if handler.stream.tell() > 1_000_000:
            handler.stream.seek(0)
            handler.stream.truncate()

    return [
        ("validar la paciente con la ficha (FeatureValidator.one)",
         microseconds(lambda: service.validator.one(patient))),
        ("JSON: leer el cuerpo y escribir la respuesta (json.loads + json.dumps)",
         microseconds(lambda: (json.loads(body), json.dumps(answer, ensure_ascii=False)))),
        ("predecir 1 fila ya validada con ONNX, sin caché (Model.predict_rows)",
         microseconds(lambda: service.model.predict_rows([row]))),
        ("X-Request-ID nuevo (new_request_id)", microseconds(new_request_id)),
        ("una línea de log (logging con fecha, a memoria)", microseconds(log_line)),
    ]


WITHOUT_MODEL_METRICS = "sin las métricas por versión del modelo (MODEL_METRICS=0)"


def requests_in_flask(patient, rounds=9):
    """(descripción, µs) de una petición completa a la app WSGI, quitando una pieza cada vez.

    Las variantes se miden por turnos y se queda la mejor tanda de cada una.
    """
    variants = []
    for label, drop in (("tal cual (ONNX, sin caché, con log, CORS, X-Request-ID y contadores)", ()),
                        ("sin la línea de log (ACCESS_LOG=0)", ("log",)),
                        ("sin CORS (sin el after_request de flask-cors)", ("cors",)),
                        ("sin observabilidad (sin X-Request-ID, contadores ni log)", ("observability",))):
        variants.append((f"POST /v1/predict {label}", wsgi_call(*api(drop), "POST", "/v1/predict", patient)))
    variants.append((f"POST /v1/predict {WITHOUT_MODEL_METRICS}",
                     wsgi_call(*api(config={"MODEL_METRICS": False}), "POST", "/v1/predict", patient)))
    bearer = {"Authorization": f"Bearer {BENCH_API_KEY}"}
    for label, config in (("con clave (API_KEY)", {"API_KEYS": [BENCH_API_KEY]}),
                          (f"con clave y un límite que nunca salta (RATE_LIMIT={NEVER_LIMIT})",
                           {"API_KEYS": [BENCH_API_KEY], "RATE_LIMIT": NEVER_LIMIT})):
        variants.append((f"POST /v1/predict {label}",
                         wsgi_call(*api(config=config), "POST", "/v1/predict", patient, headers=bearer)))
    variants.append((f"GET {HEALTH_PATH} tal cual", wsgi_call(*api(), "GET", HEALTH_PATH)))
    number = calls_per_round(variants[0][1])
    best = {label: float("inf") for label, _ in variants}
    for _ in range(rounds):
        for label, function in variants:
            best[label] = min(best[label], timeit.timeit(function, number=number, timer=CPU) / number * 1e6)
    return list(best.items())


def measure_floor(patients):
    """Todo lo de dentro del proceso: {"engines": {...}, "pieces": [...], "flask": [...]}."""
    return {"engines": engines(patients), "pieces": pieces(patients[0]), "flask": requests_in_flask(patients[0])}
