"""Ayudas compartidas por las pruebas: rutas, requisitos de CI, servidores reales en 127.0.0.1,
versiones del modelo en carpetas privadas, carga constante y clientes lentos.

Todo lo que se arranca aquí se para por su PID, también cuando la prueba falla. Las cargas y las
esperas están acotadas en número y en tiempo.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
from dotenv import dotenv_values

from serving.launch import GUNICORN_CONF, running_api  # noqa: F401 (GUNICORN_CONF: las pruebas lo importan de aquí)
from serving.launch import command as gunicorn_command  # noqa: F401 (la orden de gunicorn del lanzador)
from serving.launch import wait_api as wait_healthy  # noqa: F401 (espera a HEALTH_PATH; con el log si muere)
from workshop.environment import root
from workshop.processes import free_port, stop, wait_until  # noqa: F401 (el único wait_until, el de workshop)
from workshop.spanish import number

ROOT = root()
SHARED = dotenv_values(ROOT / "workshop.env")
HEALTH_PATH = SHARED["HEALTH_PATH"]
IN_CI = os.environ.get("CI", "").lower() == "true"
# Chromium de Debian (nunca uno descargado) sin conexiones propias a internet: la red de la máquina
# está cerrada y Chromium intentaría llegar a los servidores de Google en cada arranque.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


# ------------------------------------------------------------------ Requisitos

def need(available, reason):
    """Salta la prueba si falta una herramienta; con CI=true, falla: en CI no se salta nada."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true y falta una herramienta obligatoria: {reason}")
    pytest.skip(reason)


def have(command):
    return shutil.which(command) is not None


def spanish(value, decimals=0):
    """Un número en formato español (el de `workshop.spanish`), sin decimales por defecto."""
    return number(value, decimals)


# ------------------------------------------------------------------ Procesos y servidores

def read_log(process, tail=6000):
    """El final del log de un proceso que arrancamos (entero con tail=None)."""
    log = getattr(process, "log_path", None)
    text = Path(log).read_text(errors="replace") if log and Path(log).exists() else ""
    return text[-tail:] if tail else text


def run_to_exit(command, env=None, timeout=60.0):
    """Ejecuta una orden que debe terminar sola (p. ej. un servidor que se niega a arrancar).

    Si no termina a tiempo, la para por su PID. Devuelve (código, stdout, stderr); el código es
    None si hubo que pararla.
    """
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
        return process.returncode, out, err
    except subprocess.TimeoutExpired:
        stop(process)
        out, err = process.communicate()
        return None, out, err


def running_gunicorn(tmp_path, *, port=None, env=None, args=()):
    """La API con el `gunicorn.conf.py` real en 127.0.0.1 (el lanzador `serving.launch.running_api`).

    Devuelve (base_url, process) cuando responde y la para al salir. El log queda en tmp_path/gunicorn-<puerto>.log
    y el PID del maestro en tmp_path/gunicorn-<puerto>.pid (cada servidor, el suyo: varios a la vez no chocan).
    """
    port = port or free_port()
    return running_api(tmp_path, port, {"PORT": str(port), **(env or {})}, name=f"gunicorn-{port}", args=args,
                       timeout=30.0)


def worker_pids(master_pid):
    """Los PID de los workers (hijos) del maestro de gunicorn."""
    return {child.pid for child in psutil.Process(master_pid).children()}


def wait_workers_replaced(master_pid, old, count, timeout=30.0):
    """Espera (con límite) a que el maestro tenga `count` workers y ninguno de `old`; devuelve los nuevos."""
    def replaced():
        pids = worker_pids(master_pid)
        return pids if len(pids) == count and not pids & set(old) else None
    return wait_until(replaced, timeout, f"los workers {sorted(old)} no fueron sustituidos en {timeout} s")


def reload_workers(master, timeout=30.0):
    """SIGHUP al maestro de gunicorn y espera (acotada) a que TODOS sus workers sean nuevos.

    Devuelve (enviado, renovados): dos instantes de time.monotonic(). Desde `renovados`, cada
    respuesta viene de un worker nacido después del SIGHUP.
    """
    old = worker_pids(master.pid)
    os.kill(master.pid, signal.SIGHUP)
    sent = time.monotonic()
    wait_workers_replaced(master.pid, old, count=len(old), timeout=timeout)
    return sent, time.monotonic()


def wait_for_log(process, text, count=1, timeout=30.0):
    """Espera (con límite) a que el log del proceso contenga `text` al menos `count` veces; devuelve cuántas."""
    deadline = time.monotonic() + timeout
    while read_log(process, None).count(text) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return read_log(process, None).count(text)


# ------------------------------------------------------------------ Versiones del modelo (MODEL_DIR)
#
# Disposición: MODEL_DIR/live.json (puntero) y MODEL_DIR/versions/<versión>/ (inmutable).
# Las pruebas trabajan en copias privadas (`model_home`): nada de lo que hagan toca 00_intro/model.

POINTER = "live.json"


