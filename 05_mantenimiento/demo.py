"""`make demo-5`: cambiar el modelo sin miedo, de principio a fin, con carga constante y Prometheus de verdad.

1. Copia la carpeta del modelo en results/mantenimiento/modelo (la publicada de quien asiste no se toca) y
   fabrica allí las dos candidatas (`candidates.py`): (a) una mala que pasa la ficha y (b) una reentrenada.
2. Arranca en 127.0.0.1 la API con gunicorn (serving.launch), Prometheus raspándola cada segundo
   (prom.py) y un cliente real que envía ≈ 200 peticiones/s (umbrales.toml, [demo]) durante toda la demo.
3. (a) la candidata mala entra en la sombra → el juez la retira; (b) la reentrenada pasa por la sombra,
   5 % y 25 % → el juez la promueve; (c) el simulacro de deriva (drill.py) dice qué variables cambiaron.
4. Imprime cada decisión con sus cifras y escribe results/mantenimiento.json; con MAINTENANCE_RECORD=1
   (`make demo-5 RECORD=1`), también el registro docs/cifras/mantenimiento.json.
Ctrl+C (o SIGTERM) en cualquier momento: para todo lo que arrancó (por PID) y sale.
"""

import json
import os
import platform
import shutil
import signal
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import requests

from diabetes_model.candidate import set_candidate
from diabetes_model.store import default_model_dir
from diabetes_model.train import FEATURE_NAMES, load_data
from diabetes_model.versions import live_version
from serving.launch import running_api
from workshop.environment import root
from workshop.spanish import duration, number

from . import prom
from .candidates import make_bad_version, make_retrained_version
from .judge import PROMOTE, Judge, percent
from .thresholds import load_thresholds

PREDICT_PATH = "/v1/predict"
RECORD = root() / "docs" / "cifras" / "mantenimiento.json"


def say(text):
    print(text, flush=True)


def traffic(count, seed=0):
    """Pacientes realistas: filas de los datos del taller, con un poco de ruido en las variables decimales
    (así casi ninguna se repite) y el 0 de «no medido» intacto. Misma semilla, mismas pacientes."""
    X, _ = load_data()
    rng = np.random.default_rng(seed)
    rows = X[rng.integers(0, len(X), count)]
    patients = []
    for row in rows:
        patient = {name: int(value) for name, value in zip(FEATURE_NAMES, row, strict=True)}
        for name, value, step in (("BMI", row[5], 0.1), ("DiabetesPedigreeFunction", row[6], 0.001)):
            noisy = value + step * rng.integers(-3, 4) if value else 0.0
            patient[name] = round(max(noisy, step) if value else 0.0, 3)
        patients.append(patient)
    return patients


