"""`python -m maintenance drift`: ¿se parecen los datos que llegan a los del entrenamiento?

Para cada versión del modelo, cuenta cuántos valores de cada variable cayeron en cada tramo de la
referencia de su ficha (`card["reference"]`, diabetes_model.reference) y calcula el PSI frente a las
partes del entrenamiento; lo mismo para el riesgo predicho. Dos fuentes:

  - Prometheus (por defecto): la API cuenta sus peticiones en `diabetes_api_feature_bin_total` y
    `diabetes_api_risk_bin_total`; se pregunta cuánto creció cada contador en la ventana (o entre dos
    instantes: `counts_between`, lo que usa el simulacro).
  - El lote de la etapa 04 (`--fuente lote`): las pacientes de la tabla `patients` con la predicción de
    la versión en `predictions`.

Veredicto (umbrales.toml, [deriva]): estable si PSI < vigilar (0,1); vigilar si < alerta (0,25); alerta si no.
Con menos de `muestra_minima` valores, «muestra corta»: el PSI sale, pero no se decide nada con él.
"""

import os
import sys
from pathlib import Path

from diabetes_model import versions
from diabetes_model.reference import ZERO_BIN, bin_labels, bin_of, psi
from diabetes_model.store import ModelError, default_model_dir, read_card
from workshop.argparse_es import SpanishArgumentParser
from workshop.environment import root
from workshop.spanish import number

from . import prom
from .thresholds import ThresholdsError, load_thresholds

RISK = "riesgo"
STABLE, WATCH, ALERT, SHORT = "estable", "vigilar", "alerta", "muestra corta"
DEFAULT_PROMETHEUS = "http://127.0.0.1:9090"
FEATURE_QUERY = "sum by (model_version, feature, bin) ({})"
RISK_QUERY = "sum by (model_version, bin) ({})"


class DriftError(RuntimeError):
    """Algo que impide calcular la deriva; el mensaje es una frase en español."""


# ------------------------------------------------------------------ cuentas por tramo


def empty_counts():
    return {"features": {}, "risk": {}}


def _add(counts, feature, bin_label, amount):
    target = counts["risk"] if feature == RISK else counts["features"].setdefault(feature, {})
    target[bin_label] = target.get(bin_label, 0.0) + amount


def _collect(prom_url, metric_expr, time=None):
    """{versión: cuentas} de una consulta de contadores (o de sus aumentos)."""
    result = {}
    for labels, value in prom.query(prom_url, FEATURE_QUERY.format(metric_expr.format("feature_bin")), time):
        _add(result.setdefault(labels["model_version"], empty_counts()), labels["feature"], labels["bin"], value)
    for labels, value in prom.query(prom_url, RISK_QUERY.format(metric_expr.format("risk_bin")), time):
        _add(result.setdefault(labels["model_version"], empty_counts()), RISK, labels["bin"], value)
    return result


def counts_from_prometheus(prom_url, window_s=60.0):
    """Lo que creció cada contador de tramos en los últimos `window_s` segundos, por versión."""
    return _collect(prom_url, "increase(diabetes_api_{}_total[" + f"{int(window_s)}s])")


def counts_between(prom_url, since, until):
    """Lo que creció cada contador entre dos instantes (segundos de época): cuentas exactas, por versión.

    Prometheus da en cada instante la última muestra raspada hasta entonces; un tramo que no existía en
    `since` empieza en 0.
    """
    before, after = (_collect(prom_url, "diabetes_api_{}_total", moment) for moment in (since, until))
    result = {}
    for version, counts in after.items():
        old = before.get(version, empty_counts())
        diff = result.setdefault(version, empty_counts())
        for feature, bins in counts["features"].items():
            for label, value in bins.items():
                _add(diff, feature, label, value - old["features"].get(feature, {}).get(label, 0.0))
        for label, value in counts["risk"].items():
            _add(diff, RISK, label, value - old["risk"].get(label, 0.0))
    return result


def counts_from_rows(card, rows, probabilities=()):
    """Las cuentas de unas filas (dicts por nombre de variable) con los tramos de la ficha."""
    reference, counts = card["reference"], empty_counts()
    for name, spec in reference["features"].items():
        for row in rows:
            _add(counts, name, bin_of(spec["edges"], float(row[name]), spec["zero_bin"]), 1)
    for probability in probabilities:
        _add(counts, RISK, bin_of(reference["risk"]["edges"], float(probability)), 1)
    return counts