def live_version(model_dir):
    """El nombre de la versión a la que apunta live.json."""
    return json.loads((Path(model_dir) / POINTER).read_text(encoding="utf-8"))["version"]


def model_home(version_folder, target):
    """Un MODEL_DIR privado en `target`: una copia de `version_folder` en versions/ y live.json apuntándola."""
    name = Path(version_folder).name
    shutil.copytree(version_folder, Path(target) / "versions" / name)
    publish(target, name)
    return Path(target)


def add_version(model_dir, name, source=None):
    """Una versión nueva y válida: copia de `source` (por defecto la publicada) con otro nombre en su ficha.

    El ONNX es el mismo (su sha256 sigue cuadrando); lo que cambia es la versión que llevan las respuestas.
    """
    versions = Path(model_dir) / "versions"
    folder = shutil.copytree(versions / (source or live_version(model_dir)), versions / name)
    card = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    card["version"] = name
    (folder / "model.json").write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def shifted_version(model_dir, name, shift, source=None, card_changes=None):
    """Una versión nueva y VÁLIDA que predice otra cosa: copia de `source` (la publicada) con el término
    independiente del LinearClassifier del ONNX movido `shift` hacia la clase positiva (su sha256 se
    recalcula en la ficha). `card_changes(card)` puede retocar la ficha (p. ej. quitarle la referencia)."""
    import hashlib

    import onnx

    folder = add_version(model_dir, name, source)
    for path in folder.iterdir():
        path.chmod(0o644)
    graph = onnx.load(folder / "model.onnx")
    for node in graph.graph.node:
        for attribute in node.attribute if node.op_type == "LinearClassifier" else ():
            if attribute.name == "intercepts":
                attribute.floats[0] -= shift
                attribute.floats[1] += shift
    onnx.save(graph, folder / "model.onnx")
    card = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    card["artifacts"]["onnx"]["sha256"] = hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    if card_changes:
        card_changes(card)
    (folder / "model.json").write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    return folder


def publish(model_dir, name):
    """Cambia el puntero de forma atómica (os.replace), como hace el entrenamiento; `name` puede no existir."""
    pointer = Path(model_dir) / POINTER
    try:
        previous = live_version(model_dir)
    except (OSError, ValueError, KeyError, TypeError):
        previous = None
    draft = pointer.with_suffix(".tmp")
    draft.write_text(json.dumps({"version": name, "previous": previous, "published_at": "prueba"}), encoding="utf-8")
    os.replace(draft, pointer)


# Formas de estropear lo publicado y un trozo del mensaje (en español) con que la API se niega a servirlo.
DAMAGES = {
    "sha256": "no coincide con su ficha (sha256 distinto)",
    "engine": "se exportó con onnxruntime 0.0.1",
    "card": "Falta la ficha",
    "pointer": "está dañado. Vuelve a una versión buena con `make rollback`",
    "missing_version": "que no está en",
}


def damage(model_dir, kind):
    """Estropea lo publicado en `model_dir` de la forma `kind` (una clave de DAMAGES); devuelve la carpeta."""
    folder = Path(model_dir) / "versions" / live_version(model_dir)
    if kind == "sha256":
        with open(folder / "model.onnx", "ab") as handle:
            handle.write(b"manipulado")
    elif kind == "engine":
        card = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        card["artifacts"]["onnx"]["onnxruntime"] = "0.0.1"
        (folder / "model.json").write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    elif kind == "card":
        (folder / "model.json").unlink()
    elif kind == "pointer":
        (Path(model_dir) / POINTER).write_text('{"version": ', encoding="utf-8")
    elif kind == "missing_version":
        publish(model_dir, "v-no-existe")
    else:
        raise ValueError(kind)
    return folder


# ------------------------------------------------------------------ Carga constante


@dataclass
class Outcome:
    started: float
    finished: float
    status: int | None  # None: sin respuesta HTTP (conexión rechazada o cortada, tiempo agotado)
    version: str | None = None
    upstream: str = ""  # cabecera X-Upstream (nginx): la réplica que respondió
    error: str = ""

    @property
    def ok(self):
        return self.status == 200

    @property
    def seconds(self):
        return self.finished - self.started


