"""Cliente de línea de órdenes de «Diabetes Prediction»: pide una predicción a la API.

    python mobile_client/cliente.py                        # pregunta cada dato
    python mobile_client/cliente.py --dato Glucose=120 …   # datos como opciones
    python mobile_client/cliente.py --demo                 # pacientes de ejemplo
    python mobile_client/cliente.py --lote pacientes.csv   # CSV de predicciones

Las variables, unidades y rangos se leen de `GET /v1/model`: el cliente no los repite.
Códigos de salida: 0 bien, 1 datos que corregir, 2 uso incorrecto, 3 API inalcanzable o con fallos, 130 cancelado.
"""

import argparse
import os
import sys
from pathlib import Path

from dotenv import dotenv_values

import client_output as output
from client_batch import default_target, predict_file, read_patients
from client_features import InputError, ask_patient, from_pairs
from client_http import ApiClient, ApiError

HERE = Path(__file__).resolve().parent
SAMPLE_PATIENTS = HERE / "pacientes.csv"
URL_VARIABLE = "DIABETES_API_URL"


def default_url():
    """La URL de la variable de entorno o, si no, la API local con el PORT de workshop.env."""
    if os.environ.get(URL_VARIABLE):
        return os.environ[URL_VARIABLE]
    port = dotenv_values(HERE.parent / "workshop.env").get("PORT")
    return f"http://127.0.0.1:{port}" if port else None


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="cliente.py", description="Pide a la API de diabetes el riesgo de una o varias pacientes.",
        epilog="Sin --dato, --demo ni --lote, pregunta cada dato (con su unidad y su rango).")
    parser.add_argument("--url", default=default_url(),
                        help=f"URL base de la API (por defecto ${URL_VARIABLE} o la API local de workshop.env)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SEG", help="espera máxima por petición")
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


def run(args, client):
    card = client.card()
    features = card["features"]
    client.features = features
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
    print(output.as_json(result) if args.json else output.single(result))
    return 0


def run_demo(args, client, features):
    rows, patients = read_patients(SAMPLE_PATIENTS, features)
    names = [row.get("paciente") or f"Paciente {number}" for number, row in enumerate(rows, start=1)]
    if not args.json:
        print(f"Pacientes de ejemplo ({SAMPLE_PATIENTS.name}) → {client.base_url}")
    width = max(len(name) for name in names)
    results = []
    for name, patient in zip(names, patients, strict=True):
        results.append(client.predict(patient))
        if not args.json:
            print(output.demo_line(name, results[-1], width), flush=True)
    if args.json:
        print(output.as_json([{"paciente": name, **result} for name, result in zip(names, results, strict=True)]))
    else:
        print(f"Modelo: {results[-1]['model_version']}")
    return 0


def run_batch(args, client, features):
    target = args.salida or default_target(args.lote)
    count, version = predict_file(client, args.lote, target, features)
    stream = sys.stderr if str(target) == "-" else sys.stdout  # con '-', la pantalla es para el CSV
    if args.json:
        print(output.as_json({"archivo": str(target), "filas": count, "model_version": version}), file=stream)
    else:
        print(f"{count} predicciones escritas en «{target}» (modelo {version}).", file=stream)
    return 0


def _ask(prompt, to_stderr):
    if not to_stderr:
        return input(prompt)
    print(prompt, end="", file=sys.stderr, flush=True)
    return input()


def main(argv=None):
    args = parse_args(argv)
    client = ApiClient(args.url, timeout=args.timeout)
    client.features = []
    try:
        return run(args, client)
    except ApiError as error:
        print(output.field_errors(str(error), error.details, client.features), file=sys.stderr)
        return error.exit_code
    except InputError as error:
        print(error, file=sys.stderr)
        return 1
    except EOFError:
        print("\nLa entrada terminó antes de completar todos los datos.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nCancelado.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
