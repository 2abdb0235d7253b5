"""El juez del canario: `python -m maintenance judge`.

Lleva la versión candidata (MODEL_DIR/candidate.json) por los pasos de umbrales.toml: primero en la
sombra (peso 0: puntúa cada petición pero no responde a nadie), después 5 % y 25 % del tráfico. En
cada paso lee de Prometheus, para la viva y la candidata en la MISMA ventana, las respuestas, los
errores, el p99, el reparto del riesgo y los cambios de decisión; espera a la muestra mínima y decide:

    avanzar    al peso siguiente (candidate.json + recarga)
    promover   tras el último paso: publica la candidata, borra candidate.json y recarga
    retirar    si una regla salta (o no llega la muestra): borra candidate.json y recarga

Cada decisión es una línea en español con las cifras y los umbrales. `decide()` es pura (sin E/S):
la prueban tests/test_05_judge.py regla a regla; `Judge` hace la E/S (Prometheus, archivos, SIGHUP).
"""

import math
import time
from dataclasses import dataclass, field

from diabetes_model import reference
from workshop.spanish import number

WAIT, ADVANCE, PROMOTE, ROLL_BACK = "esperar", "avanzar", "promover", "retirar"
SERVER_ERROR = 500  # una respuesta 5xx es un error de la versión; un 4xx es del cliente


@dataclass(frozen=True)
class VersionStats:
    """Lo que hizo una versión en la ventana del paso (diferencias de contadores)."""

    answers: float = 0.0  # respuestas de /v1/predict que dio esta versión (cualquier código)
    errors: float = 0.0  # de ellas, 5xx
    p99_s: float | None = None  # p99 de la vista de predicción (del histograma), None sin datos
    risk: tuple = ()  # cuentas por tramo de probabilidad (0,1 … 1,0), también en la sombra

    @property
    def error_rate(self):
        return self.errors / self.answers if self.answers else 0.0


@dataclass(frozen=True)
class Window:
    """Un paso del canario visto desde Prometheus: la viva y la candidata con las mismas peticiones."""

    weight: float
    seconds: float
    live: VersionStats
    candidate: VersionStats
    compared: float = 0.0  # peticiones puntuadas también por la candidata (la sombra)
    flips: float = 0.0  # de ellas, con otra decisión que la viva

    @property
    def flip_rate(self):
        return self.flips / self.compared if self.compared else 0.0


@dataclass(frozen=True)
class Decision:
    action: str
    weight: float
    next_weight: float | None
    window: Window
    tripped: tuple = ()  # las reglas que saltaron (textos cortos)
    figures: dict = field(default_factory=dict)


def risk_psi(window):
    """PSI entre el riesgo de la viva y el de la candidata en la ventana (None sin datos de alguna)."""
    live, candidate = window.live.risk, window.candidate.risk
    if not live or len(live) != len(candidate) or sum(live) <= 0 or sum(candidate) <= 0:
        return None
    return reference.psi(live, candidate)


def sample_of(window):
    """(muestra de la candidata, muestra de la viva): respuestas o, en la sombra, comparaciones."""
    candidate = window.compared if window.weight == 0 else window.candidate.answers
    return candidate, window.live.answers


def figures_of(window):
    """Las cifras con las que se decide (también las que no se usan en la sombra)."""
    live_p99, candidate_p99 = window.live.p99_s, window.candidate.p99_s
    ratio = candidate_p99 / live_p99 if live_p99 and candidate_p99 is not None else None
    candidate_sample, live_sample = sample_of(window)
    return {"weight": window.weight, "seconds": window.seconds, "candidate_sample": candidate_sample,
            "live_sample": live_sample, "candidate_error_rate": window.candidate.error_rate,
            "live_error_rate": window.live.error_rate,
            "error_excess": window.candidate.error_rate - window.live.error_rate,
            "live_p99_s": live_p99, "candidate_p99_s": candidate_p99, "p99_ratio": ratio,
            "flip_rate": window.flip_rate, "compared": window.compared, "risk_psi": risk_psi(window)}


