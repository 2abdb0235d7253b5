"""Las métricas por versión del modelo: lo que la etapa 05 vigila (deriva, calidad, la candidata).

Todas llevan la etiqueta `model_version`. Las registra metrics.py al final de cada POST /v1/predict
con lo que la ruta dejó en `g.predictions` (filas, aciertos, versión que responde, resultados de cada
versión que puntuó; ver versions_split.py):

    diabetes_api_answers_total{model_version, status}       respuestas por versión que responde
    diabetes_api_predict_seconds{model_version}             duración de la predicción, por versión que responde
    diabetes_api_probability{model_version}                 probabilidad predicha, por versión que puntúa
    diabetes_api_risk_bin_total{model_version, bin}         tramos de riesgo de la referencia de la ficha
    diabetes_api_feature_bin_total{model_version, feature, bin}   tramos de cada variable («cero»: 0 = no medido)
    diabetes_api_reference_share{model_version, feature, bin}     la parte de cada tramo en el entrenamiento
    diabetes_api_shadow_total / _shadow_flips_total / _shadow_delta{model_version}   la candidata frente a la
        publicada en las mismas filas: comparaciones, decisiones distintas, |p candidata − p publicada|
    diabetes_api_candidate_weight, diabetes_api_model_info{model_version, role}   qué se sirve (role: live, candidate)

Con `feature_bin_total` y `reference_share` el PSI sale de una lectura de /metrics (o en PromQL). Una ficha
sin referencia (versiones antiguas) no tiene tramos: esa versión solo cuenta respuestas y probabilidades.
Los tramos son los de `diabetes_model.reference` (la única definición). Para que cueste poco, los hijos
de cada etiqueta se resuelven UNA vez por (versión, variable, tramo) y se guardan, y lo contado se suma
en memoria y se escribe junto como mucho cada FLUSH_SECONDS (`Pending`): /metrics va hasta medio
segundo por detrás en estas series. Los «gauges» usan el modo «livemax»: al salir un worker (una
recarga) sus valores dejan de contar, así que tras quitar la candidata no queda su peso de antes.
"""

import bisect
import os
import threading
import time

from prometheus_client import Counter, Gauge, Histogram

from diabetes_model.reference import bin_labels, bin_of

FLUSH_SECONDS = 0.5  # lo contado se escribe en los archivos de métricas como mucho cada medio segundo
RISK = "riesgo"  # la «variable» de los tramos del riesgo predicho en reference_share
ANSWERS = Counter("diabetes_api_answers", "Respuestas de /v1/predict por versión que responde y código",
                  ["model_version", "status"])
PREDICT_SECONDS = Histogram("diabetes_api_predict_seconds", "Duración de /v1/predict por versión que responde",
                            ["model_version"],
                            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
PROBABILITY = Histogram("diabetes_api_probability", "Probabilidad predicha por cada versión que puntúa",
                        ["model_version"], buckets=tuple(round(0.1 * step, 1) for step in range(1, 11)))
RISK_BINS = Counter("diabetes_api_risk_bin", "Predicciones por tramo de riesgo de la referencia de la ficha",
                    ["model_version", "bin"])
FEATURE_BINS = Counter("diabetes_api_feature_bin", "Valores recibidos por tramo de la referencia de la ficha",
                       ["model_version", "feature", "bin"])
REFERENCE_SHARE = Gauge("diabetes_api_reference_share", "Parte de cada tramo en los datos del entrenamiento",
                        ["model_version", "feature", "bin"], multiprocess_mode="livemax")
SHADOW = Counter("diabetes_api_shadow", "Filas puntuadas por la candidata junto a la publicada", ["model_version"])
FLIPS = Counter("diabetes_api_shadow_flips", "Filas en que la candidata decide otra clase que la publicada",
                ["model_version"])
DELTA = Histogram("diabetes_api_shadow_delta", "|p candidata − p publicada| en las mismas filas", ["model_version"],
                  buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0))
_WEIGHT = []  # el «gauge» sin etiquetas se crea al preparar la app: creado al importar, escribiría su archivo
# en el maestro de gunicorn (que importa este módulo antes de crear workers)


def weight_gauge():
    if not _WEIGHT:
        _WEIGHT.append(Gauge("diabetes_api_candidate_weight", "Parte de las peticiones que responde la candidata",
                             multiprocess_mode="livemax"))
    return _WEIGHT[0]

INFO = Gauge("diabetes_api_model_info", "Versiones servidas (role: live o candidate)", ["model_version", "role"],
             multiprocess_mode="livemax")


class Pending:
    """Lo contado y aún no escrito en los archivos de métricas: {valor de prometheus_client: cuánto sumar}.

    Escribir un valor en el archivo compartido (mmap, con candado) cuesta ~1 µs; una petición toca una
    docena. Aquí se suma en un diccionario y se escribe todo junto cada FLUSH_SECONDS (y al leer /metrics
    en este proceso, y al salir el worker: gunicorn.conf.py, worker_exit). Lo medido: bench/README.md.
    """

    def __init__(self):
        self.amounts = {}
        self.lock = threading.Lock()  # con workers de hilos (gthread), varios a la vez
        self.due = 0.0

    def add(self, value, amount=1.0):
        self.amounts[value] = self.amounts.get(value, 0.0) + amount

    def observe(self, child, amount):
        """Como `child.observe(amount)` de un histograma (la misma cubeta: la primera con límite ≥ amount)."""
        self.add(child._buckets[bisect.bisect_left(child._upper_bounds, amount)])  # noqa: SLF001
        self.add(child._sum, amount)  # noqa: SLF001 (prometheus_client fijado en requirements/serve.txt)

    def flush(self, now=None):
        with self.lock:
            amounts, self.amounts = self.amounts, {}
            self.due = (now or time.monotonic()) + FLUSH_SECONDS
        for value, amount in amounts.items():
            value.inc(amount)

    def keep_flushing(self):
        """En cada proceso, un hilo (con gevent, una corrutina) que escribe lo pendiente cada FLUSH_SECONDS:
        sin él, lo contado por un worker que deja de recibir peticiones no llegaría nunca a /metrics."""
        if getattr(self, "pid", None) != os.getpid():
            self.pid = os.getpid()
            threading.Thread(target=self._flush_loop, daemon=True, name="metricas-pendientes").start()

    def _flush_loop(self):
        while True:
            time.sleep(FLUSH_SECONDS)
            if self.amounts:
                try:
                    self.flush()
                except OSError:  # carpeta llena o sin permiso: la próxima petición lo dice (métricas degradadas)
                    return


