"""`python -m maintenance quality`: ¿acierta el modelo? Solo se sabe cuando llegan los resultados.

En el esquema de base de datos compartida de la etapa 04, el trabajo por lotes puntúa las pacientes
(`predictions`, por versión). Meses después llega el diagnóstico de algunas: la tabla `outcomes`
(patient_id, outcome 0/1, observed_at). Con las que ya tienen resultado, por versión: ROC AUC, Brier
y una tabla de calibración por deciles de riesgo, siempre con cuántas pacientes.

`--simular` prepara ese mundo con el conjunto de PRUEBA de train.py (misma semilla y misma partición):
escribe esas pacientes en `patients`, ejecuta el lote con la versión publicada y hace llegar el
diagnóstico real de una parte de ellas (`--parte`). Ojo: la versión publicada se reentrena con todas
las filas (también estas), así que su AUC aquí es algo optimista; la de la ficha (conjunto de prueba
con el modelo sin reentrenar) es la honesta.

Solo numpy para las cifras (el AUC, por rangos: la probabilidad de que una paciente con diabetes
tenga más riesgo que una sin ella; los empates cuentan medio).
"""

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime

import numpy as np

from workshop.argparse_es import SpanishArgumentParser
from workshop.environment import root
from workshop.spanish import number

ID_OFFSET = 900_000  # ids de las pacientes simuladas: no chocan con las de `make demo-4`
DECILES = 10
RECORD = root() / "docs" / "cifras" / "calidad.json"


def ensure_outcomes(db):
    with db.transaction():
        db.execute("""CREATE TABLE IF NOT EXISTS outcomes (
  patient_id BIGINT PRIMARY KEY,
  outcome INTEGER NOT NULL,
  observed_at DOUBLE PRECISION NOT NULL)""")


def roc_auc(labels, scores):
    """ROC AUC por rangos (Mann–Whitney), con empates a medias; None si falta una de las dos clases."""
    labels, scores = np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    for end in range(1, len(scores) + 1):  # rango medio de cada grupo de empates
        if end == len(scores) or sorted_scores[end] != sorted_scores[start]:
            ranks[order[start:end]] = (start + end + 1) / 2
            start = end
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def brier(labels, scores):
    """Error cuadrático medio de la probabilidad frente al resultado (0 perfecto; 0,25 es decir siempre 0,5)."""
    return float(np.mean((np.asarray(scores, dtype=float) - np.asarray(labels, dtype=float)) ** 2))


def calibration(labels, scores, bins=DECILES):
    """Por tramos de riesgo de 0,1: cuántas pacientes, riesgo medio predicho y parte que tuvo diabetes."""
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    index = np.minimum((scores * bins).astype(int), bins - 1)
    table = []
    for k in range(bins):
        chosen = index == k
        if chosen.any():
            table.append({"low": k / bins, "high": (k + 1) / bins, "n": int(chosen.sum()),
                          "predicted": float(scores[chosen].mean()), "observed": float(labels[chosen].mean())})
    return table


def quality_by_version(db):
    """{versión: cifras} con las pacientes que ya tienen resultado y la predicción de esa versión."""
    rows = db.query("""SELECT r.model_version, o.outcome, r.probability FROM predictions r
JOIN outcomes o ON o.patient_id = r.patient_id ORDER BY r.model_version, r.patient_id""")
    scored = db.query("SELECT model_version, COUNT(*) FROM predictions GROUP BY model_version")
    result = {}
    for version, total in scored:
        labels = [row[1] for row in rows if row[0] == version]
        scores = [row[2] for row in rows if row[0] == version]
        result[version] = {"scored": int(total), "with_outcome": len(labels), "positives": int(sum(labels)),
                           "roc_auc": roc_auc(labels, scores) if labels else None,
                           "brier": brier(labels, scores) if labels else None,
                           "calibration": calibration(labels, scores) if labels else []}
    return result