class SteadyLoad:
    """`threads` hilos que repiten `POST url` con el mismo cuerpo JSON hasta que se pare la carga.

    Cada petición abre su propia conexión (Connection: close), como muchos clientes distintos:
    así un fallo cuenta lo que hace el servidor, no una conexión keep-alive reutilizada en el
    instante en que el servidor la cierra. `pause` entre peticiones de cada hilo deja CPU libre
    (la máquina tiene 2 núcleos): la carga es constante, no máxima. `max_seconds` la acota.
    """

    def __init__(self, url, body, threads=3, pause=0.02, max_seconds=90.0, timeout=10.0):
        self.url, self.body, self.pause, self.timeout = url, body, pause, timeout
        self.outcomes = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def _loop(self):
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            started = time.monotonic()
            try:
                response = requests.post(self.url, json=self.body, timeout=self.timeout,
                                         headers={"Connection": "close"})
                version = response.json().get("model_version") if response.status_code == 200 else None
                outcome = Outcome(started, time.monotonic(), response.status_code, version,
                                  response.headers.get("X-Upstream", ""),
                                  "" if response.status_code == 200 else response.text[:200])
            except (requests.RequestException, ValueError) as error:
                outcome = Outcome(started, time.monotonic(), None, error=f"{type(error).__name__}: {error}")
            with self._lock:
                self.outcomes.append(outcome)
            self._stop.wait(self.pause)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def snapshot(self):
        with self._lock:
            return list(self.outcomes)

    def failures(self):
        return [outcome for outcome in self.snapshot() if not outcome.ok]

    def since(self, moment):
        """Las respuestas a peticiones que empezaron en `moment` o después."""
        return [outcome for outcome in self.snapshot() if outcome.started >= moment]

    def wait_for(self, predicate, timeout, since=None, count=1):
        """Espera (con límite) `count` respuestas que empezaron después de `since` y cumplen `predicate`."""
        since = time.monotonic() if since is None else since
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [outcome for outcome in self.since(since) if predicate(outcome)]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise TimeoutError(f"no llegaron {count} respuestas que cumplan la condición en {timeout} s. {self.report()}")

    def report(self, title="carga", event=None):
        """Peticiones enviadas y fallidas, la respuesta más lenta y las versiones que llevaron las respuestas.

        `event` (un instante de time.monotonic(), p. ej. el SIGHUP) sitúa la más lenta respecto a él.
        """
        outcomes = self.snapshot()
        failed = [o for o in outcomes if not o.ok]
        slowest = max(outcomes, key=lambda o: o.seconds, default=None)
        versions = Counter(o.version for o in outcomes if o.ok)
        text = (f"[{title}] peticiones enviadas: {spanish(len(outcomes))}, fallidas: {spanish(len(failed))}, "
                f"la más lenta: {spanish(slowest.seconds * 1000 if slowest else 0)} ms")
        if slowest and event is not None:
            text += f" (empezó a {spanish((slowest.started - event) * 1000)} ms del suceso)"
        text += ", versiones: " + (", ".join(f"{v} × {spanish(n)}" for v, n in sorted(versions.items())) or "ninguna")
        if failed:
            text += f"; primeros fallos: {[f.error or f.status for f in failed[:3]]}"
        return text


# ------------------------------------------------------------------ Clientes lentos


@contextmanager
def slow_clients(host, port, count=100, path="/v1/predict"):
    """`count` conexiones que envían las cabeceras y parte de un cuerpo JSON… y se quedan quietas.

    Como un móvil con mala cobertura o un ataque «slowloris». Se cierran al salir.
    """
    body_start = b'{"Pregnancies": 2, "Glucose": 1'
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body_start) + 200}\r\n\r\n").encode()
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, port), timeout=5)
            sock.sendall(head + body_start)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def still_waiting(sock):
    """True si la conexión sigue abierta y el servidor no ha respondido nada (sigue esperando el cuerpo)."""
    sock.settimeout(0)  # sin esperar: con un timeout, Python esperaría datos antes de mirar
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False  # llegó una respuesta o el servidor cerró la conexión


def accept_queue(port):
    """Conexiones ya establecidas con `port` que el servidor aún no ha aceptado (accept) en ningún socket.

    En /proc/net/tcp{,6}, la columna rx_queue de un socket en escucha (estado 0A) es su cola de accept.
    """
    waiting = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                waiting += int(fields[4].split(":")[1], 16)
    return waiting


def probe_with_slow_clients(base_url, patient, count=100, client_timeout=10.0, rounds=3):
    """Con `count` clientes lentos abiertos contra `base_url`, pide HEALTH_PATH y /v1/predict `rounds` veces.

    Devuelve (esperando antes, esperando después, [(petición, estado o error, segundos)], texto para imprimir):
    cuántos clientes lentos seguían abiertos y sin respuesta antes y después de las peticiones.
    """
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with slow_clients(host, int(port), count) as sockets:
        wait_until(lambda: accept_queue(int(port)) == 0, 10,  # que el servidor las acepte todas
                   f"el servidor de {base_url} no aceptó las {count} conexiones en 10 s")
        before = sum(still_waiting(sock) for sock in sockets)
        timings = []
        for _ in range(rounds):
            for method, path, body in (("GET", HEALTH_PATH, None), ("POST", "/v1/predict", patient)):
                started = time.monotonic()
                try:
                    result = requests.request(method, base_url + path, json=body, timeout=client_timeout).status_code
                except requests.RequestException as error:
                    result = type(error).__name__
                timings.append((f"{method} {path}", result, time.monotonic() - started))
        after = sum(still_waiting(sock) for sock in sockets)
    text = "\n".join([f"{count} clientes lentos; abiertos y esperando: {before} antes y {after} después",
                      *(f"  {name}: {result} en {spanish(seconds * 1000, 1)} ms" for name, result, seconds in timings)])
    return before, after, timings, text
