"""Demo de la etapa 01 (`make demo-1`): imprime un curl listo para pegar y arranca el
servidor de desarrollo de Flask en 127.0.0.1 con depuración.

Solo para la demo: el modo depuración ejecuta código desde el navegador si hay un error,
así que nunca se usa fuera de aquí (en producción, gunicorn; ver la etapa 02).
"""

import json
import os
import shlex
import sys

from diabetes_model.patients import example_patient
from workshop.argparse_es import SpanishArgumentParser
from workshop.environment import StartupError, shared
from workshop.processes import LOCALHOST as HOST
from workshop.processes import port_in_use

from . import create_app


def curl_command(base_url, card, path="/v1/predict"):
    """Un curl que envía la paciente de ejemplo de la ficha a `path` (la demo de la charla usa /predict)."""
    body = json.dumps(example_patient(card), ensure_ascii=False)
    return (f"curl -s -X POST {base_url}{path} -H 'Content-Type: application/json' "
            f"-d {shlex.quote(body)}")


def main(argv=None):
    parser = SpanishArgumentParser(prog="python -m diabetes_api.demo",
                                   description="Servidor de desarrollo de la API (solo para la demo).")
    parser.add_argument("--port", type=int, help="puerto en 127.0.0.1 (por defecto DEV_PORT de workshop.env)")
    args = parser.parse_args(argv)
    port = args.port or int(shared("DEV_PORT"))
    reloaded = os.environ.get("WERKZEUG_RUN_MAIN") == "true"  # el recargador relanza el proceso
    if not reloaded and port_in_use(port, HOST):
        print(f"Error: el puerto {port} está ocupado (¿otra demo abierta?). Ciérrala o elige otro: "
              f"make demo-1 DEV_PORT={port + 1}", file=sys.stderr)
        return 1
    try:
        app = create_app()
    except StartupError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    base_url = f"http://{HOST}:{port}"
    if not reloaded:  # se imprime una vez
        card = app.extensions["diabetes_api"].model.card
        print("\nPrueba la API desde otra terminal (copia y pega):\n")
        print(f"  curl -s {base_url}{app.config['HEALTH_PATH']}")
        print(f"  {curl_command(base_url, card)}\n")
        print(f"Ficha del modelo: {base_url}/v1/model · OpenAPI: {base_url}/openapi.json\n")
    try:
        app.run(host=HOST, port=port, debug=True)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