def simulate(db, share=0.5, seed=None, model_dir=None, log=print):
    """Las pacientes de prueba de train.py puntuadas por el lote y el diagnóstico de una parte de ellas."""
    from diabetes_model.train import FEATURE_NAMES, REFERENCE_SEED, load_data, split_data
    from schemes.batch import ensure_schema, run_batch, write_patients
    from schemes.common import live_model

    model = live_model(model_dir)
    _, X_test, _, y_test = split_data(*load_data(), REFERENCE_SEED if seed is None else seed)
    ensure_schema(db, model.card["features"])
    ensure_outcomes(db)
    patients = [(ID_OFFSET + i, dict(zip(FEATURE_NAMES, (float(v) for v in row), strict=True)))
                for i, row in enumerate(X_test)]
    write_patients(db, model.card["features"], patients)
    run_batch(db, model, log=log)
    arrived = int(round(share * len(patients)))
    now = time.time()
    with db.transaction():
        db.executemany("INSERT INTO outcomes (patient_id, outcome, observed_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (patient_id) DO UPDATE SET outcome = excluded.outcome, "
                       "observed_at = excluded.observed_at",
                       [(ID_OFFSET + i, int(y_test[i]), now) for i in range(arrived)])
    log(f"Simulado: {len(patients)} pacientes del conjunto de prueba puntuadas por {model.version}; "
        f"han llegado {arrived} diagnósticos ({number(100 * share, 0)} %).")
    return model.version


def format_report(result):
    lines = []
    for version, figures in result.items():
        lines.append(f"Versión {version}: {number(figures['with_outcome'], 0)} pacientes con resultado de "
                     f"{number(figures['scored'], 0)} puntuadas ({number(figures['positives'], 0)} con diabetes).")
        if not figures["with_outcome"]:
            lines.append("  Todavía no ha llegado ningún resultado: no se puede medir.")
            continue
        lines.append(f"  ROC AUC {number(figures['roc_auc'], 3)} · Brier {number(figures['brier'], 3)} "
                     "(0 es perfecto; 0,25, decir siempre 0,5)")
        lines.append(f"  {'riesgo predicho':<16} {'pacientes':>9} {'riesgo medio':>13} {'con diabetes':>13}")
        for row in figures["calibration"]:
            span = f"{number(row['low'], 1)}–{number(row['high'], 1)}"
            lines.append(f"  {span:<16} {row['n']:>9} "
                         f"{number(100 * row['predicted'], 1) + ' %':>13} "
                         f"{number(100 * row['observed'], 1) + ' %':>13}")
    return "\n".join(lines) or ("No hay predicciones en la base de datos: ejecuta el lote (etapa 04) "
                                   "o usa --simular.")


def write_record(result, command, path=RECORD):
    """El registro de cifras (docs/cifras/calidad.json) de una ejecución real."""
    version, data = max(result.items(), key=lambda item: item[1]["with_outcome"])  # la más medida
    figures = {"puntuadas": data["scored"], "pacientes_con_resultado": data["with_outcome"],
               "con_diabetes": data["positives"], "roc_auc": round(data["roc_auc"], 4),
               "brier": round(data["brier"], 4)}
    payload = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
               "machine": {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
                           "os": platform.platform(), "python": platform.python_version()},
               "command": command, "model_version": version, "figures": figures,
               "calibration": data["calibration"],
               "nota": "Conjunto de prueba de train.py (semilla 42) puntuado por el lote de la etapa 04 con la "
                       "versión publicada, que se reentrenó con todas las filas: AUC algo optimista."}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def parser():
    command = SpanishArgumentParser(prog="python -m maintenance quality",
                                    description="Calidad por versión con los resultados que van llegando.")
    command.add_argument("--base-de-datos", metavar="URL",
                         help="DATABASE_URL del esquema de base de datos compartida (por defecto, el de la etapa 04)")
    command.add_argument("--simular", action="store_true",
                         help="prepara las pacientes de prueba, ejecuta el lote y hace llegar "
                              "una parte de los resultados")
    command.add_argument("--parte", type=float, default=0.5, metavar="P",
                         help="con --simular, la parte de diagnósticos que ya ha llegado (0,5)")
    command.add_argument("--registro", action="store_true", help=f"escribe las cifras en {RECORD.relative_to(root())}")
    return command


def main(argv=None):
    from schemes.batch import opened

    args = parser().parse_args(argv)
    if not 0 <= args.parte <= 1:
        print(f"Error: --parte {args.parte} debe estar entre 0 y 1.", file=sys.stderr)
        return 2
    try:
        with opened(args.base_de_datos) as db:
            if args.simular:
                simulate(db, args.parte, log=print)
            ensure_outcomes(db)
            result = quality_by_version(db)
    except RuntimeError as error:  # SchemesError, ModelError…: una frase
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(format_report(result))
    if args.registro:
        print(f"Registro: {write_record(result, 'python -m maintenance quality ' + ' '.join(argv or sys.argv[1:]))}")
    return 0
