"""`make reload`: comprueba la versión publicada y avisa (SIGHUP) al maestro de gunicorn de este equipo.

    python -m serving.reload [--model-dir CARPETA]

El maestro vuelve a comprobarla (on_reload en gunicorn.conf.py); si está rota, sigue sirviendo la
anterior. Códigos de salida: 0 bien, 1 error o versión rechazada, 2 orden mal escrita, 3 no hay servidor.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from diabetes_model.store import ModelError, default_model_dir
from diabetes_model.versions import existing_version, live_version, verify
from workshop.argparse_es import SpanishArgumentParser
from workshop.environment import SettingsError, shared_path
from workshop.spanish import after_colon


class NoServerError(ModelError):
    """No hay ningún maestro de gunicorn al que avisar."""

    exit_code = 3


def reload(root):
    """Comprueba la versión publicada y, si está bien, envía SIGHUP al maestro de gunicorn."""
    live = live_version(root)
    if live is None:
        raise ModelError(f"No hay ninguna versión publicada en {root}: publica la de referencia con `make model`.")
    verify(existing_version(root, live))
    pid, path = server_pid()
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise NoServerError(f"La API no está en marcha (el PID {pid} de {path} ya no existe): "
                            f"la versión {live} se servirá al arrancarla.") from None
    except PermissionError:
        raise ModelError(f"No tengo permiso para enviar señales al PID {pid} de {path}: "
                           "ejecuta la orden con el usuario que arrancó gunicorn.") from None
    return (f"Enviado SIGHUP al maestro de gunicorn (PID {pid}): los workers nuevos sirven la versión {live} "
            "y los viejos terminan antes lo que tienen en curso.")


def server_pid():
    """(PID, pidfile) del maestro de gunicorn en marcha, o NoServerError con una frase."""
    try:
        path = shared_path("PIDFILE")
    except SettingsError as error:
        raise ModelError(str(error)) from None
    try:
        pid = int(path.read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        raise NoServerError(f"No hay ninguna API con gunicorn en marcha en este equipo (no existe {path}): "
                            "la versión publicada se servirá al arrancarla.") from None
    except (OSError, ValueError):
        raise NoServerError(f"El archivo {path} no contiene un PID válido: no hay a quién avisar.") from None
    command = command_line(pid)
    if command is None:
        raise NoServerError(f"La API no está en marcha (el PID {pid} de {path} ya no existe): "
                            "la versión publicada se servirá al arrancarla.")
    # Un pidfile viejo puede nombrar un PID que ya es otro programa: SIGHUP lo mataría.
    if "gunicorn" not in command:
        raise NoServerError(f"El PID {pid} de {path} no es un maestro de gunicorn (el archivo es viejo): "
                            "no le envío ninguna señal.")
    return pid, path


def command_line(pid):
    """La línea de órdenes del proceso `pid` (con `ps`, igual en Linux y en macOS), o None si no existe."""
    try:
        result = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def main(argv=None):
    parser = SpanishArgumentParser(prog="python -m serving.reload",
                                   description="Comprueba la versión publicada y avisa (SIGHUP) al gunicorn "
                                               "de este equipo para que la sirva.")
    parser.add_argument("--model-dir", metavar="CARPETA",
                        help="carpeta del modelo (por defecto, MODEL_DIR de workshop.env)")
    args = parser.parse_args(argv)
    root = Path(args.model_dir) if args.model_dir else default_model_dir()
    try:
        print(reload(root))
    except ModelError as error:
        print(f"Error: {after_colon(str(error))}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
