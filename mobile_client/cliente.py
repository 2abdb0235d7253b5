"""Cliente de línea de órdenes de «Diabetes Prediction»: pide una predicción a la API.

    python mobile_client/cliente.py                        # pregunta cada dato
    python mobile_client/cliente.py --dato Glucose=120 …   # datos como opciones
    python mobile_client/cliente.py --demo                 # pacientes de ejemplo
    python mobile_client/cliente.py --lote pacientes.csv   # CSV de predicciones

También como módulo: `python -m mobile_client.cliente …`. Las variables, unidades y rangos se
leen de `GET /v1/model`: el cliente no los repite. Códigos de salida: 0 bien, 1 datos que
corregir, 2 uso incorrecto, 3 API inalcanzable o con fallos, 130 cancelado.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

try:  # sin el entorno del taller, una frase en vez de un traceback
    import workshop  # noqa: F401
except ModuleNotFoundError:
    sys.exit("Error: falta el proyecto del taller en este Python. Usa el del entorno (.venv/bin/python …); "
             "si aún no existe, créalo con `make setup`.")

from mobile_client.client_http import ApiClient, ApiError
from mobile_client.client_patients import (
    CSV_COMMA,
    DECIMAL_FORMAT,
    InputError,
    ask_patient,
    default_target,
    from_pairs,
    predict_file,
    read_patients,
)
from workshop.argparse_es import SpanishArgumentParser
from workshop.environment import SettingsError, shared
from workshop.spanish import number

HERE = Path(__file__).resolve().parent
SAMPLE_PATIENTS = HERE / "pacientes.csv"
URL_VARIABLE = "DIABETES_API_URL"


def default_url():
    """La URL de la variable de entorno o, si no, la API local en el PORT del taller (workshop.env)."""
    if os.environ.get(URL_VARIABLE):
        return os.environ[URL_VARIABLE]
    try:
        return f"http://127.0.0.1:{shared('PORT')}"  # solo lee el ajuste: no carga Flask ni el modelo
    except SettingsError:
        return None


def seconds(text):
    """Tipo de --timeout: segundos mayores que 0 (acepta coma decimal)."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"«{text}» no es un número de segundos mayor que 0")
    return value


def parse_args(argv):
    parser = SpanishArgumentParser(
        prog="cliente.py", description="Pide a la API de diabetes el riesgo de una o varias pacientes.",
        epilog="Sin --dato, --demo ni --lote, pregunta cada dato (con su unidad y su rango). Cifras "
               f"{DECIMAL_FORMAT}; en el CSV de --lote (separado por comas), {CSV_COMMA}.")
    parser.add_argument("--url", default=default_url(),
                        help=f"URL base de la API (por defecto ${URL_VARIABLE} o la API local de workshop.env)")
    parser.add_argument("--timeout", type=seconds, default=10.0, metavar="SEG",
                        help="espera máxima por petición (por defecto 10)")
    parser.add_argument("--json", action="store_true", help="salida en JSON, para otros programas")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dato", action="append", metavar="NOMBRE=VALOR",
                      help="un dato de la paciente (repetir para cada variable de GET /v1/model)")
    mode.add_argument("--demo", action="store_true", help=f"envía las pacientes de ejemplo de {SAMPLE_PATIENTS.name}")
    mode.add_argument("--lote", metavar="CSV", help="predice todas las filas de un CSV por el endpoint de lotes")
    parser.add_argument("--salida", metavar="CSV", help="con --lote: archivo de resultados ('-' = pantalla; "
                        "por defecto <nombre>-predicciones.csv junto al original)")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error(f"indica la URL de la API con --url o con la variable {URL_VARIABLE}")
    if args.salida and not args.lote:
        parser.error("--salida solo tiene sentido con --lote")
    return args


# ------------------------------------------------------------------ Modos

def run(args, client, card):
    features = card["features"]
    if args.demo:
        return run_demo(args, client, features)
    if args.lote:
        return run_batch(args, client, features)
    if args.dato:
        patient = from_pairs(features, args.dato)
    else:
        say = (lambda text: print(text, file=sys.stderr)) if args.json else print
        say(f"API: {client.base_url} · modelo {card['version']}")
        patient = ask_patient(features, ask=lambda prompt: _ask(prompt, args.json), say=say)
    result = client.predict(patient)
    print(as_json(result) if args.json else single(result))
    return 0


def run_demo(args, client, features):
    rows, patients = read_patients(SAMPLE_PATIENTS, features)
    names = [row.get("paciente") or f"Paciente {line}" for line, row in enumerate(rows, start=1)]
    if not args.json:
        print(f"Pacientes de ejemplo ({SAMPLE_PATIENTS.name}) → {client.base_url}")
    width = max(len(name) for name in names)
    results = []
    for name, patient in zip(names, patients, strict=True):
        results.append(client.predict(patient))
        if not args.json:
            print(demo_line(name, results[-1], width), flush=True)
    if args.json:
        print(as_json([{"paciente": name, **result} for name, result in zip(names, results, strict=True)]))
    else:
        print(f"Modelo: {results[-1]['model_version']}")
    return 0


def run_batch(args, client, features):
    target = args.salida or default_target(args.lote)
    count, version = predict_file(client, args.lote, target, features)
    stream = sys.stderr if str(target) == "-" else sys.stdout  # con '-', la pantalla es para el CSV
    if args.json:
        print(as_json({"archivo": str(target), "filas": count, "model_version": version}), file=stream)
    else:
        print(f"{count} predicciones escritas en «{target}» (modelo {version}).", file=stream)
    return 0


def _ask(prompt, to_stderr):
    if not to_stderr:
        return input(prompt)
    print(prompt, end="", file=sys.stderr, flush=True)
    return input()


# ------------------------------------------------------------------ Salida: frases en español o JSON

def percent(probability):
    """0.7234 → «72,3 %»; 0.05 → «5,0 %» (siempre un decimal)."""
    return f"{number(probability * 100, 1)} %"


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


def failure(error, card):
    """(mensaje, código de salida) de cada forma de no terminar bien, para stderr."""
    if isinstance(error, ApiError):
        return field_errors(str(error), error.details, card.get("features", [])), error.exit_code
    if isinstance(error, InputError):
        return str(error), 1
    if isinstance(error, EOFError):
        return "\nLa entrada terminó antes de completar todos los datos.", 1
    return "\nCancelado.", 130  # Ctrl+C


def main(argv=None):
    args = parse_args(argv)
    client = ApiClient(args.url, timeout=args.timeout)
    card = {}
    try:
        card = client.card()
        return run(args, client, card)
    except (ApiError, InputError, EOFError, KeyboardInterrupt) as error:
        message, code = failure(error, card)
        print(message, file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
