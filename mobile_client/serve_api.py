"""Arranca la API con gunicorn si no responde ya, ejecuta una orden y para solo lo que arrancó.

    python mobile_client/serve_api.py -- python mobile_client/cliente.py --demo
    python mobile_client/serve_api.py --keep --app-url          # sirve hasta Ctrl+C
    python mobile_client/serve_api.py --start-with "make docker-run" --stop-with "make docker-stop" -- …

Si la API ya responde en http://127.0.0.1:<PORT> (workshop.env, o la variable PORT), se usa tal
cual y no se para al final. Lo que este script arranca se para por su PID (SIGTERM y, si no
acaba, SIGKILL) también ante un error, Ctrl+C o SIGTERM. La orden recibe DIABETES_API_URL.
Con --start-with, la API la arranca esa orden (p. ej. un contenedor Docker) y --stop-with la para.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[1]
SHARED = dotenv_values(ROOT / "workshop.env")
GUNICORN_CONF = ROOT / "02_docker" / "gunicorn.conf.py"
START_TIMEOUT = 30  # segundos


def healthy(url):
    try:
        return requests.get(url + SHARED["HEALTH_PATH"], timeout=2).status_code == 200
    except requests.RequestException:
        return False


def port_in_use(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_api(port, log):
    """Lanza gunicorn (en su propia sesión: Ctrl+C lo recibe este script, que lo para con orden)."""
    command = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF),
               "--bind", f"127.0.0.1:{port}", "diabetes_api:create_app()"]
    output = None if log == "-" else open(log, "ab")  # el hijo hereda el descriptor; aquí se cierra
    try:
        return subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if output:
            output.close()


def wait_until_healthy(url, process, log):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"La API no arrancó (código {process.returncode}). Mira su registro: {shown(log)}")
        if healthy(url):
            return
        time.sleep(0.2)
    sys.exit(f"La API no respondió en {START_TIMEOUT} s. Mira su registro: {shown(log)}")


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    print(f"API parada (PID {process.pid}).", flush=True)


def shown(path):
    """La ruta del registro como la escribiría una persona: relativa si está por debajo de aquí."""
    if path == "-":
        return "esta terminal"
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Asegura una API local en marcha mientras dura una orden.")
    parser.add_argument("--keep", action="store_true", help="tras la orden, sigue sirviendo hasta Ctrl+C")
    parser.add_argument("--app-url", action="store_true", help="muestra la URL de la app web (/app/)")
    parser.add_argument("--log", default=str(ROOT / "results" / "api.log"),
                        help="registro de gunicorn ('-' = esta terminal; por defecto results/api.log)")
    parser.add_argument("--start-with", help="orden que arranca la API en lugar de gunicorn local (p. ej. Docker)")
    parser.add_argument("--stop-with", help="orden que para lo que arrancó --start-with")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="orden a ejecutar (tras --)")
    args = parser.parse_args(argv)
    args.command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return args


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # SIGTERM también pasa por `finally`
    port = int(os.environ.get("PORT") or SHARED["PORT"])
    url = f"http://127.0.0.1:{port}"
    process = None
    external = False
    try:
        if healthy(url):
            print(f"La API ya responde en {url}: la uso tal cual (no la arranco ni la paro).", flush=True)
        elif port_in_use(port):
            sys.exit(f"El puerto {port} está ocupado por otro programa que no es la API. "
                     "Libéralo o usa otro puerto (p. ej. `make demo-client PORT=9000`).")
        elif args.start_with:
            external = True
            if subprocess.call(args.start_with, shell=True, cwd=ROOT) != 0 or not healthy(url):
                sys.exit(f"La API no arrancó con «{args.start_with}». Revisa los mensajes de arriba.")
        else:
            if args.log != "-":
                Path(args.log).parent.mkdir(parents=True, exist_ok=True)
            print(f"Arrancando la API con gunicorn en {url} (registro: {shown(args.log)})…", flush=True)
            process = start_api(port, args.log)
            wait_until_healthy(url, process, args.log)
        code = subprocess.call(args.command, env={**os.environ, "DIABETES_API_URL": url}) if args.command else 0
        if args.app_url:
            print(f"App web «Diabetes Prediction»: {url}/app/  (ábrela en el navegador)", flush=True)
        if args.keep and external and code == 0:
            print("Sirviendo la API. Pulsa Ctrl+C para pararla.", flush=True)
            while healthy(url):
                time.sleep(2)
            sys.exit("La API dejó de responder.")
        if args.keep and process is not None and code == 0:
            follow = "" if args.log == "-" else f" Peticiones: tail -f {shown(args.log)}"
            print(f"Sirviendo la API. Pulsa Ctrl+C para pararla.{follow}", flush=True)
            process.wait()
            sys.exit(f"La API terminó sola (código {process.returncode}). Mira su registro: {shown(args.log)}")
        return code
    except KeyboardInterrupt:
        print("\nParando…", flush=True)
        return 130
    finally:
        if process is not None:
            stop(process)
        if external and args.stop_with:
            subprocess.call(args.stop_with, shell=True, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
