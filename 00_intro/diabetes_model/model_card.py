"""La ficha del modelo (`model.json`): qué es, cómo se entrenó, qué espera, cuánto acierta y qué archivos
la acompañan (con su sha256), más la comprobación de que el grafo ONNX da lo mismo que scikit-learn."""

import hashlib
import json
import os
import platform
from datetime import UTC, datetime
from importlib.metadata import version as installed_version

from diabetes_model.features import CLASSES, FEATURES

# 3: añade "reference" (la referencia de los datos del entrenamiento, diabetes_model.reference). Una ficha
# 2, sin "reference", se sigue cargando y sirviendo: solo no se cuentan sus métricas de deriva.
CARD_SCHEMA_VERSION = 3
# Librerías que escriben o comprueban los artefactos: si cambia alguna, cambia la versión del modelo
# (la API se niega a servir un joblib o un ONNX con una versión distinta de la de la ficha).
LIBRARIES = ("numpy", "scikit-learn", "joblib", "skl2onnx", "onnx", "onnxruntime")


def file_sha256(path):
    """sha256 de un archivo, leído por bloques (hashlib.file_digest, Python 3.11)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def library_versions():
    """Python y las librerías de LIBRARIES, leídas de los metadatos instalados."""
    return {"python": platform.python_version(), **{name: installed_version(name) for name in LIBRARIES}}


def model_version(*, data_sha256, code_sha256, seed, opset):
    """La versión es la huella de la receta: datos, código, semilla, librerías y opset de ONNX.

    Se calcula ANTES de entrenar: la misma receta da siempre la misma versión (y su carpeta se reutiliza).
    """
    recipe = json.dumps([data_sha256, code_sha256, seed, library_versions(), opset], sort_keys=True)
    return "v-" + hashlib.sha256(recipe.encode()).hexdigest()[:12]


def build_card(*, version, estimator_name, estimator, seed, data_path, data_rows, data_sha256, code_sha256,
               cv_results, test_metrics, folder, opset, parity, threshold, cv_folds, reference=None):
    """Reúne en un diccionario todo lo que las demás etapas necesitan saber del modelo.

    `folder` es la carpeta donde ya están `model.joblib` y `model.onnx` (se calcula su sha256);
    `threshold` y `cv_folds` son las constantes del entrenamiento (`train.THRESHOLD`, `train.CV_FOLDS`);
    `reference`, lo que da `reference.build_reference` con las filas del entrenamiento (None: sin referencia).
    """
    libraries = library_versions()
    params = {key: value for key, value in estimator.get_params().items() if _is_plain(value)}
    joblib_sha256 = file_sha256(folder / "model.joblib")
    best = cv_results[estimator_name]
    return {
        "card_schema_version": CARD_SCHEMA_VERSION,
        "name": "riesgo-diabetes",
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "description": "Probabilidad de diagnóstico de diabetes en cinco años (datos Pima Indians).",
        "environment": {
            "python": libraries["python"],
            "scikit_learn": libraries["scikit-learn"],
            "numpy": libraries["numpy"],
            "joblib": libraries["joblib"],
            "skl2onnx": libraries["skl2onnx"],
            "onnx": libraries["onnx"],
        },
        "data": {"file": data_path.name, "sha256": data_sha256, "rows": data_rows},
        # Campo de la ficha v1 (el joblib); la v2 describe los dos artefactos en "artifacts".
        "model_file": {"name": "model.joblib", "sha256": joblib_sha256},
        "artifacts": {
            "onnx": {"file": "model.onnx", "sha256": file_sha256(folder / "model.onnx"), "opset": opset,
                     "onnxruntime": libraries["onnxruntime"]},
            "joblib": {"file": "model.joblib", "sha256": joblib_sha256, "scikit_learn": libraries["scikit-learn"]},
        },
        "parity": parity,
        "code_sha256": code_sha256,
        "estimator": {"name": estimator_name, "class": type(estimator).__name__,
                      "params": params, "seed": seed},
        "metrics": {
            "cv_folds": cv_folds,
            "cv_roc_auc_mean": best["mean"],
            "cv_roc_auc_std": best["std"],
            "cv_results": cv_results,
            "test": test_metrics,
        },
        "threshold": threshold,
        "classes": CLASSES,
        "features": FEATURES,
        **({"reference": reference} if reference is not None else {}),
    }


def write_json(data, path):
    """Escribe JSON legible (UTF-8, con acentos) de forma atómica: archivo temporal, fsync y os.replace.

    Quien lea `path` a la vez ve el archivo viejo o el nuevo entero, nunca uno a medias.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # solo queda si os.replace no llegó a hacerse


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _is_plain(value):
    return value is None or isinstance(value, (bool, int, float, str))