def counts_from_batch(database_url=None, version=None):
    """{versión: cuentas} de las pacientes del lote (etapa 04) puntuadas por cada versión (o solo `version`)."""
    from schemes.batch import column_name, opened

    result = {}
    with opened(database_url) as db:
        found = [version] if version else [row[0] for row in db.query(
            "SELECT DISTINCT model_version FROM predictions ORDER BY model_version")]
        for name in found:
            card = load_card(name)
            features = [f["name"] for f in card["features"]]
            rows = db.query(f"SELECT {', '.join(f'p.{column_name(f)}' for f in features)}, r.probability "
                            "FROM patients p JOIN predictions r ON r.patient_id = p.id WHERE r.model_version = ?",
                            (name,))
            result[name] = counts_from_rows(card, [dict(zip(features, row[:-1], strict=True)) for row in rows],
                                            [row[-1] for row in rows])
    return result


# ------------------------------------------------------------------ la tabla


def load_card(version, model_dir=None):
    """La ficha de una versión guardada en MODEL_DIR (con su referencia)."""
    folder = versions.version_dir(Path(model_dir) if model_dir else default_model_dir(), version)
    card = read_card(folder)
    if "reference" not in card:
        raise DriftError(f"La ficha de {version} no tiene referencia (es de antes de la etapa 05): "
                         "no hay con qué comparar. Reentrena con `make model`.")
    return card


def verdict(value, drift, sample, minimum):
    if sample < minimum:
        return SHORT
    return STABLE if value < drift["vigilar"] else WATCH if value < drift["alerta"] else ALERT


def bin_range(edges, label):
    """El intervalo de un tramo, para una persona: «0 (no medido)», «≤ 87», «87–95,8», «> 167,1»."""
    if label == ZERO_BIN:
        return "0 (no medido)"
    index = int(label) - 1
    if index == 0:
        return f"≤ {_short(edges[0])}"
    if index == len(edges):
        return f"> {_short(edges[-1])}"
    return f"{_short(edges[index - 1])}–{_short(edges[index])}"


def _short(value):
    return number(value, 0 if float(value).is_integer() else 2 if abs(value) < 10 else 1)


def row_for(name, label, spec, observed, drift):
    """Una fila de la tabla: PSI, veredicto y el tramo que más cambió (de qué parte a qué parte)."""
    labels = bin_labels(spec["edges"], spec.get("zero_bin", False))
    counts = [max(observed.get(item, 0.0), 0.0) for item in labels]
    total = sum(counts)
    value = psi(spec["shares"], counts) if total > 0 else None
    change = ""
    if total > 0:
        moved = max(range(len(labels)), key=lambda i: abs(counts[i] / total - spec["shares"][i]))
        change = (f"{bin_range(spec['edges'], labels[moved])}: {number(100 * spec['shares'][moved], 1)} % → "
                  f"{number(100 * counts[moved] / total, 1)} %")
    return {"variable": name, "label": label, "n": round(total), "psi": value,
            "verdict": verdict(value or 0.0, drift, total, drift["muestra_minima"]), "change": change}


def drift_table(card, counts, drift):
    """Las filas de la tabla de una versión: una por variable de la ficha y una para el riesgo."""
    reference = card["reference"]
    labels = {feature["name"]: feature.get("label", feature["name"]) for feature in card["features"]}
    rows = [row_for(name, labels.get(name, name), spec, counts["features"].get(name, {}), drift)
            for name, spec in reference["features"].items()]
    rows.append(row_for(RISK, "Riesgo predicho", reference["risk"], counts["risk"], drift))
    return rows


def format_table(version, rows):
    names = [f"{row['label']} ({row['variable']})" if row["variable"] != RISK else row["label"] for row in rows]
    width = max(len(name) for name in [*names, "variable"])
    head = f"{'variable':<{width}} {'n':>7} {'PSI':>7}  {'veredicto':<13} tramo que más cambió (entrenamiento → ahora)"
    lines = [f"Versión {version}", head, "-" * len(head)]
    for name, row in zip(names, rows, strict=True):
        lines.append(f"{name:<{width}} {number(row['n'], 0):>7} {number(row['psi'], 3):>7}  {row['verdict']:<13} "
                     f"{row['change']}")
    return "\n".join(lines)


def flagged(rows, level=ALERT):
    """Las variables (sin el riesgo) con ese veredicto o peor: {'Age', …}."""
    worse = {WATCH: {WATCH, ALERT}, ALERT: {ALERT}}[level]
    return {row["variable"] for row in rows if row["variable"] != RISK and row["verdict"] in worse}


