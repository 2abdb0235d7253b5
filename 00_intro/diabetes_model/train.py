"""Entrena el modelo de riesgo de diabetes y escribe una versión inmutable: pipeline, grafo ONNX y ficha.

Uso (`make model` es `python -m diabetes_model.train --publish`):
    python -m diabetes_model.train [--data CSV] [--output CARPETA] [--seed N] [--publish] [--keep N]

Escribe CARPETA/versions/<versión>/ (por defecto CARPETA = MODEL_DIR de workshop.env) con:
    model.joblib   el pipeline completo de scikit-learn (lo que enseña la charla)
    model.onnx     el mismo pipeline como grafo ONNX (float32): lo que sirve la API
    model.json     la ficha del modelo (la leen la API, el OpenAPI, la app móvil y el cliente)
    metrics.json   las métricas, la paridad ONNX/scikit-learn y el tiempo de entrenamiento
La versión es la huella de la receta (datos, código, semilla, librerías): la misma receta reutiliza
su carpeta sin tocarla. Sin --publish no cambia la versión servida; `make model` entrena la receta
de referencia (los datos del taller, semilla 42) y la publica.
"""

import csv
import hashlib
import sys
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from diabetes_model import versions
from diabetes_model.features import FEATURE_NAMES, FEATURES, MISSING_AS_ZERO, TARGET
from diabetes_model.model_card import build_card, file_sha256, model_version, read_json, write_json
from diabetes_model.paths import DATA_PATH, PACKAGE_DIR
from diabetes_model.reference import build_reference
from diabetes_model.store import KEEP_VERSIONS, ModelError, default_model_dir
from workshop.argparse_es import SpanishArgumentParser
from workshop.spanish import after_colon, number, scientific

REFERENCE_SEED = 42  # la receta de referencia: los datos del taller con esta semilla (`make model`)
CV_FOLDS = 5
THRESHOLD = 0.5
# Opset del grafo ONNX: fijo (no «el último»), para que lo carguen también runtimes algo antiguos.
ONNX_OPSET = 17
# Paridad: todo el conjunto de datos más PARITY_ROWS filas aleatorias dentro de los rangos de la
# ficha, un ZERO_SHARE de ellas con ceros «no medido». El grafo calcula en float32 y scikit-learn en
# float64: se admite una diferencia de probabilidad de PARITY_TOLERANCE y ninguna decisión distinta.
PARITY_ROWS = 100_000
ZERO_SHARE = 0.1
PARITY_TOLERANCE = 1e-6


class TrainingError(RuntimeError):
    """El entrenamiento no puede terminar; el mensaje es una frase en español."""


