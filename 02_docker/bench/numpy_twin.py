"""La misma predicción que el pipeline, escrita a mano con numpy (solo para medir).

Sirve para ver qué parte del coste de `predict_proba` es aritmética y qué parte es la
maquinaria de scikit-learn (comprobaciones, copias, despacho entre pasos). Solo sabe hacerlo
con el pipeline del taller (imputar ceros → escalar → regresión logística); con otro devuelve
None y el benchmark omite la línea. Antes de usarla se comprueba que da el mismo resultado.
"""

import math

import numpy as np


def numpy_twin(pipeline):
    """Una función fila → probabilidad de la clase 1, o None si el pipeline no es el esperado."""
    try:
        impute, scale, linear = (step for _, step in pipeline.steps)
        (_, imputer, columns), = [t for t in impute.transformers_ if t[0] != "remainder"]
        count = len(columns)
        # ColumnTransformer pone primero las columnas imputadas y después las demás.
        order = [*columns, *(i for i in range(impute.n_features_in_) if i not in set(columns))]
        medians, mean, spread = imputer.statistics_, scale.mean_, scale.scale_
        coef, intercept = linear.coef_[0], float(linear.intercept_[0])
        if list(linear.classes_) != [0, 1] or imputer.missing_values != 0:
            return None
    except (AttributeError, TypeError, ValueError):
        return None

    def probability(row):
        x = row[0, order]  # copia, en el orden de salida del ColumnTransformer
        head = x[:count]
        missing = head == 0
        head[missing] = medians[missing]
        return 1.0 / (1.0 + math.exp(-(float((x - mean) / spread @ coef) + intercept)))

    return probability


def same_predictions(pipeline, twin, rows):
    """Comprueba el gemelo con las filas dadas y con una fila de ceros (que pasa por la imputación)."""
    rows = np.vstack([rows, np.zeros((1, rows.shape[1]))])
    expected = pipeline.predict_proba(rows)[:, 1]
    return np.allclose([twin(rows[i:i + 1]) for i in range(len(rows))], expected, rtol=1e-9, atol=1e-12)
