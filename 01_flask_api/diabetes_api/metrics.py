"""Métricas en el formato de Prometheus (`GET /metrics`), con prometheus_client.

Con gunicorn hay varios procesos worker: si cada uno contestara con sus propios contadores, dos
lecturas seguidas podrían ver dos workers distintos. En modo multiproceso (la documentación de
prometheus_client para gunicorn) cada worker escribe sus valores en archivos de la carpeta
PROMETHEUS_MULTIPROC_DIR, que prepara el maestro (02_docker/gunicorn.conf.py), y `/metrics` los
suma todos: una lectura cubre el servicio entero. Sin esa variable (flask run, pruebas), los del
propio proceso.

    diabetes_api_requests_total{route, status}        peticiones por ruta y código
    diabetes_api_request_seconds{route}               histograma de la duración
    diabetes_api_cache_total{result}                  aciertos (hit) y fallos (miss) de la caché
    diabetes_api_predictions_total{label, model_version}   predicciones por clase y versión
    diabetes_api_rejected_total{status}               rechazadas: 401, 408, 429, 503

y las de cada versión del modelo (la publicada y la candidata, para la etapa 05) en metrics_versions.py.
    diabetes_api_metrics_degraded                     1 si el worker que contesta dejó de escribir métricas

Las métricas nunca tumban la API: si la carpeta está llena o no admite escritura (comprobado al nacer
cada worker y cada vez que un archivo debe crecer, ver metrics_files.py), ese worker deja de escribir
métricas, lo dice una vez en el log y la ruta de salud añade «metrics»: «degradadas» (con 200: las
predicciones siguen). Lo prueba tests/test_02_metrics_faults.py.
"""

import errno
import logging
import os
import time

from flask import Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from . import metrics_files, metrics_versions
from .protection import requires_key

log = logging.getLogger("diabetes_api.metrics")

# El modo multiproceso abre sus archivos con values.MmapedDict: con este, el espacio se reserva antes de
# escribir y una carpeta llena da OSError (se atiende abajo) en vez de SIGBUS (el worker moriría).
values.MmapedDict = metrics_files.ReservedFile

REQUESTS = Counter("diabetes_api_requests", "Peticiones atendidas, por ruta y código HTTP", ["route", "status"])
LATENCY = Histogram("diabetes_api_request_seconds", "Duración de las peticiones en la API, por ruta", ["route"],
                    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
CACHE = Counter("diabetes_api_cache", "Predicciones servidas desde la caché (hit) o calculadas (miss)", ["result"])
PREDICTIONS = Counter("diabetes_api_predictions", "Predicciones por clase y versión del modelo",
                      ["label", "model_version"])
REJECTED = Counter("diabetes_api_rejected", "Peticiones rechazadas por la clave, los límites o el plazo",
                   ["status"])
REJECTED_STATUSES = {401, 408, 429, 503}


DEGRADED = "degradadas"
REASONS = {errno.ENOSPC: "no queda espacio", errno.EDQUOT: "no queda espacio", errno.EACCES: "sin permiso de escritura",
           errno.EPERM: "sin permiso de escritura", errno.EROFS: "sistema de archivos de solo lectura"}
_stopped = {"reason": None}  # por qué este worker dejó de escribir métricas (None: las escribe)


def degraded():
    """True si este proceso dejó de escribir métricas (carpeta llena o sin permiso)."""
    return _stopped["reason"] is not None


def degraded_gauge():
    """diabetes_api_metrics_degraded: 1 si el worker que contesta a /metrics dejó de escribir métricas.

    Se escribe en cada lectura, sin archivos (funciona aunque la carpeta esté llena): lo que la ruta de
    salud dice con «degradadas», para que Prometheus pueda avisar (05_mantenimiento/alertas.yml)."""
    return ("# HELP diabetes_api_metrics_degraded 1 si el worker que contesta dejó de escribir métricas\n"
            "# TYPE diabetes_api_metrics_degraded gauge\n"
            f"diabetes_api_metrics_degraded {float(degraded())}\n").encode()


def _safely(write, *args):
    """Escribe métricas sin poner nunca en riesgo la respuesta: sin sitio o sin permiso, este worker
    deja de escribirlas (una línea de log) y sigue atendiendo."""
    if degraded():
        return
    try:
        write(*args)
    except OSError as error:
        _stopped["reason"] = REASONS.get(error.errno, errno.errorcode.get(error.errno, str(error)))
        log.warning("Métricas desactivadas en este worker (pid %d): la carpeta de métricas %s no admite más "
                    "datos (%s). La API sigue respondiendo; la ruta de salud lo indica con «metrics»: «%s».",
                    os.getpid(), os.environ.get("PROMETHEUS_MULTIPROC_DIR"), _stopped["reason"], DEGRADED)


def record_predictions(results, hits, version):
    """Cada resultado por clase, y si salió de la caché (lo que la ruta de predicción dejó en `g.predictions`)."""
    _safely(_count_predictions, results, hits, version)


def _count_predictions(results, hits, version):
    hit_count = sum(hits)
    if hit_count:
        CACHE.labels("hit").inc(hit_count)
    if len(hits) - hit_count:
        CACHE.labels("miss").inc(len(hits) - hit_count)
    for result in results:
        PREDICTIONS.labels(result["label"], version).inc()


def _start():
    g.metrics_started = time.perf_counter()


def _finish(response):
    _safely(_count_response, response)
    # (filas, aciertos de caché, versión que responde, {versión: resultados}): los deja predict.py
    predictions = g.get("predictions")
    if predictions is not None:
        _, hits, version, scored = predictions
        record_predictions(scored[version], hits, version)
        started = g.get("metrics_started")
        elapsed = None if started is None else time.perf_counter() - started
        _safely(metrics_versions.record, current_app.extensions["metrics_versions"], predictions,
                response.status_code, elapsed, g.get("candidate_failed", False))
    return response


def _count_response(response):
    # La plantilla de la ruta (/v1/predict), nunca la ruta pedida: un cliente no puede crear etiquetas.
    route = request.url_rule.rule if request.url_rule is not None else "desconocida"
    REQUESTS.labels(route, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        LATENCY.labels(route).observe(time.perf_counter() - started)
    if response.status_code in REJECTED_STATUSES:
        REJECTED.labels(str(response.status_code)).inc()


def _prepare_versions(app):
    app.extensions["metrics_versions"] = metrics_versions.prepare(app.extensions["diabetes_api"])


def flush_pending():
    """Escribe ya las métricas por versión que este proceso tiene pendientes (metrics_versions.Pending)."""
    _safely(metrics_versions.flush)


@requires_key
def metrics():
    """GET /metrics: el texto que lee Prometheus (de todos los workers, con gunicorn)."""
    flush_pending()  # lo pendiente de este proceso (los demás workers lo escriben cada medio segundo)
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        from prometheus_client import REGISTRY

        return Response(generate_latest(REGISTRY) + degraded_gauge(), mimetype=CONTENT_TYPE_LATEST)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    with metrics_files.locked(folder):  # el maestro no fusiona archivos mientras se leen
        body = generate_latest(registry)
    return Response(body + degraded_gauge(), mimetype=CONTENT_TYPE_LATEST)


def init_app(app):
    """Cada worker, al crear su app: reserva ya sus archivos de métricas (si no puede, sigue sin ellas)."""
    _stopped["reason"] = None
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        _safely(metrics_files.reserve_worker_files, folder, os.getpid())
    app.extensions["metrics_versions"] = {}  # vacío: no se cuentan (MODEL_METRICS=0, o carpeta llena)
    if app.config["MODEL_METRICS"]:
        _safely(_prepare_versions, app)
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