def load_data(path=DATA_PATH):
    """Lee el CSV y devuelve (X, y) como arrays de numpy en el orden de FEATURE_NAMES.

    Con el módulo csv de Python: entrenar no necesita pandas (el cuaderno sí, para explorar).
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in [*FEATURE_NAMES, TARGET] if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"Al CSV le faltan las columnas: {', '.join(missing)}")
        features, outcomes = [], []
        for line, row in enumerate(reader, start=2):
            try:
                features.append([float(row[name]) for name in FEATURE_NAMES])
                outcomes.append(int(row[TARGET]))
            except (TypeError, ValueError):
                raise ValueError(f"la línea {line} del CSV tiene un valor que no es un número") from None
    return np.array(features, dtype=float), np.array(outcomes, dtype=int)


def split_data(X, y, seed):
    """Separa un 20 % estratificado como conjunto de prueba: (X_train, X_test, y_train, y_test)."""
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
    """El pipeline es el modelo: imputa los ceros «no medidos», escala si hace falta y predice.

    `missing_values=0.0` (float): con el 0 entero el ajuste es idéntico, pero skl2onnx no sabe
    convertir el imputador a ONNX.
    """
    impute_zeros = ColumnTransformer(
        [("ceros_como_faltantes", SimpleImputer(missing_values=0.0, strategy="median"), MISSING_AS_ZERO)],
        remainder="passthrough",
    )
    steps = [("imputar", impute_zeros)]
    if isinstance(estimator, LogisticRegression):
        steps.append(("escalar", StandardScaler()))
    steps.append(("modelo", estimator))
    return Pipeline(steps)


def compare_models(X, y, seed, log=print):
    """Validación cruzada estratificada (CV_FOLDS particiones, ROC AUC) de cada candidato."""
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)
    results = {}
    for name, estimator in candidates(seed).items():
        scores = cross_val_score(build_pipeline(estimator), X, y, cv=folds, scoring="roc_auc")
        results[name] = {"mean": float(scores.mean()), "std": float(scores.std())}
        log(f"  {name}: ROC AUC = {number(scores.mean(), 3)} ± {number(scores.std(), 3)}")
    return results


def evaluate(pipeline, X_test, y_test):
    """Métricas en el conjunto de prueba."""
    from sklearn.metrics import accuracy_score, confusion_matrix, recall_score, roc_auc_score

    probabilities = pipeline.predict_proba(X_test)[:, 1]
    predictions = (probabilities >= THRESHOLD).astype(int)
    return {
        "roc_auc": float(roc_auc_score(y_test, probabilities)),
        "accuracy": float(accuracy_score(y_test, predictions)),
        "recall_positive": float(recall_score(y_test, predictions)),
        "confusion_matrix": confusion_matrix(y_test, predictions).tolist(),
    }


def export_onnx(pipeline):
    """El pipeline entero (imputar, escalar, predecir) como grafo ONNX en float32.

    Entrada «X» [N, 8] en el orden de FEATURE_NAMES; salidas «label» [N] y «probabilities» [N, 2]
    (sin ZipMap: una matriz, no una lista de diccionarios). Devuelve el ModelProto de onnx.
    """
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    model = to_onnx(pipeline, initial_types=[("X", FloatTensorType([None, len(FEATURE_NAMES)]))],
                    options={"zipmap": False}, target_opset=ONNX_OPSET)
    # skl2onnx lista los dominios de operadores en el orden de un conjunto (varía entre procesos):
    # ordenados, la misma receta da el mismo archivo byte a byte.
    imports = sorted(model.opset_import, key=lambda item: item.domain)
    del model.opset_import[:]
    model.opset_import.extend(imports)
    return model


def parity_rows(X, seed, size=PARITY_ROWS):
    """Las filas de la comprobación: todo el conjunto de datos más `size` aleatorias dentro de los
    rangos de la ficha (enteros donde la ficha dice «integer»), con algunos ceros «no medido»."""
    rng = np.random.default_rng(seed)
    columns = []
    for feature in FEATURES:
        if feature["type"] == "integer":
            values = rng.integers(feature["min"], feature["max"], size, endpoint=True).astype(float)
        else:
            values = rng.uniform(feature["min"], feature["max"], size)
        if feature["zero_means_missing"]:
            values[rng.random(size) < ZERO_SHARE] = 0.0
        columns.append(values)
    return np.vstack([X, np.column_stack(columns)])


def check_parity(pipeline, onnx_bytes, rows):
    """Compara onnxruntime con scikit-learn fila a fila. Devuelve las cifras o lanza TrainingError."""
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        from_onnx = session.run(["probabilities"], {session.get_inputs()[0].name: rows.astype(np.float32)})[0]
    except Exception as error:  # onnxruntime lanza sus propias excepciones (Fail, InvalidGraph…)
        raise TrainingError(f"onnxruntime no puede ejecutar el grafo exportado ({type(error).__name__}): "
                            "no se guarda esta versión.") from None
    positive = list(pipeline.classes_).index(1)
    p_onnx = from_onnx[:, positive].astype(np.float64)
    p_sklearn = pipeline.predict_proba(rows)[:, positive]
    parity = {
        "rows": len(rows),
        "max_abs_diff": float(np.max(np.abs(p_onnx - p_sklearn))),
        "decision_flips": int(np.sum((p_onnx >= THRESHOLD) != (p_sklearn >= THRESHOLD))),
        "tolerance": PARITY_TOLERANCE,
    }
    if not parity["max_abs_diff"] <= PARITY_TOLERANCE or parity["decision_flips"]:
        raise TrainingError(
            f"La exportación a ONNX no reproduce el modelo de scikit-learn en {number(len(rows), 0)} filas: "
            f"diferencia máxima de probabilidad {scientific(parity['max_abs_diff'])} "
            f"(tolerancia {scientific(PARITY_TOLERANCE)}) y {parity['decision_flips']} decisiones "
            f"cambiadas con el umbral {number(THRESHOLD, 1)}, así que no se guarda esta versión.")
    return parity


def training_reference(pipeline, X_train):
    """La referencia de la ficha: las filas del entrenamiento y el riesgo que les da el modelo servido."""
    positive = list(pipeline.classes_).index(1)
    return build_reference(X_train, pipeline.predict_proba(X_train)[:, positive], FEATURES, THRESHOLD)


def code_sha256():
    """Huella del código que define el modelo: si cambia, cambia la versión."""
    digest = hashlib.sha256()
    for name in ("train.py", "features.py", "model_card.py", "reference.py"):
        digest.update((PACKAGE_DIR / name).read_bytes())
    return digest.hexdigest()


def train(data_path=DATA_PATH, output_dir=None, seed=REFERENCE_SEED, publish=False, keep=KEEP_VERSIONS, log=print):
    """Entrena (si la receta es nueva) y escribe la versión en `output_dir`/versions; la publica si se pide.

    Devuelve la ficha. `output_dir` None es MODEL_DIR. La misma receta reutiliza la carpeta existente.
    """
    started = time.perf_counter()
    data_path, output_dir = Path(data_path), Path(output_dir) if output_dir else default_model_dir()
    X, y = load_data(data_path)
    data_sha256 = file_sha256(data_path)
    version = model_version(data_sha256=data_sha256, code_sha256=code_sha256(), seed=seed, opset=ONNX_OPSET)
    log(f"Datos: {len(y)} pacientes, {int(y.sum())} con diabetes ({data_path.name}). Versión de la receta: {version}.")

    folder = versions.version_dir(output_dir, version)
    if folder.is_dir():
        log(f"La versión {version} ya existe (misma receta: datos, código, semilla y librerías): "
            f"se reutiliza {folder} sin tocarla.")
        card = read_json(folder / "model.json")
    else:
        card = _fit_and_write(X, y, seed, version, output_dir, data_path, data_sha256, started, log)

    if publish:
        log(versions.publish(output_dir, version))
    removed = versions.prune(output_dir, keep)
    if removed:
        log(f"Poda: borradas {len(removed)} versiones antiguas ({', '.join(removed)}); se conservan las {keep} "
            "más recientes, la publicada y la anterior.")
    live = versions.live_version(output_dir)
    if not publish and live != version:
        serving = f"sigue publicada {live}" if live else "todavía no hay ninguna publicada"
        reference = ("make model" if output_dir.resolve() == default_model_dir().resolve()
                     else f"python -m diabetes_model.train --output {output_dir} --publish")
        log(f"Versión {version} guardada SIN publicar ({serving}).\n"
            f"  Para publicarla: {versions.command(output_dir, 'publish', version)}\n"
            f"  Para volver después a la de referencia: {reference} (o {versions.command(output_dir, 'rollback')})")
    return card


def _fit_and_write(X, y, seed, version, output_dir, data_path, data_sha256, started, log):
    """Compara, evalúa, reentrena con todo, exporta a ONNX, comprueba la paridad y escribe la versión."""
    X_train, X_test, y_train, y_test = split_data(X, y, seed)
    log(f"Validación cruzada estratificada ({CV_FOLDS} particiones, ROC AUC) sobre {len(y_train)} pacientes:")
    cv_results = compare_models(X_train, y_train, seed, log)
    best = max(cv_results, key=lambda name: cv_results[name]["mean"])
    log(f"Mejor modelo: {best}.")

    test_metrics = evaluate(build_pipeline(candidates(seed)[best]).fit(X_train, y_train), X_test, y_test)
    log(f"Conjunto de prueba ({len(y_test)} pacientes): ROC AUC {number(test_metrics['roc_auc'], 3)}, "
        f"exactitud {number(test_metrics['accuracy'], 3)}, "
        f"sensibilidad {number(test_metrics['recall_positive'], 3)}.")
    log(f"Matriz de confusión [[VN, FP], [FN, VP]]: {test_metrics['confusion_matrix']}")

    final = build_pipeline(candidates(seed)[best]).fit(X, y)
    try:
        onnx_model = export_onnx(final)
    except Exception as error:  # skl2onnx lanza RuntimeError, TypeError… con su mensaje en inglés
        detail = str(error).split(". ")[0]
        raise TrainingError(f"skl2onnx no sabe convertir el pipeline a ONNX («{detail}»), así que no se guarda "
                            "esta versión.") from None
    opset = next(item.version for item in onnx_model.opset_import if item.domain in ("", "ai.onnx"))
    onnx_bytes = onnx_model.SerializeToString()
    parity = check_parity(final, onnx_bytes, parity_rows(X, seed))
    log(f"ONNX (opset {opset}, {number(len(onnx_bytes) / 1024, 1)} KiB) frente a scikit-learn en "
        f"{number(parity['rows'], 0)} filas: diferencia máxima {scientific(parity['max_abs_diff'])}, "
        f"{parity['decision_flips']} decisiones cambiadas.")

    card = None

    def write_files(folder):  # en la carpeta temporal de la versión (versions.write_version)
        nonlocal card
        joblib.dump(final, folder / "model.joblib")
        (folder / "model.onnx").write_bytes(onnx_bytes)
        card = build_card(version=version, estimator_name=best, estimator=final.named_steps["modelo"], seed=seed,
                          data_path=data_path, data_rows=len(y), data_sha256=data_sha256,
                          code_sha256=code_sha256(), cv_results=cv_results, test_metrics=test_metrics,
                          folder=folder, opset=opset, parity=parity, threshold=THRESHOLD, cv_folds=CV_FOLDS,
                          reference=training_reference(final, X_train))
        write_json(card, folder / "model.json")
        write_json({"version": version, "created_at": card["created_at"],
                    "training_seconds": round(time.perf_counter() - started, 2),
                    "metrics": card["metrics"], "parity": parity}, folder / "metrics.json")

    folder, created = versions.write_version(output_dir, version, write_files)
    if not created:  # otro proceso escribió la misma receta a la vez: vale la suya
        return read_json(folder / "model.json")
    log(f"Versión {version} escrita en {folder} ({number(time.perf_counter() - started, 1)} s con "
        "exportación y paridad).")
    return card


def main(argv=None):
    parser = SpanishArgumentParser(prog="python -m diabetes_model.train",
                                     description="Entrena el modelo de riesgo de diabetes y escribe una versión.")
    parser.add_argument("--data", default=str(DATA_PATH), metavar="CSV",
                        help="CSV de entrada (por defecto, el del taller)")
    parser.add_argument("--output", metavar="CARPETA",
                        help="carpeta del modelo con versions/ y live.json (por defecto, MODEL_DIR)")
    parser.add_argument("--seed", type=int, default=REFERENCE_SEED, metavar="N",
                        help=f"semilla (la de referencia es {REFERENCE_SEED}): otra semilla da otra versión")
    parser.add_argument("--publish", action="store_true", help="publica la versión (cambia live.json)")
    parser.add_argument("--keep", type=int, default=KEEP_VERSIONS, metavar="N",
                        help=f"versiones que se conservan, además de la publicada y la anterior ({KEEP_VERSIONS})")
    args = parser.parse_args(argv)
    if args.keep < 1:
        print(f"Error: --keep {args.keep} no es válido: hay que conservar al menos una versión.", file=sys.stderr)
        return 2
    if not Path(args.data).is_file():
        print(f"Error: no encuentro el archivo de datos «{args.data}». Comprueba la ruta.", file=sys.stderr)
        return 2
    try:
        train(args.data, args.output, args.seed, publish=args.publish, keep=args.keep)
    except ModelError as error:
        print(f"Error: {after_colon(str(error))}", file=sys.stderr)
        return error.exit_code
    except (TrainingError, ValueError) as error:
        print(f"Error: no se pudo entrenar el modelo: {after_colon(str(error))}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"Error: no se pudo leer o escribir {error.filename or ''} ({error.strerror or error}).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
