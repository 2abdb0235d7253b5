"""La referencia de la ficha: cómo eran los datos del entrenamiento, para saber si los de producción se parecen.

Para cada variable, los cortes (los deciles de los valores medidos) reparten los valores en tramos
«1», «2», …; el 0 de una variable en la que 0 significa «no medido» va a su propio tramo, «cero».
La ficha guarda qué parte de los datos del entrenamiento cayó en cada tramo (`shares`). La API cuenta
en qué tramo cae cada valor que recibe (etapa 01, métricas) y la etapa 05 compara ambas
distribuciones con el PSI (índice de estabilidad de la población). Lo mismo para el riesgo predicho.

Estas funciones son la ÚNICA definición de los tramos: las usan el entrenamiento, la API y la etapa 05.
`build_reference` (al final) es lo que escribe el entrenamiento en la ficha (`card["reference"]`).
"""

import bisect
import math

ZERO_BIN = "cero"
EPSILON = 1e-4  # una parte vacía no da log(0): se cuenta como una diezmilésima


def bin_labels(edges, zero_bin=False):
    """Los nombres de los tramos de unos cortes, en orden: ["cero",] "1", …, str(len(edges) + 1)."""
    return ([ZERO_BIN] if zero_bin else []) + [str(index + 1) for index in range(len(edges) + 1)]


def bin_of(edges, value, zero_bin=False):
    """El tramo de `value`: «cero» si es 0 y la variable tiene tramo cero; si no, «1» (≤ primer corte) … «N»."""
    if zero_bin and value == 0:
        return ZERO_BIN
    return str(bisect.bisect_left(edges, value) + 1)


def psi(expected, observed):
    """PSI entre dos repartos por tramos (dos listas de partes o de cuentas, en el mismo orden).

    Suma de (o − e) · ln(o / e) con las partes normalizadas. Regla habitual: < 0,1 estable;
    0,1–0,25 vigilar; > 0,25 ha cambiado.
    """
    if len(expected) != len(observed):
        raise ValueError("Los dos repartos deben tener los mismos tramos.")
    total_e, total_o = sum(expected), sum(observed)
    if total_e <= 0 or total_o <= 0:
        raise ValueError("Un reparto vacío no tiene PSI.")
    value = 0.0
    for e, o in zip(expected, observed, strict=True):
        e, o = max(e / total_e, EPSILON), max(o / total_o, EPSILON)
        value += (o - e) * math.log(o / e)
    return value


# --- La referencia que escribe el entrenamiento (card["reference"]) ---

SOURCE = "datos de entrenamiento"
RISK = "riesgo"  # el nombre del reparto del riesgo predicho en las métricas (feature="riesgo")
QUANTILES = {"p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}
DECILES = [index / 10 for index in range(1, 10)]
DECIMALS = 4  # los cortes se redondean ANTES de contar: la ficha y la API usan exactamente los mismos
SHARE_DECIMALS = 6


def shares(edges, values, zero_bin=False):
    """La parte de `values` que cae en cada tramo, en el orden de bin_labels(edges, zero_bin)."""
    labels = bin_labels(edges, zero_bin)
    counts = dict.fromkeys(labels, 0)
    for value in values:
        counts[bin_of(edges, float(value), zero_bin)] += 1
    total = max(len(values), 1)
    return [round(counts[label] / total, SHARE_DECIMALS) for label in labels]


def distribution(values, zero_bin=False):
    """Cuantiles, cortes (deciles únicos) y partes por tramo de una columna de valores.

    Con `zero_bin`, los cuantiles y los cortes son de los valores medidos (los distintos de 0);
    las partes cubren todas las filas (los 0 en el tramo «cero»).
    """
    import numpy as np

    values = np.asarray(values, dtype=float)
    measured = values[values != 0] if zero_bin else values
    if measured.size == 0:
        raise ValueError("No hay valores medidos para calcular la referencia.")
    edges = sorted({round(float(cut), DECIMALS) for cut in np.quantile(measured, DECILES)})
    return {
        "quantiles": {key: round(float(np.quantile(measured, q)), DECIMALS) for key, q in QUANTILES.items()},
        "edges": edges,
        "shares": shares(edges, values, zero_bin),
    }


def build_reference(X_train, proba_train, features, threshold=0.5):
    """card["reference"]: cómo eran las filas del entrenamiento y el riesgo que el modelo les da.

    `X_train`: matriz [filas, variables] en el orden de `features` (la lista de la ficha);
    `proba_train`: la probabilidad de la clase positiva que da el modelo servido a esas filas.
    """
    import numpy as np

    X_train, proba_train = np.asarray(X_train, dtype=float), np.asarray(proba_train, dtype=float)
    result = {"source": SOURCE, "rows": int(len(X_train)), "features": {}}
    for column, feature in enumerate(features):
        zero_bin = bool(feature["zero_means_missing"])
        values = X_train[:, column]
        result["features"][feature["name"]] = {
            "zero_share": round(float(np.mean(values == 0)), SHARE_DECIMALS), "zero_bin": zero_bin,
            **distribution(values, zero_bin)}
    result["risk"] = {**distribution(proba_train),
                      "positive_share": round(float(np.mean(proba_train >= threshold)), SHARE_DECIMALS)}
    return result
