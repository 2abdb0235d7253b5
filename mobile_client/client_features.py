"""Los datos de un paciente según la ficha del modelo: convertir, comprobar y preguntar.

La lista de variables (nombre, etiqueta, unidad, rango) llega siempre de `GET /v1/model`.
"""


class InputError(ValueError):
    """Un dato mal escrito; el mensaje (en español) dice cómo corregirlo."""


def number(value):
    """Muestra un número a la española: 33.6 → «33,6»."""
    return f"{value:g}".replace(".", ",")


def describe(feature):
    """«40–400 mg/dL; 0 = no medido»: el rango válido y la unidad, para preguntas y ayudas."""
    text = f"{number(feature['min'])}–{number(feature['max'])} {feature['unit']}"
    if feature.get("zero_means_missing"):
        text += "; 0 = no medido"
    return text


def parse_value(feature, text):
    """Convierte el texto a número del tipo de la variable (acepta coma decimal)."""
    cleaned = str(text).strip().replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise InputError(f"«{text}» no es un número para {feature['label']} ({feature['name']}).") from None
    if feature["type"] == "integer":
        if not value.is_integer():
            raise InputError(f"{feature['label']} ({feature['name']}) debe ser un número entero; «{text}» no lo es.")
        return int(value)
    return value


def check_range(feature, value):
    """Comprueba el rango de la ficha (el 0 vale si significa «no medido»)."""
    if feature.get("zero_means_missing") and value == 0:
        return value
    if not feature["min"] <= value <= feature["max"]:
        zero = " (o 0 si no se midió)" if feature.get("zero_means_missing") else ""
        raise InputError(f"{feature['label']} debe estar entre {number(feature['min'])} y "
                         f"{number(feature['max'])} {feature['unit']}{zero}.")
    return value


def from_pairs(features, pairs):
    """Paciente a partir de `--dato Nombre=valor`; la API valida después los rangos."""
    by_name = {feature["name"]: feature for feature in features}
    patient = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        name = name.strip()
        if not separator or name not in by_name:
            valid = ", ".join(by_name)
            raise InputError(f"«{pair}» no es un dato válido: usa --dato NOMBRE=VALOR con NOMBRE entre {valid}.")
        patient[name] = parse_value(by_name[name], text)
    return patient


def ask_patient(features, ask=input, say=print):
    """Pregunta cada variable en español; repite la pregunta si la respuesta no vale."""
    say("Escribe los datos de la paciente («?» explica el dato; Ctrl+C para salir).")
    patient = {}
    for feature in features:
        while True:
            answer = ask(f"{feature['label']} ({describe(feature)}): ")
            if answer.strip() == "?":
                say(f"  {feature['description']}")
                continue
            try:
                patient[feature["name"]] = check_range(feature, parse_value(feature, answer))
                break
            except InputError as error:
                say(f"  {error} Prueba otra vez.")
    return patient
