"""Servidor de referencia del benchmark: FastAPI + uvicorn con el MISMO pipeline de scikit-learn.

Es la forma «de manual» de servir un modelo en Python, para tener con qué comparar la API:

    .venv/bin/python -m bench.reference --port 8001      # 2 workers, como `uvicorn --workers 2`

- Un endpoint `def` (síncrono: FastAPI lo ejecuta en su grupo de hilos) con el cuerpo validado
  por un modelo de pydantic hecho con la ficha (tipos y rangos de cada variable).
- El pipeline es el `model.joblib` de la versión publicada, comprobado igual que en la API
  (ficha, sha256, versión de scikit-learn), y se llama igual: `predict_proba` de una fila con
  `assume_finite`. Sin caché y sin log de accesos.
- uvicorn con `http="h11"` y `loop="asyncio"`: lo que trae `pip install fastapi uvicorn`. Se fija
  para que la referencia no cambie si alguien instala `uvicorn[standard]` (httptools, uvloop).
- Por qué no `uvicorn --workers 2` sin más: con varios workers uvicorn crea el socket sin
  IPPROTO_TCP, asyncio no activa TCP_NODELAY en las conexiones y en Linux cada petición por una
  conexión keep-alive espera ~40 ms el ACK retardado del cliente (uvicorn, issue #3149). Aquí el
  socket se crea con IPPROTO_TCP: la referencia es FastAPI en su mejor versión, no ese fallo.
"""

import argparse
import socket
from typing import Annotated

import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import ConfigDict, Field, create_model
from uvicorn.supervisors import Multiprocess

from diabetes_api.model import load_model


def patient_model(features):
    """Un modelo de pydantic con las variables de la ficha: tipo, y rango (o 0 si «no medido»)."""
    fields = {}
    for feature in features:
        kind = int if feature["type"] == "integer" else float
        low = 0 if feature["zero_means_missing"] else feature["min"]
        fields[feature["name"]] = (Annotated[kind, Field(ge=low, le=feature["max"])], ...)
    return create_model("Patient", __config__=ConfigDict(extra="forbid"), **fields)


def create_app():
    """La app de referencia (uvicorn la crea en cada worker con --factory)."""
    model = load_model(runtime="sklearn", cache_size=0)  # la versión publicada en MODEL_DIR
    pipeline = model.engine.pipeline
    column = model.engine.column
    names = model.feature_names
    Patient = patient_model(model.card["features"])  # noqa: N806 (es una clase)
    app = FastAPI(title="Referencia del benchmark", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health():
        return {"status": "ok", "model_version": model.version}

    @app.post("/v1/predict")
    def predict(patient: Patient) -> dict:
        row = np.array([[getattr(patient, name) for name in names]], dtype=np.float64)
        with model.engine.config(assume_finite=True):
            probability = round(float(pipeline.predict_proba(row)[0, column]), 6)
        prediction = int(probability >= model.threshold)
        return {"prediction": prediction, "label": model.labels[prediction], "probability": probability,
                "model_version": model.version}

    return app



def serve(port, host="127.0.0.1", workers=2):
    """Lo mismo que `uvicorn --factory bench.reference:create_app --workers N --no-access-log
    --http h11 --loop asyncio`, con el socket creado con IPPROTO_TCP (ver arriba)."""
    config = uvicorn.Config("bench.reference:create_app", factory=True, host=host, port=port, workers=workers,
                            access_log=False, http="h11", loop="asyncio", log_level="warning")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    Multiprocess(config, sockets=[sock]).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Referencia del benchmark: FastAPI + uvicorn, 2 workers.")
    parser.add_argument("--port", type=int, required=True, help="puerto en 127.0.0.1")
    parser.add_argument("--workers", type=int, default=2, help="procesos (2)")
    arguments = parser.parse_args()
    serve(arguments.port, workers=arguments.workers)
