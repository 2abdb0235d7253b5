"""Comprobación de salud para Docker: `python -m diabetes_api.healthcheck`.

Sale con 0 si GET http://127.0.0.1:$PORT$HEALTH_PATH responde 200 y con 1 si no.
Solo usa la biblioteca estándar (las imágenes «slim» no traen curl) y lee PORT y
HEALTH_PATH igual que el resto de la API (entorno o workshop.env).
"""

import sys
import urllib.error
import urllib.request

from .settings import SettingsError, shared

TIMEOUT_SECONDS = 3


def check(url, timeout=TIMEOUT_SECONDS):
    """True si la URL responde 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # URL local y fija
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main():
    try:
        url = f"http://127.0.0.1:{shared('PORT')}{shared('HEALTH_PATH')}"
    except SettingsError as error:
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    healthy = check(url)
    print(f"healthcheck: {url} {'OK' if healthy else 'NO responde 200'}", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
