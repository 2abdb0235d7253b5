"""Imprime en español un resumen de la ficha del modelo publicado (`make demo-0`).

Uso:
    python -m diabetes_model.summary [FICHA | CARPETA]

Sin argumentos, la ficha de la versión publicada en MODEL_DIR (la que sirve la API). Con una
carpeta del modelo (con live.json) o de una versión, la de esa carpeta; o una ficha concreta.
"""

import json
import sys
from pathlib import Path

from diabetes_model.store import CARD, ModelError, default_model_dir, live_version_dir
from workshop.argparse_es import SpanishArgumentParser
from workshop.spanish import after_colon, date, number, scientific


def summarize(card):
    """Devuelve el resumen como texto."""
    metrics, test = card["metrics"], card["metrics"]["test"]
    onnx, parity = card["artifacts"]["onnx"], card["parity"]
    lines = [
        f"Modelo {card['name']} · versión {card['version']} · creado {date(card['created_at'])}",
        f"Estimador: {card['estimator']['class']} ({card['estimator']['name']})",
        f"Validación cruzada ({metrics['cv_folds']} particiones): ROC AUC "
        f"{number(metrics['cv_roc_auc_mean'], 3)} ± {number(metrics['cv_roc_auc_std'], 3)}",
        f"Conjunto de prueba: ROC AUC {number(test['roc_auc'], 3)}, "
        f"exactitud {number(test['accuracy'], 3)}, sensibilidad {number(test['recall_positive'], 3)}",
        f"Matriz de confusión [[VN, FP], [FN, VP]]: {test['confusion_matrix']}",
        f"Artefactos: model.onnx (opset {onnx['opset']}, onnxruntime {onnx['onnxruntime']}) y model.joblib "
        f"(scikit-learn {card['artifacts']['joblib']['scikit_learn']}, Python {card['environment']['python']})",
        f"Paridad ONNX / scikit-learn en {number(parity['rows'], 0)} filas: diferencia máxima "
        f"{scientific(parity['max_abs_diff'])} (tolerancia {scientific(parity['tolerance'])}), "
        f"{parity['decision_flips']} decisiones cambiadas",
        "Variables de entrada (en este orden):",
    ]
    for feature in card["features"]:
        missing = " · 0 = no medido" if feature["zero_means_missing"] else ""
        lines.append(
            f"  - {feature['name']:<25} {feature['label']} ({feature['unit']}): "
            f"{_plain(feature['min'])}–{_plain(feature['max'])}{missing}"
        )
    return "\n".join(lines)


def card_path(target=None):
    """La ficha que se resume: la indicada, la de una carpeta de versión o la publicada de una carpeta del modelo."""
    path = Path(target) if target else default_model_dir()
    if path.is_file() or (path / CARD).is_file():
        return path if path.is_file() else path / CARD
    return live_version_dir(path) / CARD


def main(argv=None):
    parser = SpanishArgumentParser(prog="python -m diabetes_model.summary",
                                   description="Resume en español la ficha del modelo publicado (make demo-0).")
    parser.add_argument("target", nargs="?", metavar="FICHA_O_CARPETA",
                        help="una ficha, una carpeta de versión o una carpeta del modelo (por defecto, MODEL_DIR)")
    args = parser.parse_args(argv)
    try:
        path = card_path(args.target)
        card = json.loads(path.read_text(encoding="utf-8"))
        print(summarize(card))
    except ModelError as error:
        print(f"Error: {after_colon(str(error))}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"Error: no se puede leer la ficha ({type(error).__name__}: {error}). Entrena con: make model",
              file=sys.stderr)
        return 2
    return 0


def _plain(value):
    """Los límites de la ficha tal cual, con coma decimal (0,05; 400)."""
    return str(value).replace(".", ",")


if __name__ == "__main__":
    raise SystemExit(main())
