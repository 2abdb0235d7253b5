"""Antes del taller (`make check`): comprueba este equipo y dice en español qué falta.

Solo usa la biblioteca estándar: se ejecuta con el Python del sistema, antes de `make setup`, como
`python3 -m workshop.check_machine` desde la raíz del repositorio (Python busca `workshop` ahí).
Obligatorio: Python ≥ 3.11 con venv, make y los puertos del taller libres.
Opcional: Docker (etapas 02-03) y wrk (make bench). Sale con 1 si falta algo obligatorio.
"""

import shutil
import subprocess
import sys

from workshop.paths import root
from workshop.processes import port_in_use

ROOT = root()


def workshop_ports():
    """Los puertos de workshop.env (PORT y DEV_PORT), leídos sin dependencias."""
    values = {}
    for line in (ROOT / "workshop.env").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if value and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return {name: int(values[name]) for name in ("PORT", "DEV_PORT") if values.get(name, "").isdigit()}


def docker_answers():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def checks():
    """(obligatorio, correcto, texto) de cada comprobación."""
    python_ok = sys.version_info >= (3, 11)
    version = sys.version.split()[0]
    yield True, python_ok, (f"Python {version}" if python_ok else
                            f"Python {version}: hace falta 3.11 o superior (make setup PYTHON=python3.11)")
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
        yield True, True, "módulo venv"
    except ImportError:
        yield True, False, "falta el módulo venv: en Debian/Ubuntu, sudo apt install python3-venv"
    yield True, shutil.which("make") is not None, "make" if shutil.which("make") else "falta make"
    for name, port in workshop_ports().items():
        free = not port_in_use(port)
        yield True, free, (f"puerto {port} ({name}) libre" if free else
                           f"el puerto {port} ({name}) está ocupado: ciérralo o usa otro, p. ej. {name}={port + 1}")
    if shutil.which("docker") is None:
        yield False, False, "Docker no está instalado (opcional: etapas 02 y 03; instala Docker Desktop o docker.io)"
    else:
        running = docker_answers()
        yield False, running, ("Docker responde" if running else
                               "Docker está instalado pero el motor no responde (arráncalo)")
    has_wrk = shutil.which("wrk") is not None
    yield False, has_wrk, "wrk" if has_wrk else "falta wrk (opcional: make bench; apt install wrk o brew install wrk)"


def main():
    missing = 0
    for required, ok, text in checks():
        mark = "✔" if ok else ("✘" if required else "·")
        print(f"  {mark} {text}")
        missing += required and not ok
    if missing:
        print(f"Falta {missing} requisito(s) obligatorio(s): corrígelos antes de `make setup`.")
        return 1
    print("Equipo listo para el taller. Siguiente paso: make demo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
