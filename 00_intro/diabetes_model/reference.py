"""La referencia de la ficha: cómo eran los datos del entrenamiento, para saber si los de producción se parecen.

Para cada variable, los cortes (los deciles de los valores medidos) reparten los valores en tramos
«1», «2», …; el 0 de una variable en la que 0 significa «no medido» va a su propio tramo, «cero».
La ficha guarda qué parte de los datos del entrenamiento cayó en cada tramo (`shares`). La API cuenta
en qué tramo cae cada valor que recibe (etapa 01, métricas) y la etapa 05 compara ambas
distribuciones con el PSI (índice de estabilidad de la población). Lo mismo para el riesgo predicho.

Estas funciones son la ÚNICA definición de los tramos: las usan el entrenamiento, la API y la etapa 05.
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
