"""Reintentos del cliente y el script que arranca la API para las demos (`make demo-client`, `make app`).

Los fallos los provoca un proxy HTTP real en 127.0.0.1, delante de la API real: responde 503,
corta la conexión o no responde en las primeras peticiones y después reenvía a la API.
"""

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from support import ROOT, free_port, running_gunicorn, stop

# Arranca servidores reales en 127.0.0.1: fuera de `make test-fast`.
pytestmark = pytest.mark.server

CLIENT = ROOT / "mobile_client" / "cliente.py"
SERVE = ROOT / "mobile_client" / "serve_api.py"
SAMPLE_NAMES = ["Ana", "Lucía", "Carmen", "Marta", "Rosa"]


@pytest.fixture(scope="module")
def api_url(served_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("api-reintentos")
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off",
           "PIDFILE": str(folder / "gunicorn.pid")}  # cada servidor de prueba, su archivo de PID
    with running_gunicorn(folder, env=env) as (url, _process):
        yield url


class FlakyProxy(ThreadingHTTPServer):
    """Aplica `plan` a las primeras peticiones ("503", "drop", "slow") y reenvía las demás.

    "slow" no responde hasta que el cliente, agotada su espera, cierra la conexión.
    """

    daemon_threads = True

    def __init__(self, upstream, plan):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.upstream, self.plan, self.seen = upstream, list(plan), []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class ProxyHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (nombre que exige http.server)
        self.relay()

    def do_POST(self):  # noqa: N802
        self.relay()

    def relay(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(f"{self.command} {self.path}")
        action = self.server.plan.pop(0) if self.server.plan else "forward"
        if action == "drop":  # cierra sin responder: «conexión caída»
            self.close_connection = True
            return
        if action == "slow":  # no responde: espera a que el cliente se canse y cierre la conexión
            self.close_connection = True
            return self.wait_until_client_leaves(timeout=10)
        if action == "503":
            return self.reply(503, b'{"error": {"code": "unavailable", "message": "Reiniciando."}}')
        answer = requests.request(self.command, self.server.upstream + self.path, data=body, timeout=10,
                                  headers={"Content-Type": "application/json"})
        self.reply(answer.status_code, answer.content)

    def wait_until_client_leaves(self, timeout):
        """Espera (acotada) a que el cliente cierre la conexión: leer sin consumir da b"" al cerrarla."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                return
        raise AssertionError(f"el cliente no abandonó la petición lenta en {timeout} s")

    def reply(self, status, content):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *args):
        pass


def run(command, env=None, timeout=90):
    full_env = {key: value for key, value in os.environ.items() if key != "DIABETES_API_URL"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**full_env, **(env or {})})


def test_retries_503_and_dropped_connections_then_succeeds(api_url):
    with FlakyProxy(api_url, ["503", "forward", "drop", "503"]) as proxy:
        result = run([sys.executable, str(CLIENT), "--url", proxy.url, "--demo"])
    assert result.returncode == 0, result.stderr
    assert all(name in result.stdout for name in SAMPLE_NAMES)
    # GET de la ficha: 503 y reintento; primer POST: conexión caída, 503 y reintento que llega a la API.
    assert proxy.seen[:5] == ["GET /v1/model"] * 2 + ["POST /v1/predict"] * 3


def test_retries_are_bounded_and_explained(api_url):
    with FlakyProxy(api_url, ["503"] * 20) as proxy:
        result = run([sys.executable, str(CLIENT), "--url", proxy.url, "--demo"])
    assert result.returncode == 3
    assert len(proxy.seen) == 4  # la petición y 3 reintentos
    assert "no está disponible ahora (error 503)" in result.stderr and "Traceback" not in result.stderr


def test_timeout_is_explained(api_url):
    with FlakyProxy(api_url, ["slow"] * 4) as proxy:
        result = run([sys.executable, str(CLIENT), "--url", proxy.url, "--timeout", "0.5", "--demo"])
    assert result.returncode == 3
    assert f"La API en {proxy.url} no respondió en 0.5 s" in result.stderr
    assert "Traceback" not in result.stderr


class OtherService(BaseHTTPRequestHandler):
    """Otro servicio JSON en la URL equivocada: responde 200 a todo, pero no es la API de diabetes."""

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "16")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


def test_a_json_service_that_is_not_the_api_is_explained():
    server = ThreadingHTTPServer(("127.0.0.1", 0), OtherService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = run([sys.executable, str(CLIENT), "--url", url, "--demo"])
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        f"{url}/v1/model no devolvió la ficha de un modelo: ¿es de verdad la URL de la API de diabetes? Revisa --url."]


def port_open(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def serve_env(tmp_path, port, model_dir):
    """Entorno de serve_api.py: su puerto y su archivo de PID (no los del taller) y un solo worker."""
    return {"PORT": str(port), "MODEL_DIR": str(model_dir), "WEB_CONCURRENCY": "1",
            "PIDFILE": str(tmp_path / "gunicorn.pid")}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_api_starts_runs_the_demo_and_stops_what_it_started(served_model_dir, tmp_path):
    port = free_port()
    command = [sys.executable, str(SERVE), "--log", str(tmp_path / "api.log"), "--",
               sys.executable, str(CLIENT), "--demo"]
    result = run(command, env=serve_env(tmp_path, port, served_model_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Arrancando la API con gunicorn en http://127.0.0.1:{port}" in result.stdout
    assert all(name in result.stdout for name in SAMPLE_NAMES)
    assert "API parada (PID" in result.stdout
    assert not port_open(port)
    assert not (tmp_path / "gunicorn.pid").exists()


def test_serve_api_reuses_a_running_api_and_leaves_it_running(api_url, tmp_path):
    port = api_url.rsplit(":", 1)[1]
    result = run([sys.executable, str(SERVE), "--app-url", "--", sys.executable, str(CLIENT), "--demo"],
                 env={"PORT": port, "PIDFILE": str(tmp_path / "gunicorn.pid")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ya responde" in result.stdout and "API parada" not in result.stdout
    assert f"{api_url}/app/" in result.stdout
    assert requests.get(api_url + "/v1/model", timeout=5).status_code == 200


# Cada paso: (señal, texto de la salida que se espera antes de enviarla). Ctrl+C, el caso normal, entra
# en `make test-fast`; las variantes (cada una arranca su gunicorn), solo en `make test`.
STOPS = {"ctrl-c": [(signal.SIGINT, None)],
         "sigterm": [(signal.SIGTERM, None)],
         "ctrl-c-y-sigterm-a-la-vez": [(signal.SIGINT, None), (signal.SIGTERM, None)],
         "otro-ctrl-c-mientras-para": [(signal.SIGINT, None), (signal.SIGINT, "Parando")]}


@pytest.mark.parametrize("steps", [pytest.param(steps, id=name, marks=() if name == "ctrl-c" else pytest.mark.slow)
                                   for name, steps in STOPS.items()])
def test_serve_api_keeps_serving_until_stopped_and_then_exits_0(served_model_dir, tmp_path, steps):
    port, pidfile = free_port(), tmp_path / "gunicorn.pid"
    env = {**os.environ, **serve_env(tmp_path, port, served_model_dir)}
    env.pop("DIABETES_API_URL", None)
    process = subprocess.Popen([sys.executable, str(SERVE), "--keep", "--app-url", "--log", str(tmp_path / "api.log")],
                               cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    master = None
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert f"http://127.0.0.1:{port}/app/" in lines[1] and "Ctrl+C" in lines[2], lines
        page = requests.get(f"http://127.0.0.1:{port}/app/", timeout=5)
        assert page.status_code == 200 and "Diabetes Prediction" in page.text
        # El maestro de gunicorn escribió su PID donde dice PIDFILE (lo que usa `make reload`) y es hijo de serve_api.
        master = int(pidfile.read_text())
        assert f"PPid:\t{process.pid}\n" in Path(f"/proc/{master}/status").read_text()
        seen = ""
        for sig, after in steps:  # una segunda señal no debe cortar la parada ni dejar gunicorn suelto
            while after and after not in seen:
                seen += process.stdout.readline() or pytest.fail(f"serve_api.py terminó sin escribir {after!r}")
            process.send_signal(sig)
        output, _ = process.communicate(timeout=30)
        output = seen + output
    finally:
        stop(process)
        if master and alive(master):
            os.kill(master, signal.SIGKILL)
    assert process.returncode == 0, output
    assert f"API parada (PID {master})." in output and "Traceback" not in output
    assert not alive(master) and not port_open(port) and not pidfile.exists()


def test_ctrl_c_during_the_command_cancels_it_and_stops_the_api(served_model_dir, tmp_path):
    port = free_port()
    env = {**os.environ, **serve_env(tmp_path, port, served_model_dir)}
    env.pop("DIABETES_API_URL", None)
    # Como en una terminal: serve_api.py y el cliente en un grupo de procesos que recibe Ctrl+C entero.
    process = subprocess.Popen([sys.executable, str(SERVE), "--log", str(tmp_path / "api.log"), "--",
                                sys.executable, str(CLIENT)], cwd=ROOT, env=env, text=True, start_new_session=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        while "modelo" not in (line := process.stdout.readline()):  # el cliente ya pregunta el primer dato
            assert line, "serve_api.py terminó antes de que el cliente preguntara"
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        stop(process)
    assert process.returncode == 130, output  # el código del cliente: la orden no terminó
    assert "Cancelado." in output and "API parada (PID" in output and "Traceback" not in output
    assert not port_open(port)


def test_port_taken_by_another_program_names_the_variable(tmp_path):
    with socket.socket() as other:  # «otro programa»: escucha en el puerto pero no es la API
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = run([sys.executable, str(SERVE), "--log", str(tmp_path / "api.log"), "--",
                      sys.executable, str(CLIENT), "--demo"], env=serve_env(tmp_path, port, "no-se-usa"))
        assert port_open(port)  # no se tocó
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"El puerto {port} está ocupado por otro programa que no es la API: ciérralo o elige otro puerto con "
        "la variable PORT, p. ej. `make app PORT=9000`."]


def test_a_port_left_in_time_wait_by_a_stopped_api_is_not_taken(served_model_dir, tmp_path):
    """Al parar una API que cerró conexiones (p. ej. las keep-alive de un navegador), su puerto queda un
    minuto en TIME_WAIT: no lo ocupa nadie, y `make app` debe poder volver a arrancar en él."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # como gunicorn
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # cierra primero el servidor: su lado queda en TIME_WAIT
            client.recv(1)  # el cierre llegó al cliente antes de que este cierre también
    result = run([sys.executable, str(SERVE), "--log", str(tmp_path / "api.log"), "--",
                  sys.executable, str(CLIENT), "--demo"], env=serve_env(tmp_path, port, served_model_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Arrancando la API con gunicorn en http://127.0.0.1:{port}" in result.stdout


def test_pidfile_of_a_running_server_is_not_overwritten(tmp_path):
    pidfile = tmp_path / "gunicorn.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # un proceso vivo: esta misma prueba
    result = run([sys.executable, str(SERVE), "--log", str(tmp_path / "api.log"), "--",
                  sys.executable, str(CLIENT), "--demo"], env=serve_env(tmp_path, free_port(), "no-se-usa"))
    assert result.returncode == 1
    assert "Arrancando" not in result.stdout
    assert f"Otro gunicorn (PID {os.getpid()}) usa ya el archivo de PID" in result.stderr
    assert "PIDFILE" in result.stderr and "Traceback" not in result.stderr
    assert pidfile.read_text() == f"{os.getpid()}\n"
