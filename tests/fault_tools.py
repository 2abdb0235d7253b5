"""Ayudas de las pruebas de tolerancia a fallos: carga constante y los workers de gunicorn.

`SteadyLoad` lanza varios hilos que repiten una petición sin parar (con un tiempo máximo)
y anotan cada resultado; las pruebas cuentan después cuántas fallaron.
"""

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests


@dataclass
class Outcome:
    started: float
    finished: float
    status: int | None  # None: no hubo respuesta HTTP (conexión rechazada, cortada, tiempo agotado)
    error: str = ""
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    @property
    def ok(self):
        return self.status == 200


class SteadyLoad:
    """`threads` hilos con su propia sesión HTTP llamando a `send(session)` hasta que se pare.

    `pause` (segundos entre peticiones de cada hilo) deja CPU libre para lo demás: la carga es
    constante, no máxima (la máquina de CI tiene 2 núcleos).
    """

    def __init__(self, send, threads=4, max_seconds=60.0, pause=0.01):
        self.send = send
        self.pause = pause
        self.outcomes = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def _loop(self):
        with requests.Session() as session:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                started = time.monotonic()
                try:
                    response = self.send(session)
                    body = response.json() if response.headers.get("Content-Type", "").startswith(
                        "application/json") else {}
                    outcome = Outcome(started, time.monotonic(), response.status_code,
                                      body=body, headers=dict(response.headers))
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
            thread.join(timeout=30)

    def snapshot(self):
        with self._lock:
            return list(self.outcomes)

    def failures(self):
        return [outcome for outcome in self.snapshot() if not outcome.ok]

    def wait_for(self, predicate, timeout, since=None):
        """Espera (con límite) una respuesta que empezó después de `since` y cumple `predicate`."""
        since = time.monotonic() if since is None else since
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [o for o in self.snapshot() if o.started >= since and predicate(o)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise TimeoutError(f"Ninguna respuesta cumplió la condición en {timeout} s")

    def count_since(self, since, predicate=lambda outcome: True):
        return sum(1 for o in self.snapshot() if o.started >= since and predicate(o))


def longest_pause(outcomes, since):
    """La pausa más larga (s) entre dos respuestas correctas seguidas a partir de `since`."""
    times = sorted(o.finished for o in outcomes if o.ok)
    before = [t for t in times if t < since][-1:]
    times = before + [t for t in times if t >= since]
    return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)


def sample_patient(card):
    """Un paciente válido: el centro del rango de cada variable de la ficha."""
    return {f["name"]: int((f["min"] + f["max"]) // 2) if f["type"] == "integer" else (f["min"] + f["max"]) / 2
            for f in card["features"]}


def worker_pids(master_pid):
    return {child.pid for child in psutil.Process(master_pid).children()}


def has_model_code(pid):
    """True si el proceso ya importó scikit-learn (carga el modelo justo después)."""
    try:
        return "/sklearn/" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def wait_until(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(message)


def wait_workers_loaded(master_pid, count, timeout=60.0):
    """Espera a que el maestro tenga `count` workers con el modelo cargado; devuelve sus PID."""
    def loaded():
        pids = worker_pids(master_pid)
        return pids if len(pids) == count and all(has_model_code(pid) for pid in pids) else None
    return wait_until(loaded, timeout, f"gunicorn no tuvo {count} workers con el modelo cargado en {timeout} s")
