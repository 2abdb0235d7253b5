"""Arranca la API con gunicorn si no responde ya, ejecuta una orden y para solo lo que arrancó.

    python mobile_client/serve_api.py -- python mobile_client/cliente.py --demo
    python mobile_client/serve_api.py --keep --app-url          # sirve hasta Ctrl+C
    python mobile_client/serve_api.py --start-with "make docker-run" --stop-with "make docker-stop" -- …

Puerto, ruta de salud y archivo del PID salen de `workshop.environment` (variables PORT,
HEALTH_PATH y PIDFILE, o workshop.env). Si la API ya responde en http://127.0.0.1:<PORT>, se usa
tal cual y no se para al final. Si no, gunicorn arranca con `--pid <PIDFILE>`, el archivo en el que
`make reload` busca su maestro, y con WEB_DIR=mobile_client/web: la API sirve la app web en /app/.
La orden recibe DIABETES_API_URL. Con --start-with, la API la arranca esa orden (p. ej. un
contenedor Docker, cuya imagen ya fija WEB_DIR) y --stop-with la para.

Ctrl+C (o SIGTERM) es la forma normal de acabar: para por su PID solo lo que arrancó (SIGTERM y,
si no acaba, SIGKILL) y sale con 0; si cortó la orden a medias, con el código de la orden.
Un error también para lo arrancado.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

try:  # sin el entorno del taller, una frase en vez de un traceback
    import serving  # noqa: F401
    import workshop  # noqa: F401
except ModuleNotFoundError:
    sys.exit("Error: falta el proyecto del taller en este Python. Usa el del entorno (.venv/bin/python …); "
             "si aún no existe, créalo con `make setup`.")

from serving.launch import STOP_TIMEOUT, start_api, stop_api, wait_api
from workshop.argparse_es import SpanishArgumentParser
from workshop.environment import SettingsError, shared, shared_path
from workshop.processes import LOCALHOST, ProcessError, http_ok, port_in_use, stop

ROOT = Path(__file__).resolve().parents[1]
WEB_DIR = ROOT / "mobile_client" / "web"  # la app web que sirve la API en /app/
START_TIMEOUT = 30  # segundos


class StopRequested(KeyboardInterrupt):
    """Ctrl+C o SIGTERM: la parada normal. `code` es el de la orden si se cortó a medias."""

    def __init__(self, code=0):
        super().__init__(code)
        self.code = code


stopping = False  # tras la primera señal, o al empezar a parar, las siguientes no cortan la parada


def _stop_requested(_signum, _frame):
    # Manejador de SIGINT y SIGTERM. No se cambia a SIG_IGN: con otra señal ya pendiente, Python
    # lanzaría «OSError: Signal 15 ignored due to race condition» en mitad de la parada.
    global stopping
    if not stopping:
        stopping = True
        raise StopRequested


def settings():
    """(puerto, ruta de salud, archivo del PID) del taller; un ajuste imposible termina con una frase."""
    try:
        port, health, pidfile = shared("PORT"), shared("HEALTH_PATH"), shared_path("PIDFILE")
    except SettingsError as error:
        sys.exit(str(error))
    if not port.isdigit() or not 0 < int(port) < 65536:
        sys.exit(f"PORT={port!r} no es un puerto: usa un número entre 1 y 65535, p. ej. `make app PORT=9000`.")
    return int(port), health, pidfile


def healthy(url, health):
    return http_ok(url + health, timeout=2)


def running_pid(pidfile):
    """El PID del archivo si ese proceso vive (p. ej. otro `make app`); si no, None."""
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def launch(port, log, pidfile):
    """Lanza gunicorn con el lanzador de la etapa 02 (en su propia sesión: Ctrl+C lo recibe este script,
    que lo para con orden). Con WEB_DIR (si no viene ya en el entorno) la API sirve la app web en /app/.
    """
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    env = {"WEB_DIR": os.environ.get("WEB_DIR") or str(WEB_DIR)}
    return start_api(port, None if log == "-" else log, env, host=listen_host(), args=("--pid", str(pidfile)))


def show_app_url(url, port):
    print(f"App web «Diabetes Prediction»: {url}/app/  (ábrela en el navegador)", flush=True)
    if listen_host() != LOCALHOST:
        print(f"Escuchando en {listen_host()}: desde el móvil en la misma wifi, http://<IP de este equipo>:"
              f"{port}/app/ (sin HTTPS la app funciona solo con conexión).", flush=True)


def listen_host():
    """Dónde escucha la API: 127.0.0.1 (solo este equipo) salvo HOST=0.0.0.0, para probar desde el móvil."""
    return os.environ.get("HOST", "").strip() or LOCALHOST


def wait_until_healthy(url, process, log):
    """Espera a que la API responda; si gunicorn muere o no responde a tiempo, termina con su registro."""
    try:
        wait_api(url, process, START_TIMEOUT, interval=0.2)
    except ProcessError as error:
        sys.exit(str(error) if log == "-" else f"{error}\nRegistro completo: {shown(log)}")


def shut_down(process, pidfile):
    """Para lo que arrancamos, por su grupo de procesos, y borra su archivo de PID si quedó (tras un SIGKILL)."""
    stop_api(process, STOP_TIMEOUT, pidfile)
    print(f"API parada (PID {process.pid}).", flush=True)


def run_command(command, url):
    """Ejecuta la orden con DIABETES_API_URL y devuelve su código de salida."""
    child = subprocess.Popen(command, env={**os.environ, "DIABETES_API_URL": url})
    try:
        return child.wait()
    except StopRequested:
        try:
            child.wait(2)  # Ctrl+C en la terminal también le llega a la orden, que suele acabar sola
        except subprocess.TimeoutExpired:
            stop(child, STOP_TIMEOUT)  # un SIGTERM solo nos llegó a nosotros: se lo pasamos
        raise StopRequested(child.returncode if child.returncode >= 0 else 128 - child.returncode) from None


def shown(path):
    """La ruta como la escribiría una persona: relativa si está por debajo de aquí."""
    if str(path) == "-":
        return "esta terminal"
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def parse_args(argv):
    parser = SpanishArgumentParser(prog="serve_api.py",
                                   description="Asegura una API local en marcha mientras dura una orden.")
    parser.add_argument("--keep", action="store_true", help="tras la orden, sigue sirviendo hasta Ctrl+C")
    parser.add_argument("--app-url", action="store_true", help="muestra la URL de la app web (/app/)")
    parser.add_argument("--log", metavar="ARCHIVO", default=str(ROOT / "results" / "api.log"),
                        help="registro de gunicorn ('-' = esta terminal; por defecto results/api.log)")
    parser.add_argument("--start-with", metavar="ORDEN",
                        help="orden que arranca la API en lugar de gunicorn local (p. ej. Docker)")
    parser.add_argument("--stop-with", metavar="ORDEN", help="orden que para lo que arrancó --start-with")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- ORDEN",
                        help="orden a ejecutar con la API en marcha (recibe DIABETES_API_URL)")
    args = parser.parse_args(argv)
    args.command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return args


def main(argv=None):
    global stopping
    args = parse_args(argv)
    port, health, pidfile = settings()
    url = f"http://{LOCALHOST}:{port}"
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop_requested)
    process = None
    external = False
    try:
        if healthy(url, health):
            print(f"La API ya responde en {url}: la uso tal cual (no la arranco ni la paro).", flush=True)
        elif port_in_use(port):
            sys.exit(f"El puerto {port} está ocupado por otro programa que no es la API: ciérralo o elige otro "
                     "puerto con la variable PORT, p. ej. `make app PORT=9000`.")
        elif args.start_with:
            external = True
            if subprocess.call(args.start_with, shell=True, cwd=ROOT) != 0 or not healthy(url, health):
                sys.exit(f"La API no arrancó con «{args.start_with}». Revisa los mensajes de arriba.")
        else:
            if (pid := running_pid(pidfile)) is not None:
                sys.exit(f"Otro gunicorn (PID {pid}) usa ya el archivo de PID {shown(pidfile)}: páralo o indica "
                         "otro con la variable PIDFILE, p. ej. `make app PORT=9000 PIDFILE=results/api-9000.pid`.")
            print(f"Arrancando la API con gunicorn en {url} (registro: {shown(args.log)})…", flush=True)
            process = launch(port, args.log, pidfile)
            wait_until_healthy(url, process, args.log)
        code = run_command(args.command, url) if args.command else 0
        if args.app_url:
            show_app_url(url, port)
        if args.keep and code == 0 and (external or process is not None):
            follow = f" Peticiones: tail -f {shown(args.log)}" if process is not None and args.log != "-" else ""
            print(f"Sirviendo la API. Pulsa Ctrl+C para pararla.{follow}", flush=True)
            if process is not None:
                process.wait()
                sys.exit(f"La API terminó sola (código {process.returncode}). Mira su registro: {shown(args.log)}")
            while healthy(url, health):
                time.sleep(2)
            sys.exit("La API dejó de responder.")
        return code
    except StopRequested as stop_request:
        print("\nParando…", flush=True)
        return stop_request.code
    finally:
        stopping = True  # que ninguna señal corte la parada a medias
        if process is not None:
            shut_down(process, pidfile)
        if external and args.stop_with:
            subprocess.call(args.stop_with, shell=True, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