class SteadyLoad:
    """Un cliente real: `threads` hilos con su conexión (requests.Session) que envían `rate` peticiones/s
    en total, repartidas entre `clients` clientes (X-Client-Id), hasta que se pare o pasen `max_seconds`."""

    def __init__(self, url, patients, rate, threads, clients, max_seconds):
        self.url, self.patients, self.clients = url + PREDICT_PATH, patients, clients
        self.interval = threads / rate
        self.sent = self.failed = 0
        self.versions, self.errors = {}, []
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._threads = [threading.Thread(target=self._loop, args=(i, threads), daemon=True) for i in range(threads)]

    def _loop(self, index, step):
        session, k = requests.Session(), index
        started = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            patient = self.patients[k % len(self.patients)]
            headers = {"X-Client-Id": f"cliente-{k % self.clients}"}
            try:
                answer = session.post(self.url, json=patient, headers=headers, timeout=10)
                ok, version = answer.status_code == 200, answer.headers.get("X-Model-Version")
                problem = "" if ok else f"{answer.status_code}: {answer.text[:120]}"
            except requests.RequestException as error:
                ok, version, problem = False, None, f"{type(error).__name__}: {error}"
            with self._lock:
                self.sent += 1
                self.failed += not ok
                self.versions[version] = self.versions.get(version, 0) + 1
                if problem and len(self.errors) < 5:
                    self.errors.append(problem)
            k += step
            self._stop.wait(max(0.0, started + (k // step) * self.interval - time.monotonic()))

    def counts(self):
        with self._lock:
            return {"sent": self.sent, "failed": self.failed}

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)


def step_record(decision, load, since):
    """Una fila de la línea de tiempo: el paso, sus cifras y las peticiones del cliente desde el inicio."""
    f, counts, window = decision.figures, load.counts(), decision.window
    answered = window.candidate.answers + window.live.answers
    return {"candidate_share": window.candidate.answers / answered if answered else 0.0,
            "t_s": round(time.monotonic() - since, 1), "weight": decision.weight, "action": decision.action,
            "tripped": list(decision.tripped), "candidate_sample": f["candidate_sample"],
            "error_rate": f["candidate_error_rate"], "live_error_rate": f["live_error_rate"],
            "flip_rate": f["flip_rate"], "p99_ratio": f["p99_ratio"], "risk_psi": f["risk_psi"],
            "sent": counts["sent"], "failed": counts["failed"]}


class Demo:
    def __init__(self, folder, stack, settings):
        self.folder, self.stack, self.settings = Path(folder), stack, settings
        self.started = time.monotonic()
        self.results = {"stories": {}}

    def prepare(self):
        """La copia del modelo y las dos candidatas, sin publicar."""
        self.model_dir = self.folder / "modelo"
        shutil.rmtree(self.model_dir, ignore_errors=True)
        shutil.copytree(default_model_dir(), self.model_dir, ignore=shutil.ignore_patterns("candidate.json", ".lock"))
        demo = self.settings["demo"]
        say(f"Modelo: copia de {default_model_dir()} en {self.model_dir} (la publicada no se toca); "
            f"viva {live_version(self.model_dir)}.")
        self.bad = make_bad_version(self.model_dir, demo["probabilidad_mala"])
        say(f"(a) candidata mala {self.bad}: pasa la ficha, el sha256 y la predicción de prueba, pero da "
            f"{number(demo['probabilidad_mala'], 2)} a todas las pacientes.")
        self.good = make_retrained_version(self.model_dir, demo["semilla_reentrenada"], log=say)
        say(f"(b) candidata reentrenada (semilla {demo['semilla_reentrenada']}): {self.good}.")

    def launch(self):
        demo = self.settings["demo"]
        env = {"MODEL_DIR": str(self.model_dir), "GUNICORN_ACCESSLOG": "off"}
        self.api_url, api = self.stack.enter_context(running_api(self.folder, env=env))
        os.environ["PIDFILE"] = str(self.folder / "gunicorn.pid")  # serving.reload avisa a ESTE gunicorn
        os.environ["MODEL_DIR"] = str(self.model_dir)
        say(f"API: gunicorn en {self.api_url} (PID {api.pid}).")
        self.prom = self.stack.enter_context(prom.running([self.api_url.removeprefix("http://")],
                                                          rule_files=[Path(__file__).parent / "alertas.yml"]))
        prom.wait_for_targets(self.prom.url)
        say(f"Prometheus: {self.prom.url} (PID {self.prom.process.pid}), raspa la API cada segundo.")
        self.load = self.stack.enter_context(SteadyLoad(
            self.api_url, traffic(demo["pacientes"]), demo["peticiones_por_segundo"], demo["hilos"],
            demo["clientes"], demo["duracion_max_s"]))
        say(f"Carga: un cliente real envía ≈ {number(demo['peticiones_por_segundo'], 0)} peticiones/s "
            f"({demo['hilos']} hilos, {demo['clientes']} clientes, {number(demo['pacientes'], 0)} pacientes).")

    def story(self, key, title, version):
        say(f"\n== {title}")
        before = self.load.counts()
        set_candidate(self.model_dir, version, 0.0)
        timeline = []
        judge = Judge(self.model_dir, self.prom.url, self.settings["juez"], log=say, name=f"({key}) {version}")
        decisions = judge.run(on_decision=lambda d: timeline.append(step_record(d, self.load, self.started)))
        after = self.load.counts()
        sent, failed = after["sent"] - before["sent"], after["failed"] - before["failed"]
        say(f"  → {decisions[-1].action.upper()}; el cliente envió {number(sent, 0)} peticiones en esta parte, "
            f"{number(failed, 0)} fallidas; viva ahora: {live_version(self.model_dir)}.")
        self.results["stories"][key] = {"version": version, "final": decisions[-1].action, "sent": sent,
                                        "failed": failed, "timeline": timeline,
                                        "live_after": live_version(self.model_dir)}
        return decisions[-1]

    def drill(self):
        """(c) El simulacro de deriva de drill.py, con la carga de la demo de fondo."""
        from . import drill

        say("\n== (c) Simulacro de deriva: tráfico desplazado y las variables que dan alerta")
        self.results["drill"] = drill.demo_step(api_url=self.api_url, prom_url=self.prom.url,
                                                model_dir=self.model_dir, log=say)


def figures(results):
    """Las cifras del registro (nombre → número) a partir de lo medido."""
    out = {"duracion_s": results["seconds"], "sent": results["sent"], "failed": results["failed"]}
    for key, story in results["stories"].items():
        last = story["timeline"][-1] if story["timeline"] else {}
        out.update({f"{key}.sent": story["sent"], f"{key}.failed": story["failed"],
                    f"{key}.steps": len(story["timeline"]), f"{key}.flip_rate_pct": 100 * last.get("flip_rate", 0),
                    f"{key}.risk_psi": last.get("risk_psi") or 0.0})
    for scenario, batch in (results.get("drill") or {}).items():  # el PSI de la versión que puntuó cada tanda
        for table in batch.get("psi", {}).values():
            out.update({f"c.{scenario}.psi.{name}": value for name, value in table.items() if value is not None})
    return out


def write_results(demo, settings, record):
    results = demo.results
    results["seconds"] = round(time.monotonic() - demo.started, 1)
    results.update(demo.load.counts())
    results["first_errors"] = list(demo.load.errors)
    payload = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
               "machine": {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
                           "os": platform.platform(), "python": platform.python_version(),
                           "load_1min": round(os.getloadavg()[0], 2)},
               "command": "make demo-5 RECORD=1", "thresholds": settings["juez"],
               "figures": figures(results), "stories": results["stories"], "drill": results.get("drill"),
               "first_errors": results["first_errors"]}
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    target = demo.folder / "mantenimiento.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    say(f"\nCifras: {target}" + (f" y el registro {RECORD}" if record else "") +
        f" · duración {duration(results['seconds'])} · el cliente envió {number(results['sent'], 0)} peticiones, "
        f"{number(results['failed'], 0)} fallidas.")
    if results["first_errors"]:
        say("Primeras peticiones fallidas: " + " · ".join(results["first_errors"]))
    if record:
        RECORD.write_text(text, encoding="utf-8")


