"""Cómo se muestran los resultados: frases en español para personas o JSON para programas."""

import json

from client_features import number


def percent(probability):
    """0.7234 → «72,3 %»."""
    return f"{number(round(probability * 100, 1))} %"


def single(result):
    return (f"Resultado: {result['label']}\n"
            f"Probabilidad de diabetes: {percent(result['probability'])}\n"
            f"Modelo: {result['model_version']}")


def demo_line(name, result, width):
    """Una fila de la demo: nombre, riesgo y probabilidad alineados."""
    return f"  {name:<{width}}  {result['label']:<26} {percent(result['probability']):>7}"


def field_errors(message, details, features):
    """El mensaje de la API y, debajo, un campo por línea con su etiqueta en español."""
    labels = {feature["name"]: feature["label"] for feature in features}
    lines = [message]
    if details:
        lines.append("Corrige estos datos:")
    for detail in details:
        field = str(detail.get("field", ""))
        label = labels.get(field)
        name = f"{label} ({field})" if label else field or "petición"
        where = f"Fila {detail['row']}, " if "row" in detail else ""
        lines.append(f"  - {where}{name}: {detail.get('message', '')}")
    return "\n".join(lines)


def as_json(data):
    return json.dumps(data, ensure_ascii=False, indent=2)