PENDING = Pending()


def flush():
    """Escribe ya lo pendiente de este proceso (antes de leer /metrics, al salir el worker)."""
    PENDING.flush()


class VersionMetrics:
    """Los valores de las métricas de UNA versión, resueltos una vez, y cómo contar sus filas."""

    def __init__(self, model):
        self.version, version = model.version, model.version
        self.answers = {}
        self.seconds = PREDICT_SECONDS.labels(version)
        self.probability = PROBABILITY.labels(version)
        self.shadow = None  # (comparadas, cambios de decisión, |Δp|): solo las crea una candidata, al comparar
        reference = model.card.get("reference") or {}
        names = [feature["name"] for feature in model.card["features"]]
        self.features = []  # (posición en la fila, cortes, ¿tramo cero?, {tramo: valor del contador})
        for name, spec in (reference.get("features") or {}).items():
            if name in names:
                children = self._bins(name, spec, lambda label, name=name: FEATURE_BINS.labels(version, name, label))
                self.features.append((names.index(name), spec["edges"], bool(spec.get("zero_bin")), children))
        risk = reference.get("risk")
        self.risk = (risk["edges"], self._bins(RISK, risk, lambda label: RISK_BINS.labels(version, label))) \
            if risk else None

    def _bins(self, feature, spec, child):
        labels = bin_labels(spec["edges"], bool(spec.get("zero_bin")))
        for label, share in zip(labels, spec.get("shares", []), strict=False):
            REFERENCE_SHARE.labels(self.version, feature, label).set(share)
        return {label: child(label)._value for label in labels}  # noqa: SLF001 (el valor: lo que suma Pending)

    def answered(self, status, elapsed):
        value = self.answers.get(status)
        if value is None:
            value = self.answers[status] = ANSWERS.labels(self.version, str(status))._value  # noqa: SLF001
        PENDING.add(value)
        if elapsed is not None:
            PENDING.observe(self.seconds, elapsed)

    def scored(self, rows, results):
        """Probabilidades, tramos de riesgo y tramos de cada variable de las filas que puntuó esta versión."""
        for row, result in zip(rows, results, strict=True):
            probability = result["probability"]
            PENDING.observe(self.probability, probability)
            if self.risk:
                PENDING.add(self.risk[1][bin_of(self.risk[0], probability)])
            for position, edges, zero_bin, children in self.features:
                PENDING.add(children[bin_of(edges, row[position], zero_bin)])

    def compared(self, live_results, results):
        """La candidata (self) frente a la publicada en las mismas filas."""
        if self.shadow is None:
            self.shadow = (SHADOW.labels(self.version)._value, FLIPS.labels(self.version)._value,  # noqa: SLF001
                           DELTA.labels(self.version))
        total, flipped, delta = self.shadow
        PENDING.add(total, len(results))
        for mine, theirs in zip(results, live_results, strict=True):
            if mine["prediction"] != theirs["prediction"]:
                PENDING.add(flipped)
            PENDING.observe(delta, abs(mine["probability"] - theirs["probability"]))


def prepare(service):
    """Al crear la app: los hijos de la publicada y de la candidata, y los «gauges» de qué se sirve."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # en un proceso solo (pruebas), fuera las de otra app;
        INFO.clear()  # con gunicorn cada worker nace limpio (y prometheus_client no sabe borrar en multiproceso)
        REFERENCE_SHARE.clear()
    versions = {service.model.version: VersionMetrics(service.model)}
    PENDING.keep_flushing()
    INFO.labels(service.model.version, "live").set(1)
    split = service.split
    if split is not None:
        versions[split.candidate.version] = VersionMetrics(split.candidate)
        INFO.labels(split.candidate.version, "candidate").set(1)
    weight_gauge().set(split.weight if split is not None else 0.0)
    return versions


def record(versions, predictions, status, elapsed, candidate_failed):
    """Lo de una petición: (filas, aciertos, versión que responde, {versión: resultados})."""
    if not versions:  # sin métricas en este worker (carpeta llena al nacer, MODEL_METRICS=0): nada que contar
        return
    rows, _, answered, scored = predictions
    with PENDING.lock:
        versions[answered].answered(status, elapsed)
        for version, results in scored.items():
            versions[version].scored(rows, results)
        if len(scored) == 2:
            live, candidate = scored  # la publicada primero (versions_split.py)
            versions[candidate].compared(scored[live], scored[candidate])
        if candidate_failed:
            candidate = next(version for version in versions if version != next(iter(scored)))
            versions[candidate].answered(500, None)
    now = time.monotonic()
    if now >= PENDING.due:
        PENDING.flush(now)