def tables(counts_by_version, drift, model_dir=None, version=None):
    """{versión: filas} para las versiones con cuentas (o solo `version`)."""
    chosen = [version] if version else sorted(counts_by_version)
    return {name: drift_table(load_card(name, model_dir), counts_by_version.get(name, empty_counts()), drift)
            for name in chosen}


# ------------------------------------------------------------------ el dibujo


COLORS = {STABLE: "#2e7d32", WATCH: "#f9a825", ALERT: "#c62828", SHORT: "#9e9e9e"}


def plot(version, rows, path, drift, title=None):
    """Barras horizontales del PSI por variable, con las rayas de «vigilar» y «alerta». Devuelve la ruta."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    names = [row["label"] for row in rows][::-1]
    values = [row["psi"] or 0.0 for row in rows][::-1]
    figure, axes = plt.subplots(figsize=(8, 4.8))
    axes.barh(names, values, color=[COLORS[row["verdict"]] for row in rows][::-1])
    for level, text in ((drift["vigilar"], "vigilar"), (drift["alerta"], "alerta")):
        axes.axvline(level, color="#555555", linestyle="--", linewidth=1)
        axes.text(level, len(names) - 0.4, f" {text} ({number(level, 2)})", fontsize=8, va="bottom")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: number(x, 2)))
    axes.set_xlabel("PSI frente a los datos del entrenamiento (índice de estabilidad de la población)")
    axes.set_title(title or f"Deriva de la versión {version}")
    axes.legend(handles=[Patch(color=color, label=label) for label, color in COLORS.items()], fontsize=8,
                loc="lower right")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# ------------------------------------------------------------------ la orden


def parser():
    command = SpanishArgumentParser(prog="python -m maintenance drift",
                                    description="PSI por variable y del riesgo frente a la referencia de la ficha.")
    command.add_argument("--fuente", choices=["prometheus", "lote"], default="prometheus",
                         help="de dónde salen las cuentas: Prometheus (por defecto) o la tabla del lote de la etapa 04")
    command.add_argument("--prometheus", default=os.environ.get("PROMETHEUS_URL", DEFAULT_PROMETHEUS), metavar="URL",
                         help=f"Prometheus que raspa la API (PROMETHEUS_URL; por defecto {DEFAULT_PROMETHEUS})")
    command.add_argument("--ventana", type=float, metavar="S",
                         help="segundos hacia atrás (por defecto, deriva.ventana_s de umbrales.toml)")
    command.add_argument("--base-de-datos", metavar="URL",
                         help="DATABASE_URL del lote (por defecto, el de la etapa 04)")
    command.add_argument("--version", help="solo esta versión (por defecto, todas las que tienen cuentas)")
    command.add_argument("--modelo", metavar="CARPETA", help="MODEL_DIR con las fichas (por defecto, el del taller)")
    command.add_argument("--imagen", metavar="PNG", default=str(root() / "results" / "deriva.png"),
                         help="dónde dibujar el PSI (por defecto results/deriva.png; «-» para no dibujar)")
    return command


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        drift = load_thresholds()["deriva"]
        if args.fuente == "lote":
            counts = counts_from_batch(args.base_de_datos, args.version)
        else:
            counts = counts_from_prometheus(args.prometheus, args.ventana or drift["ventana_s"])
        if not counts and not args.version:
            print("No hay cuentas por tramo todavía: ¿recibe peticiones la API y tiene su ficha referencia?")
            return 1
        found = tables(counts, drift, args.modelo, args.version)
    except (DriftError, ModelError, ThresholdsError, prom.PrometheusError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except RuntimeError as error:  # SchemesError de la etapa 04 (base de datos)
        print(f"Error: {error}", file=sys.stderr)
        return 1
    for version, rows in found.items():
        print(format_table(version, rows) + "\n")
        if args.imagen != "-":
            path = Path(args.imagen)
            if len(found) > 1:
                path = path.with_name(f"{path.stem}-{version}{path.suffix}")
            print(f"Dibujo: {plot(version, rows, path, drift)}\n")
    print(f"PSI: estable < {number(drift['vigilar'], 2)} ≤ vigilar < {number(drift['alerta'], 2)} ≤ alerta; "
          f"con menos de {number(drift['muestra_minima'], 0)} valores, «{SHORT}».")
    return 2 if any(flagged(rows) for rows in found.values()) else 0
