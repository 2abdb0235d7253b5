"""Comprobación de salud para Docker: `python -m diabetes_api.healthcheck`.

Sale con 0 si GET http://127.0.0.1:$PORT$HEALTH_PATH responde 200 y con 1 si no.
Solo usa la biblioteca estándar (las imágenes «slim» no traen curl) y lee PORT y
HEALTH_PATH igual que el resto de la API (entorno o workshop.env).
"""

import sys

from workshop.environment import SettingsError, shared
from workshop.processes import http_ok

TIMEOUT_SECONDS = 3


def main():
    try:
        url = f"http://127.0.0.1:{shared('PORT')}{shared('HEALTH_PATH')}"
    except SettingsError as error:
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    healthy = http_ok(url, TIMEOUT_SECONDS)
    print(f"healthcheck: {url} {'OK' if healthy else 'NO responde 200'}", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
