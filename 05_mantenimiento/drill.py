"""`python -m maintenance drill`: simulacro de deriva contra una API en marcha, medido con Prometheus.

Tres tandas de pacientes (filas de los datos del taller, con semilla), enviadas en lotes a /v1/predict:

  referencia  la misma población: no debe saltar nada (si salta, el umbral es demasiado sensible).
  mayores     una población mayor: las mismas pacientes 15 años después (Age + 15, dentro del rango de
              la ficha). Debe saltar Age y ninguna otra variable.
  mmol        un cliente con un fallo de unidades: manda la glucosa en mmol/L (mg/dL ÷ 18). Lo que pasa
              de verdad: 5–11 mmol/L queda por debajo del mínimo de la ficha (40 mg/dL) y la API rechaza
              el lote con 422; el cliente, para no quedarse sin respuesta, lo reenvía con la glucosa en
              blanco (0 = «no medido», que el modelo imputa). La API cuenta los 422 (alerta
              RechazosValidacion) y el tramo «cero» de Glucose se dispara: debe saltar Glucose y nada más.

Tras cada tanda se espera a que Prometheus raspe la API y se calcula el PSI de lo que creció cada
contador durante la tanda (drift.counts_between). Sin --prometheus, arranca uno propio con alertas.yml
y, al final, dice qué alertas de deriva están activas.
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
import requests

from diabetes_api.metrics_versions import FLUSH_SECONDS
from diabetes_model.store import ModelError, default_model_dir
from diabetes_model.train import FEATURE_NAMES, load_data
from workshop.argparse_es import SpanishArgumentParser
from workshop.processes import wait_until
from workshop.spanish import number

from . import drift as drift_module
from . import prom
from .thresholds import ThresholdsError, load_thresholds

PREDICT_PATH = "/v1/predict"
RULES = Path(__file__).resolve().parent / "alertas.yml"
YEARS_OLDER = 15
MG_PER_MMOL = 18.0
SCENARIOS = {  # nombre → (qué es, variables que deben saltar)
    "referencia": ("la misma población que en el entrenamiento", set()),
    "mayores": (f"población mayor: las mismas pacientes {YEARS_OLDER} años después", {"Age"}),
    "mmol": ("un cliente manda la glucosa en mmol/L; ante el 422 la reenvía como «no medida» (0)", {"Glucose"}),
}


def patients(count, seed=0):
    """`count` pacientes de los datos del taller (con reposición, misma semilla → mismas pacientes)."""
    X, _ = load_data()
    rows = X[np.random.default_rng(seed).integers(0, len(X), count)]
    return [{name: (int(v) if float(v).is_integer() else float(v)) for name, v in zip(FEATURE_NAMES, row, strict=True)}
            for row in rows]


def older(patient, card_max=100):
    return {**patient, "Age": min(patient["Age"] + YEARS_OLDER, card_max)}


def in_mmol(patient):
    glucose = patient["Glucose"]
    return {**patient, "Glucose": round(glucose / MG_PER_MMOL, 1) if glucose else 0}


def unmeasured_glucose(patient):
    return {**patient, "Glucose": 0}


def send(session, url, rows, batch, headers):
    """Envía las filas en lotes; devuelve {código: peticiones} y las filas rechazadas con 422."""
    statuses, rejected = {}, []
    for start in range(0, len(rows), batch):
        part = rows[start:start + batch]
        answer = session.post(url, json={"instances": part}, headers=headers, timeout=30)
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        if answer.status_code == 422:
            rejected.extend(part)
    return statuses, rejected


def traffic(name, rows, session, url, batch, headers):
    """Una tanda: lo que manda el cliente de ese escenario y lo que le contesta la API."""
    if name == "mayores":
        return send(session, url, [older(row) for row in rows], batch, headers)
    if name == "mmol":
        first, rejected = send(session, url, [in_mmol(row) for row in rows], batch, headers)
        retry, _ = send(session, url, [unmeasured_glucose(row) for row in rejected], batch, headers)
        return {f"{code} (1.er envío)": n for code, n in first.items()} | \
            {f"{code} (reenvío sin glucosa)": n for code, n in retry.items()}, rejected
    return send(session, url, rows, batch, headers)


def last_scrape(prom_url):
    return prom.value(prom_url, "max(timestamp(up))", default=0.0)


def wait_for_scrape_after(prom_url, moment, timeout=20.0):
    """Espera a que Prometheus raspe la API después de `moment`; devuelve la hora de ese raspado."""
    return wait_until(lambda: (last_scrape(prom_url) or 0) > moment and last_scrape(prom_url), timeout,
                      message=f"Prometheus no raspó la API en {timeout:.0f} s.", interval=0.2)


def run_scenario(name, rows, api_url, prom_url, drift, model_dir, batch=25, headers=None):
    """Manda una tanda y devuelve su resultado: respuestas, tabla de PSI por versión y si saltó lo debido."""
    session = requests.Session()
    since = time.time()
    statuses, rejected = traffic(name, rows, session, api_url + PREDICT_PATH, batch, headers or {})
    # Lo contado por la API llega a /metrics como mucho FLUSH_SECONDS después: se espera a un raspado posterior.
    until = wait_for_scrape_after(prom_url, time.time() + FLUSH_SECONDS)
    counts = drift_module.counts_between(prom_url, since, until)
    tables = drift_module.tables(counts, drift, model_dir)
    expected = SCENARIOS[name][1]
    measured = {version: rows_ for version, rows_ in tables.items()
                if all(row["verdict"] != drift_module.SHORT for row in rows_ if row["variable"] != drift_module.RISK)}
    flagged = {version: sorted(drift_module.flagged(rows_)) for version, rows_ in measured.items()}
    return {"scenario": name, "what": SCENARIOS[name][0], "rows": len(rows), "rejected_rows": len(rejected),
            "statuses": {str(code): n for code, n in statuses.items()}, "expected": sorted(expected),
            "flagged": flagged, "tables": tables,
            "ok": bool(measured) and all(set(found) == expected for found in flagged.values())}


def run_drill(api_url, prom_url, model_dir=None, rows=1500, batch=25, seed=0, scenarios=tuple(SCENARIOS), log=print,
              headers=None):
    """Las tandas del simulacro, una tras otra; devuelve sus resultados (con la tabla de PSI de cada una)."""
    drift = load_thresholds()["deriva"]
    model_dir = Path(model_dir) if model_dir else default_model_dir()
    chosen = patients(rows, seed)
    results = []
    for name in scenarios:
        log(f"\n-- Tanda «{name}»: {SCENARIOS[name][0]} ({number(rows, 0)} pacientes en lotes de {batch})")
        result = run_scenario(name, chosen, api_url, prom_url, drift, model_dir, batch, headers)
        log(describe(result))
        results.append(result)
    return results


def describe(result):
    """El resultado de una tanda para una persona: respuestas, tablas y si saltó lo que debía."""
    answers = ", ".join(f"{n} × {code}" for code, n in result["statuses"].items())
    lines = [f"Respuestas de la API (peticiones): {answers}."]
    for version, rows in result["tables"].items():
        lines.append(drift_module.format_table(version, rows))
    expected = ", ".join(result["expected"]) or "ninguna"
    found = "; ".join(f"{v}: {', '.join(f) or 'ninguna'}" for v, f in result["flagged"].items()) or "—"
    lines.append(f"Debía saltar: {expected}. Saltó (alerta): {found}. "
                 + ("Correcto." if result["ok"] else "NO es lo esperado."))
    return "\n".join(lines)


def summary(results):
    """Lo esencial, para un registro JSON: PSI por tanda, versión y variable; y si cada tanda acertó."""
    return {result["scenario"]: {"ok": result["ok"], "expected": result["expected"], "flagged": result["flagged"],
                                 "statuses": result["statuses"],
                                 "psi": {version: {row["variable"]: row["psi"] for row in rows}
                                         for version, rows in result["tables"].items()}}
            for result in results}


def demo_step(api_url, prom_url, model_dir=None, log=print):
    """El paso (c) de `make demo-5`: el simulacro con la carga de la demo de fondo. Devuelve el resumen."""
    results = run_drill(api_url, prom_url, model_dir, log=log)
    return summary(results)


def active_drift_alerts(prom_url):
    """Las alertas activas (pendientes o disparadas) de alertas.yml: [(nombre, variable, estado, valor)]."""
    return [(alert["labels"]["alertname"], alert["labels"].get("feature", "riesgo"), alert["state"],
             float(alert.get("value", "nan"))) for alert in prom.alerts(prom_url)
            if alert["labels"]["alertname"].startswith(("Deriva", "RechazosValidacion"))]


def wait_for_alerts(prom_url, features, timeout=15.0):
    """Las alertas activas cuando ya están las de `features` (las reglas se evalúan cada segundo), o a los
    `timeout` s las que haya."""
    found = []

    def ready():
        found[:] = active_drift_alerts(prom_url)
        names = {f"DerivaVariable* {feature}" for feature in features}
        names |= {"RechazosValidacion"} if "Glucose" in features else set()
        return names <= {f"DerivaVariable* {feature}" if name.startswith("DerivaVariable") else name
                         for name, feature, _, _ in found}

    try:
        wait_until(ready, timeout, interval=0.5)
    except RuntimeError:
        pass  # se dicen las que hay: que falte una es justo lo que hay que ver
    return found


def parser():
    command = SpanishArgumentParser(prog="python -m maintenance drill",
                                    description="Simulacro de deriva: tráfico desplazado contra una API en marcha.")
    command.add_argument("--api", default=os.environ.get("API_URL", "http://127.0.0.1:8000"), metavar="URL",
                         help="la API en marcha (API_URL; por defecto http://127.0.0.1:8000)")
    command.add_argument("--prometheus", metavar="URL",
                         help="un Prometheus que ya raspa la API (si no, se arranca uno con alertas.yml)")
    command.add_argument("--filas", type=int, default=1500, metavar="N", help="pacientes por tanda (1.500)")
    command.add_argument("--tandas", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS), metavar="TANDA",
                         help="cuáles: " + ", ".join(SCENARIOS))
    command.add_argument("--modelo", metavar="CARPETA", help="MODEL_DIR con las fichas (por defecto, el del taller)")
    return command


def main(argv=None):
    args = parser().parse_args(argv)
    key = os.environ.get("API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        if args.prometheus:
            results = run_drill(args.api, args.prometheus, args.modelo, args.filas, scenarios=args.tandas,
                                headers=headers)
        else:
            with prom.running([args.api.split("//", 1)[-1].rstrip("/")], rule_files=[RULES]) as server:
                print(f"Prometheus propio en {server.url} (PID {server.process.pid}), con alertas.yml.")
                prom.wait_for_targets(server.url)
                results = run_drill(args.api, server.url, args.modelo, args.filas, scenarios=args.tandas,
                                    headers=headers)
                expected = {feature for name in args.tandas for feature in SCENARIOS[name][1]}
                alerts = wait_for_alerts(server.url, expected)
                print("\nAlertas activas (ventana de 1 min; «pending» hasta que se cumpla su «for»): "
                      + ("; ".join(f"{n} {f} ({s}, {number(v, 3)})" for n, f, s, v in alerts) or "ninguna"))
    except (ModelError, ThresholdsError, prom.PrometheusError, drift_module.DriftError,
            requests.RequestException, RuntimeError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0 if all(result["ok"] for result in results) else 2
