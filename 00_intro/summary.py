"""Imprime en español un resumen de la ficha del modelo (`make demo-0`)."""

import json
import sys
from pathlib import Path


def summarize(card):
    """Devuelve el resumen como texto."""
    metrics, test = card["metrics"], card["metrics"]["test"]
    lines = [
        f"Modelo {card['name']} · versión {card['version']} · creado {card['created_at']}",
        f"Estimador: {card['estimator']['class']} ({card['estimator']['name']})",
        f"Validación cruzada ({metrics['cv_folds']} particiones): ROC AUC "
        f"{metrics['cv_roc_auc_mean']:.3f} ± {metrics['cv_roc_auc_std']:.3f}",
        f"Conjunto reservado: ROC AUC {test['roc_auc']:.3f}, exactitud {test['accuracy']:.3f}, "
        f"sensibilidad {test['recall_positive']:.3f}",
        f"Matriz de confusión [[VN, FP], [FN, VP]]: {test['confusion_matrix']}",
        f"scikit-learn {card['environment']['scikit_learn']}, Python {card['environment']['python']}",
        "Variables de entrada (en este orden):",
    ]
    for feature in card["features"]:
        missing = " · 0 = no medido" if feature["zero_means_missing"] else ""
        lines.append(
            f"  - {feature['name']:<25} {feature['label']} ({feature['unit']}): "
            f"{feature['min']}–{feature['max']}{missing}"
        )
    return "\n".join(lines)


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else Path(__file__).parent / "model" / "model.json"
    if not path.is_file():
        print(f"Error: no existe la ficha «{path}». Entrena antes con: make model", file=sys.stderr)
        return 2
    print(summarize(json.loads(path.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
