"""Entrena el modelo de riesgo de diabetes y escribe el modelo y su ficha.

Uso:
    python 00_intro/train.py [--data CSV] [--output CARPETA] [--seed N]

Escribe en la carpeta de salida `model.joblib` (el pipeline completo) y `model.json`
(la ficha del modelo que leen la API, el OpenAPI, el formulario móvil y el cliente).
"""

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from features import FEATURE_NAMES, MISSING_AS_ZERO, TARGET  # noqa: E402
from model_card import build_card, file_sha256, write_card  # noqa: E402
from settings import DATA_PATH, MODEL_DIR  # noqa: E402

CV_FOLDS = 5


def load_data(path=DATA_PATH):
    """Lee el CSV y devuelve (X, y) como arrays de numpy en el orden de FEATURE_NAMES."""
    frame = pd.read_csv(path)
    missing = [name for name in [*FEATURE_NAMES, TARGET] if name not in frame.columns]
    if missing:
        raise ValueError(f"Al CSV le faltan las columnas: {', '.join(missing)}")
    return frame[FEATURE_NAMES].to_numpy(dtype=float), frame[TARGET].to_numpy(dtype=int)


def split_data(X, y, seed):
    """Separa un 20 % estratificado como conjunto reservado: (X_train, X_test, y_train, y_test)."""
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)


def candidates(seed):
    """Los estimadores que se comparan, con sus parámetros fijos."""
    return {
        "logistic_regression": LogisticRegression(C=1.0, max_iter=1000),
        "random_forest": RandomForestClassifier(
            n_estimators=200, min_samples_leaf=3, random_state=seed, n_jobs=1
        ),
    }


def build_pipeline(estimator):
    """El pipeline es el modelo: imputa los ceros «no medidos», escala si hace falta y predice."""
    impute_zeros = ColumnTransformer(
        [("ceros_como_faltantes", SimpleImputer(missing_values=0, strategy="median"), MISSING_AS_ZERO)],
        remainder="passthrough",
    )
    steps = [("imputar", impute_zeros)]
    if isinstance(estimator, LogisticRegression):
        steps.append(("escalar", StandardScaler()))
    steps.append(("modelo", estimator))
    return Pipeline(steps)


def compare_models(X, y, seed, log=print):
    """Validación cruzada estratificada (5 particiones, ROC AUC) de cada candidato."""
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)
    results = {}
    for name, estimator in candidates(seed).items():
        scores = cross_val_score(build_pipeline(estimator), X, y, cv=folds, scoring="roc_auc")
        results[name] = {"mean": float(scores.mean()), "std": float(scores.std())}
        log(f"  {name}: ROC AUC = {scores.mean():.3f} ± {scores.std():.3f}")
    return results


def evaluate(pipeline, X_test, y_test):
    """Métricas en el conjunto reservado."""
    from sklearn.metrics import accuracy_score, confusion_matrix, recall_score, roc_auc_score

    probabilities = pipeline.predict_proba(X_test)[:, 1]
    predictions = (probabilities >= 0.5).astype(int)
    return {
        "roc_auc": float(roc_auc_score(y_test, probabilities)),
        "accuracy": float(accuracy_score(y_test, predictions)),
        "recall_positive": float(recall_score(y_test, predictions)),
        "confusion_matrix": confusion_matrix(y_test, predictions).tolist(),
    }


def train(data_path=DATA_PATH, output_dir=MODEL_DIR, seed=42, log=print):
    """Compara modelos, evalúa el mejor, lo reentrena con todos los datos y escribe modelo y ficha."""
    started = time.perf_counter()
    X, y = load_data(data_path)
    log(f"Datos: {len(y)} pacientes, {int(y.sum())} con diabetes ({Path(data_path).name}).")
    X_train, X_test, y_train, y_test = split_data(X, y, seed)
    log(f"Validación cruzada estratificada ({CV_FOLDS} particiones, ROC AUC) sobre {len(y_train)} pacientes:")
    cv_results = compare_models(X_train, y_train, seed, log)
    best = max(cv_results, key=lambda name: cv_results[name]["mean"])
    log(f"Mejor modelo: {best}.")

    pipeline = build_pipeline(candidates(seed)[best]).fit(X_train, y_train)
    test_metrics = evaluate(pipeline, X_test, y_test)
    log(
        f"Conjunto reservado ({len(y_test)} pacientes): ROC AUC {test_metrics['roc_auc']:.3f}, "
        f"exactitud {test_metrics['accuracy']:.3f}, sensibilidad {test_metrics['recall_positive']:.3f}."
    )
    log(f"Matriz de confusión [[VN, FP], [FN, VP]]: {test_metrics['confusion_matrix']}")

    final = build_pipeline(candidates(seed)[best]).fit(X, y)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # Se escribe en archivos temporales y se renombra: un servidor que recarga el modelo
    # nunca ve un archivo a medio escribir.
    model_path = output_dir / "model.joblib"
    joblib.dump(final, output_dir / "model.joblib.tmp")
    os.replace(output_dir / "model.joblib.tmp", model_path)
    card = build_card(
        estimator_name=best,
        estimator=final.named_steps["modelo"],
        seed=seed,
        data_path=Path(data_path),
        data_rows=len(y),
        model_sha256=file_sha256(model_path),
        cv_results=cv_results,
        test_metrics=test_metrics,
        code_sha256=code_sha256(),
    )
    write_card(card, output_dir / "model.json")
    log(f"Modelo {card['version']} guardado en {output_dir} ({time.perf_counter() - started:.1f} s).")
    return card


def code_sha256():
    """Huella del código que define el modelo: si cambia, cambia la versión."""
    digest = hashlib.sha256()
    for name in ("train.py", "features.py", "model_card.py"):
        digest.update((Path(__file__).resolve().parent / name).read_bytes())
    return digest.hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Entrena el modelo de riesgo de diabetes.")
    parser.add_argument("--data", default=str(DATA_PATH), help="CSV de entrada (por defecto, el del taller)")
    parser.add_argument("--output", default=str(MODEL_DIR), help="carpeta donde escribir el modelo y su ficha")
    parser.add_argument("--seed", type=int, default=42, help="semilla: otra semilla da otra versión del modelo")
    args = parser.parse_args(argv)
    if not Path(args.data).is_file():
        print(f"Error: no encuentro el archivo de datos «{args.data}». Comprueba la ruta.", file=sys.stderr)
        return 2
    try:
        train(args.data, args.output, args.seed)
    except (ValueError, OSError) as error:
        print(f"Error: no se pudo entrenar el modelo: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
