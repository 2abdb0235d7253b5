#!/usr/bin/env python3
"""Despliega la API del taller en AWS Lightsail. Ayuda: .venv/bin/python 03_lightsail/deploy.py --help

El trabajo está en el paquete lightsail (03_lightsail/lightsail), instalado en .venv por `make setup-dev`.
"""

import sys

try:
    from lightsail.cli import main
except ModuleNotFoundError as error:  # sin el entorno del taller: ni boto3 ni el paquete lightsail
    sys.exit(f"Error: falta el módulo «{error.name}». Usa el Python del entorno del taller "
             "(.venv/bin/python 03_lightsail/deploy.py …); si aún no existe, créalo con `make setup-dev`.")

if __name__ == "__main__":
    sys.exit(main())
