"""Demo de la etapa 01 (`make demo-1`): imprime un curl listo para pegar y arranca el
servidor de desarrollo de Flask en 127.0.0.1 con depuración.

Solo para la demo: el modo depuración ejecuta código desde el navegador si hay un error,
así que nunca se usa fuera de aquí (en producción, gunicorn; ver la etapa 02).
"""

import argparse
import json
import os
import shlex
import sys

from . import create_app
from .settings import StartupError

HOST = "127.0.0.1"


def example_patient(card, share=0.3):
    """Un paciente de ejemplo válido, construido con la lista de variables de la ficha:
    cada valor está al 30 % de su rango (valores plausibles, ni extremos ni «no medidos»)."""
    patient = {}
    for feature in card["features"]:
        value = feature["min"] + share * (feature["max"] - feature["min"])
        patient[feature["name"]] = round(value) if feature["type"] == "integer" else round(value, 2)
    return patient


def curl_command(base_url, card):
    body = json.dumps(example_patient(card), ensure_ascii=False)
    return (f"curl -s -X POST {base_url}/v1/predict -H 'Content-Type: application/json' "
            f"-d {shlex.quote(body)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Servidor de desarrollo de la API (solo para la demo).")
    parser.add_argument("--port", type=int, required=True, help="puerto en 127.0.0.1")
    args = parser.parse_args(argv)
    try:
        app = create_app()
    except StartupError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    base_url = f"http://{HOST}:{args.port}"
    if os.environ.get("WERKZEUG_RUN_MAIN") != "true":  # el recargador relanza el proceso: se imprime una vez
        card = app.extensions["diabetes_api"].model.card
        print("\nPrueba la API desde otra terminal (copia y pega):\n")
        print(f"  curl -s {base_url}{app.config['HEALTH_PATH']}")
        print(f"  {curl_command(base_url, card)}\n")
        print(f"Ficha del modelo: {base_url}/v1/model · OpenAPI: {base_url}/openapi.json\n")
    app.run(host=HOST, port=args.port, debug=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