def interrupt(signum, frame):
    raise KeyboardInterrupt


def run(record=False, folder=None):
    settings = load_thresholds()
    folder = Path(folder or root() / "results" / "mantenimiento")
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        demo = Demo(folder, stack, settings)
        demo.prepare()
        demo.launch()
        bad = demo.story("a", "(a) Una candidata mala que pasa todas las comprobaciones de la ficha", demo.bad)
        good = demo.story("b", "(b) Una candidata reentrenada con otra semilla", demo.good)
        demo.drill()
        say("\nParando lo que arrancó la demo…")
        stack.close()
        write_results(demo, settings, record)
    return 0 if (bad.action != PROMOTE and good.action == PROMOTE and demo.results["failed"] == 0) else 1


def main(argv=None):
    """`python -m maintenance demo [--record]`."""
    from workshop.argparse_es import SpanishArgumentParser

    parser = SpanishArgumentParser(prog="python -m maintenance demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true", default=os.environ.get("MAINTENANCE_RECORD") == "1",
                        help="escribe también el registro docs/cifras/mantenimiento.json")
    parser.add_argument("--folder", metavar="CARPETA", help="carpeta de trabajo (results/mantenimiento)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        return run(args.record, args.folder)
    except KeyboardInterrupt:
        say("Interrumpida: se paró todo lo que había arrancado la demo.")
        return 130


__all__ = ["SteadyLoad", "main", "percent", "run", "traffic"]