def tripped_rules(figures, limits):
    """Las reglas que saltan. En la sombra (peso 0) la candidata no responde: errores y p99 no aplican."""
    rules = []
    if figures["flip_rate"] > limits["cambios_max"]:
        rules.append("cambios de decisión")
    if figures["risk_psi"] is not None and figures["risk_psi"] > limits["psi_riesgo_max"]:
        rules.append("PSI del riesgo")
    if figures["weight"] > 0:
        if figures["error_excess"] > limits["exceso_errores_max"]:
            rules.append("tasa de errores")
        ratio = figures["p99_ratio"]
        if ratio is not None and (math.isnan(ratio) or ratio > limits["p99_cociente_max"]):
            rules.append("p99 frente a la viva")
    return tuple(rules)


def decide(window, limits):
    """La decisión de un paso con los umbrales de [juez]. Pura: mismas entradas, misma decisión."""
    steps = limits["pasos"]
    figures = figures_of(window)
    candidate_sample, live_sample = sample_of(window)
    minimum = limits["muestra_minima"]
    if candidate_sample < minimum or live_sample < minimum:
        if window.seconds >= limits["espera_max_s"]:
            return Decision(ROLL_BACK, window.weight, None, window, ("sin muestra suficiente",), figures)
        return Decision(WAIT, window.weight, window.weight, window, (), figures)
    tripped = tripped_rules(figures, limits)
    if tripped:
        return Decision(ROLL_BACK, window.weight, None, window, tripped, figures)
    following = next((step for step in steps if step > window.weight), 1.0)
    return Decision(PROMOTE if following >= steps[-1] else ADVANCE, window.weight, following, window, (), figures)


# ------------------------------------------------------------------ la línea en español

def percent(value, decimals=1):
    return f"{number(100 * value, decimals)} %"


def weight_label(weight):
    return "sombra (0 %)" if weight == 0 else percent(weight, 0)


def describe(decision, limits, candidate="la candidata"):
    """Una línea con la decisión, las cifras y los umbrales (coma decimal)."""
    f = decision.figures
    head = {ADVANCE: f"AVANZA a {weight_label(decision.next_weight or 0)}",
            PROMOTE: "PROMUEVE: se publica y pasa a servir el 100 %",
            ROLL_BACK: "RETIRA la candidata (vuelve todo a la viva)", WAIT: "espera muestra"}[decision.action]
    why = f" por {', '.join(decision.tripped)}" if decision.tripped else ""
    parts = [f"[juez] {candidate} · paso {weight_label(decision.weight)} · {number(f['seconds'], 0)} s: {head}{why}",
             f"muestra {number(f['candidate_sample'], 0)} de la candidata y {number(f['live_sample'], 0)} de la viva "
             f"(mín. {number(limits['muestra_minima'], 0)})",
             f"cambios de decisión {percent(f['flip_rate'], 2)} de {number(f['compared'], 0)} "
             f"(máx. {percent(limits['cambios_max'], 1)})",
             f"PSI del riesgo {number(f['risk_psi'], 3)} (máx. {number(limits['psi_riesgo_max'], 2)})"]
    if decision.weight > 0:
        parts.append(f"errores {percent(f['candidate_error_rate'], 2)} frente a {percent(f['live_error_rate'], 2)} "
                     f"de la viva (exceso máx. {number(100 * limits['exceso_errores_max'], 1)} puntos)")
        ratio = "—" if f["p99_ratio"] is None else f"×{number(f['p99_ratio'], 2)}"
        parts.append(f"p99 {ratio} el de la viva en la misma ventana (máx. ×{number(limits['p99_cociente_max'], 1)})")
    else:
        parts.append("errores y p99: no aplican en la sombra (la candidata no responde)")
    return " · ".join(parts)


# ------------------------------------------------------------------ las cifras desde Prometheus

QUERIES = {
    "answers": "sum by (model_version, status) (diabetes_api_answers_total)",
    "latency": "sum by (model_version, le) (diabetes_api_predict_seconds_bucket)",
    "risk": "sum by (model_version, le) (diabetes_api_probability_bucket)",
    "compared": "sum by (model_version) (diabetes_api_shadow_total)",
    "flips": "sum by (model_version) (diabetes_api_shadow_flips_total)",
}


def snapshot(prom_url, at=None, query=None):
    """Los contadores de todas las versiones en el instante `at` (segundos de época; None = ahora)."""
    if query is None:
        from .prom import query
    return {name: query(prom_url, promql, time=at) for name, promql in QUERIES.items()}


