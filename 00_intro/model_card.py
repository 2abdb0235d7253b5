"""La ficha del modelo (`model.json`): qué es, cómo se entrenó, qué espera y cuánto acierta."""

import hashlib
import json
import os
import platform
from datetime import UTC, datetime

import joblib
import numpy as np
import sklearn

from features import CLASSES, FEATURES

CARD_SCHEMA_VERSION = 1


def file_sha256(path):
    """sha256 de un archivo, leído por bloques (hashlib.file_digest, Python 3.11)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def model_version(data_sha256, code_sha256, estimator_name, params, seed):
    """Versión reproducible: cambia si cambian los datos, el código o los parámetros."""
    recipe = json.dumps(
        [data_sha256, code_sha256, estimator_name, params, seed], sort_keys=True, default=str
    )
    return "v-" + hashlib.sha256(recipe.encode()).hexdigest()[:12]


def build_card(*, estimator_name, estimator, seed, data_path, data_rows, model_sha256,
               cv_results, test_metrics, code_sha256):
    """Reúne en un diccionario todo lo que las demás etapas necesitan saber del modelo."""
    params = {key: value for key, value in estimator.get_params().items() if _is_plain(value)}
    data_sha256 = file_sha256(data_path)
    best = cv_results[estimator_name]
    return {
        "card_schema_version": CARD_SCHEMA_VERSION,
        "name": "riesgo-diabetes",
        "version": model_version(data_sha256, code_sha256, estimator_name, params, seed),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "description": "Probabilidad de diagnóstico de diabetes en cinco años (datos Pima Indians).",
        "environment": {
            "python": platform.python_version(),
            "scikit_learn": sklearn.__version__,
            "numpy": np.__version__,
            "joblib": joblib.__version__,
        },
        "data": {"file": data_path.name, "sha256": data_sha256, "rows": data_rows},
        "model_file": {"name": "model.joblib", "sha256": model_sha256},
        "code_sha256": code_sha256,
        "estimator": {"name": estimator_name, "class": type(estimator).__name__,
                      "params": params, "seed": seed},
        "metrics": {
            "cv_folds": 5,
            "cv_roc_auc_mean": best["mean"],
            "cv_roc_auc_std": best["std"],
            "cv_results": cv_results,
            "test": test_metrics,
        },
        "threshold": 0.5,
        "classes": CLASSES,
        "features": FEATURES,
    }


def write_card(card, path):
    """Escribe la ficha en JSON legible (UTF-8, con acentos)."""
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _is_plain(value):
    return value is None or isinstance(value, (bool, int, float, str))