def _series(rows, version, key):
    """{valor de la etiqueta `key`: cuenta} de las filas de una versión."""
    return {labels.get(key, ""): value for labels, value in rows if labels.get("model_version") == version}


def _delta(after, before):
    return {key: max(0.0, value - before.get(key, 0.0)) for key, value in after.items()}


def _buckets(delta):
    """[(límite superior, cuenta acumulada)] ordenados, de las series «le» de un histograma."""
    return sorted((math.inf if le == "+Inf" else float(le), count) for le, count in delta.items() if le)


def quantile(buckets, q):
    """Como histogram_quantile de Prometheus: interpolación lineal dentro del tramo. None sin datos."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # por encima del último tramo finito: su límite (como Prometheus)
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return None


def _risk_counts(buckets):
    """Cuentas por tramo (no acumuladas) de un histograma acumulado."""
    counts, previous = [], 0.0
    for _, cumulative in buckets:
        counts.append(max(0.0, cumulative - previous))
        previous = cumulative
    return tuple(counts)


def version_stats(after, before, version):
    answers = _delta(_series(after["answers"], version, "status"), _series(before["answers"], version, "status"))
    latency = _buckets(_delta(_series(after["latency"], version, "le"), _series(before["latency"], version, "le")))
    risk = _buckets(_delta(_series(after["risk"], version, "le"), _series(before["risk"], version, "le")))
    errors = sum(count for status, count in answers.items() if status.isdigit() and int(status) >= SERVER_ERROR)
    return VersionStats(answers=sum(answers.values()), errors=errors, p99_s=quantile(latency, 0.99),
                        risk=_risk_counts(risk))


def window_between(before, after, live, candidate, weight, seconds):
    """La ventana de un paso: diferencias entre dos instantáneas, para la viva y la candidata."""
    compared = _delta(_series(after["compared"], candidate, "model_version"),
                      _series(before["compared"], candidate, "model_version"))
    flips = _delta(_series(after["flips"], candidate, "model_version"),
                   _series(before["flips"], candidate, "model_version"))
    return Window(weight=weight, seconds=seconds, live=version_stats(after, before, live),
                  candidate=version_stats(after, before, candidate), compared=sum(compared.values()),
                  flips=sum(flips.values()))



# ------------------------------------------------------------------ el juez en marcha (E/S)

class Judge:
    """Lleva la candidata de candidate.json por los pasos y decide con las cifras de Prometheus.

    `reload()` aplica candidate.json / live.json al servicio y vuelve cuando TODOS los workers sirven lo
    nuevo (por defecto, `reload_gunicorn`: SIGHUP al gunicorn de PIDFILE). `log` recibe cada línea.
    """

    def __init__(self, model_dir, prom_url, limits, *, log=print, reload=None, query=None, name="la candidata"):
        self.model_dir, self.prom_url, self.limits, self.log = model_dir, prom_url, limits, log
        self.reload = reload or (lambda: reload_gunicorn(model_dir, prom_url))
        self.query, self.name = query, name

    def run(self, on_decision=None):
        """Todos los pasos; devuelve la lista de decisiones (la última: promover o retirar)."""
        from diabetes_model.candidate import read_candidate, set_candidate
        from diabetes_model.versions import live_version

        wanted = read_candidate(self.model_dir)
        if wanted is None:
            raise JudgeError("No hay ninguna candidata (candidate.json): elígela con "
                             "`python -m diabetes_model.versions candidate VERSIÓN --weight 0`.")
        live, candidate = live_version(self.model_dir), wanted["version"]
        self.log(f"[juez] viva {live}, candidata {candidate}: pasos "
                 + " → ".join(weight_label(step) for step in self.limits["pasos"]) + ".")
        decisions = []
        for weight in self.limits["pasos"][:-1]:
            set_candidate(self.model_dir, candidate, weight)
            started = self.reload()
            decision = self.watch(live, candidate, weight, started)
            decisions.append(decision)
            self.log(describe(decision, self.limits, self.name))
            if on_decision:
                on_decision(decision)
            if decision.action != ADVANCE:
                self.finish(decision, candidate)
                break
        return decisions

    def watch(self, live, candidate, weight, started):
        """Pregunta a Prometheus cada `consulta_cada_s` hasta poder decidir el paso."""
        before = snapshot(self.prom_url, started, self.query)
        while True:
            time.sleep(self.limits["consulta_cada_s"])
            now = time.time()
            window = window_between(before, snapshot(self.prom_url, now, self.query), live, candidate, weight,
                                    now - started)
            decision = decide(window, self.limits)
            if decision.action != WAIT:
                return decision

    def finish(self, decision, candidate):
        from diabetes_model.candidate import clear_candidate
        from diabetes_model.versions import publish

        if decision.action == PROMOTE:
            self.log(f"[juez] {publish(self.model_dir, candidate)}")
        clear_candidate(self.model_dir)
        self.reload()
        self.log("[juez] " + ("Publicada y recargada: la candidata es ahora la viva y sirve el 100 %."
                              if decision.action == PROMOTE else
                              "Candidata quitada y recargada: todo el tráfico vuelve a la viva."))


class JudgeError(RuntimeError):
    """El juez no puede empezar (sin candidata, sin servidor…)."""


def reload_gunicorn(model_dir, prom_url=None, timeout=60.0):
    """SIGHUP al gunicorn de PIDFILE (serving.reload) y espera a que todos sus workers sean nuevos y, si
    hay Prometheus, a que la raspe después. Devuelve el instante (época) desde el que todo es nuevo: el de
    esa lectura de Prometheus (o el de la renovación, sin Prometheus)."""
    import psutil

    from serving.reload import reload, server_pid
    from workshop.processes import wait_until

    pid, _ = server_pid()
    old = {child.pid for child in psutil.Process(pid).children()}
    reload(model_dir)

    def replaced():
        now = {child.pid for child in psutil.Process(pid).children()}
        return len(now) >= len(old) and not now & old

    wait_until(replaced, timeout, what="La recarga de gunicorn",
               message=f"los workers de gunicorn no se renovaron en {timeout:.0f} s tras el SIGHUP")
    renewed = time.time()
    if not prom_url:
        return renewed
    from .prom import value

    scraped = []

    def scraped_after():  # la primera lectura de Prometheus con todos los workers nuevos: la ventana empieza ahí
        scraped[:] = [value(prom_url, "max(timestamp(up))") or 0.0]
        return scraped[0] > renewed

    wait_until(scraped_after, 15, what="Prometheus", message="Prometheus no volvió a raspar la API tras la recarga")
    return scraped[0]


__all__ = ["ADVANCE", "PROMOTE", "ROLL_BACK", "WAIT", "Decision", "Judge", "JudgeError", "VersionStats", "Window",
           "decide", "describe", "quantile", "reload_gunicorn", "risk_psi", "snapshot", "window_between"]


def main(argv=None):
    """`python -m maintenance judge`: lleva la candidata por los pasos y la promueve o la retira."""
    import sys
    from pathlib import Path

    from diabetes_model.store import ModelError, default_model_dir
    from workshop.argparse_es import SpanishArgumentParser
    from workshop.spanish import after_colon

    from .prom import PrometheusError
    from .thresholds import ThresholdsError, load_thresholds

    parser = SpanishArgumentParser(
        prog="python -m maintenance judge",
        description="El juez del canario: lleva la candidata (candidate.json) por la sombra, 5 % y 25 % del "
                    "tráfico y la promueve o la retira con las cifras de Prometheus. Sale con 0 si la promueve, "
                    "4 si la retira y 1 si no puede juzgar.")
    parser.add_argument("--prometheus", required=True, metavar="URL",
                        help="URL de Prometheus que raspa la API (p. ej. http://127.0.0.1:9090)")
    parser.add_argument("--model-dir", metavar="CARPETA", help="carpeta del modelo (por defecto MODEL_DIR)")
    parser.add_argument("--umbrales", metavar="TOML", help="archivo de umbrales (por defecto el de la etapa)")
    args = parser.parse_args(argv)
    root = Path(args.model_dir) if args.model_dir else default_model_dir()
    try:
        limits = load_thresholds(args.umbrales)["juez"]
        decisions = Judge(root, args.prometheus.rstrip("/"), limits, log=lambda line: print(line, flush=True)).run()
    except (ModelError, PrometheusError, ThresholdsError, JudgeError, RuntimeError) as error:
        print(f"Error: {after_colon(str(error))}", file=sys.stderr)
        return 1
    return 0 if decisions[-1].action == PROMOTE else 4
