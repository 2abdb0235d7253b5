"""`make demo-4`: los tres esquemas de la charla, con el mismo modelo y las mismas pacientes, medidos.

1. Arranca lo que necesita en 127.0.0.1: redis-server, la API con gunicorn, el trabajo por lotes
   (cada SCHEMES_BATCH_INTERVAL s) y un consumidor del stream. Base de datos: SQLite en una carpeta
   temporal, o la de DATABASE_URL.
2. Latencia: la app crea SCHEMES_PATIENTS pacientes repartidas en SCHEMES_SECONDS segundos y cada
   una entra a la vez por los tres caminos. Para cada una se mide desde que existe el dato hasta
   que la app puede leer su predicción.
3. Rendimiento: una ráfaga de SCHEMES_BURST pacientes por cada esquema. En el stream, primero con
   un consumidor y después con dos: el lag (eventos sin procesar) en el tiempo.
4. Imprime la tabla de la charla con las cifras y la escribe en results/ (esquemas.md, .json, .png).
Ctrl+C en cualquier momento: para todo lo que arrancó (por PID) y sale.

Aquí se arranca todo y se mide; la tabla, el markdown y el gráfico los escribe `report.py`.

Variables (todas opcionales): SCHEMES_PATIENTS (300), SCHEMES_SECONDS (30), SCHEMES_BATCH_INTERVAL (5),
SCHEMES_BURST (5000), SCHEMES_EVENT_COST_MS (coste simulado por evento en los consumidores; 0 =
desactivado), SCHEMES_STREAM_MAXLEN (100.000), SCHEMES_OUTPUT (results/), DATABASE_URL, REDIS_URL (si se da,
usa ese Redis y no arranca uno). Las URL se imprimen y se escriben con la contraseña tapada.
"""

import os
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests
from redis.exceptions import ConnectionError as RedisConnectionError

from diabetes_model.patients import random_patients
from serving.launch import running_api
from workshop import processes
from workshop.environment import env_number, root
from workshop.secrets import mask_url
from workshop.spanish import duration, number

from . import batch, report, servers, stream
from .common import SchemesError, event_cost_from_env, exit_code, live_model, say, stream_maxlen_from_env
from .report import REST_CLIENTS, TALK, cores, percentiles, timeline

POLL_S = 0.05  # cada cuánto mira la app la tabla de predicciones
PREDICT_PATH = "/v1/predict"
FSYNC_PROBE = "pacientes:prueba-fsync"  # stream aparte para medir el precio de appendfsync always


@dataclass(frozen=True)
class Settings:
    patients: int
    seconds: float
    interval: float
    burst: int
    cost_ms: float
    output: Path
    database_url: str | None
    redis_url: str | None

    @classmethod
    def from_env(cls):
        output = os.environ.get("SCHEMES_OUTPUT", "").strip()
        return cls(patients=env_number("SCHEMES_PATIENTS", 300, minimum=1),
                   seconds=env_number("SCHEMES_SECONDS", 30.0, float, minimum=0.1),
                   interval=env_number("SCHEMES_BATCH_INTERVAL", 5.0, float, minimum=0.1),
                   burst=env_number("SCHEMES_BURST", 5000, minimum=1), cost_ms=event_cost_from_env(),
                   output=Path(output) if output else root() / "results",
                   database_url=os.environ.get("DATABASE_URL", "").strip() or None,
                   redis_url=os.environ.get("REDIS_URL", "").strip() or None)


@contextmanager
def app_clients():
    """Los hilos con los que la app llama a la API; con Ctrl+C se cancelan las peticiones en cola."""
    pool = ThreadPoolExecutor(REST_CLIENTS)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


class Demo:
    def __init__(self, settings, folder, stack):
        self.settings, self.folder, self.stack = settings, Path(folder), stack
        self.model = live_model()
        self.features = self.model.card["features"]
        self.database_url = settings.database_url or f"sqlite:///{self.folder / 'esquemas.sqlite3'}"
        self.processes = {}
        self.results = {"latency": {}, "throughput": {}, "scale": {}}
        self.http = threading.local()  # una sesión HTTP (conexión reutilizada) por hilo de la app

    # ------------------------------------------------------------ arrancar

    def launch(self):
        """Arranca en 127.0.0.1 lo que necesitan los tres esquemas y lo deja en la pila para pararlo al salir."""
        say(f"Modelo: {self.model.version}, el mismo que sirve la API. Coste simulado por evento en los "
            f"consumidores (SCHEMES_EVENT_COST_MS): {stream.describe_cost(self.settings.cost_ms)}.")
        if self.settings.redis_url:
            self.redis_url = self.settings.redis_url
            say(f"Redis: el de REDIS_URL ({mask_url(self.redis_url)}).")
        else:
            self.redis_url, process = self.stack.enter_context(servers.running_redis(self.folder))
            self.processes["redis-server"] = [process]
            say(f"Redis: {servers.server_label(process.args[0])} en {self.redis_url} (PID {process.pid}), con el "
                "AOF en la carpeta de la demo y appendfsync always: un evento cuyo XADD respondió sobrevive a un "
                "reinicio.")
        self.broker = stream.RedisStreams(self.redis_url, log=say)
        if not self.settings.redis_url:
            self.results["durability"] = durability_cost(self.broker.client)
            cost = self.results["durability"]
            say(f"  Su precio: XADD de uno en uno, {number(cost['always'], 0)}/s con appendfsync always frente a "
                f"{number(cost['everysec'], 0)}/s con everysec (fsync antes de cada respuesta).")
        self.broker.client.delete(self.broker.events, self.broker.results, self.broker.dead)
        self.broker.ensure_group()
        self.api_url, api = self.stack.enter_context(running_api(self.folder, env={"GUNICORN_ACCESSLOG": "off"}))
        self.processes["gunicorn"] = [api]
        say(f"API REST: gunicorn en {self.api_url} (PID {api.pid}, {len(psutil.Process(api.pid).children())} "
            "workers).")
        with batch.opened(self.database_url) as db:
            batch.ensure_schema(db, self.features)
            self.next_id = (db.query("SELECT MAX(id) FROM patients")[0][0] or 0) + 1
        job = self._start_process("batch", ["batch", "--every", str(self.settings.interval)])
        say(f"Base de datos: {self._database_label()}; trabajo por lotes cada "
            f"{number(self.settings.interval, 1)} s (PID {job.pid}).")
        self.add_consumer()

    def _database_label(self):
        if self.database_url.startswith("postgres"):
            return "PostgreSQL (DATABASE_URL)"
        return f"SQLite en {self.database_url.removeprefix('sqlite:///')}"

    def _start_process(self, name, args):
        process = processes.start(servers.python_module(*args), self.folder / f"{name}.log",
                                  env={"REDIS_URL": self.redis_url, "DATABASE_URL": self.database_url})
        self.stack.callback(processes.stop, process)
        self.processes.setdefault(name, []).append(process)
        return process

    def add_consumer(self):
        """Un consumidor más en el grupo; espera a que se dé de alta (aparece en XINFO CONSUMERS)."""
        name = f"consumidor-{len(self.processes.get('consumer', [])) + 1}"
        process = self._start_process("consumer", ["worker", "--name", name, "--cost-ms", str(self.settings.cost_ms)])
        processes.wait_until(lambda: name in {c["name"] for c in self.broker.status()["consumers"]}, 30,
                             process=process, what=f"El {name}")
        say(f"Stream: {name} en el grupo {self.broker.group} (PID {process.pid}).")

    def new_patients(self, count, seed):
        first = self.next_id
        self.next_id += count
        return list(enumerate(random_patients(self.features, count, seed=seed), first))

    def post(self, data):
        """La app pide una predicción a la API (una paciente por petición)."""
        if not hasattr(self.http, "session"):
            self.http.session = requests.Session()
        answer = self.http.session.post(self.api_url + PREDICT_PATH, json=data, timeout=10)
        if answer.status_code != 200:
            raise SchemesError(f"La API respondió {answer.status_code} a {PREDICT_PATH}: {answer.text[:200]}")

    # ------------------------------------------------------------ 1. latencia

    def latency(self):
        s = self.settings
        patients = self.new_patients(s.patients, seed=1)
        low, high = patients[0][0], patients[-1][0]
        say(f"\n== 1. Latencia: {s.patients} pacientes en {number(s.seconds, 1)} s "
            f"(≈ {number(s.patients / s.seconds, 1)} por segundo); cada una entra a la vez por los tres caminos")
        done = {name: {} for name in TALK}  # esquema → {paciente: segundos hasta que la app lee la predicción}
        sent = {}
        finished = threading.Event()
        # El cursor se toma ANTES de publicar: un resultado muy rápido no se pierde («$» llegaría tarde).
        after = self.broker.last_result_id()
        for reader in (threading.Thread(target=self._read_stream, args=(after, low, high, done["stream"], finished)),
                       threading.Thread(target=self._read_db, args=(low, high, sent, done["batch"], finished))):
            reader.daemon = True
            reader.start()
        runs_from = time.time()
        try:
            self._send_three_ways(patients, sent, done)
        finally:
            finished.set()
        self._record_latency(done, len(patients), runs_from)

    def _send_three_ways(self, patients, sent, done):
        """Cada paciente, a su hora, entra por los tres caminos; después espera (con límite) a que la app lea."""
        s = self.settings

        def post(patient_id, data):
            started = time.time()
            self.post(data)
            done["rest"][patient_id] = time.time() - started

        with app_clients() as pool, batch.opened(self.database_url) as db:
            started = time.monotonic()
            next_report = started + 5
            futures = []
            for index, (patient_id, data) in enumerate(patients):
                time.sleep(max(0.0, started + index * s.seconds / s.patients - time.monotonic()))
                sent[patient_id] = batch.write_patients(db, self.features, [(patient_id, data)])  # 1. la tabla
                self.broker.publish([(patient_id, data)])  # 2. el stream
                futures.append(pool.submit(post, patient_id, data))  # 3. la API
                if time.monotonic() >= next_report:
                    next_report += 5
                    say(f"  {number(time.monotonic() - started, 0)} s: {index + 1} enviadas; la app ya lee "
                        + ", ".join(f"{len(done[name])} ({name})" for name in TALK))
            for future in futures:
                future.result()
            deadline = time.monotonic() + 2 * s.interval + 30
            while time.monotonic() < deadline and any(len(done[name]) < len(patients) for name in TALK):
                time.sleep(0.1)

    def _record_latency(self, done, sent_count, runs_from):
        """p50 y p99 de cada camino, y la duración típica de una ejecución programada del trabajo por lotes."""
        with batch.opened(self.database_url) as db:
            (average,), = db.query("SELECT AVG(finished_at - started_at) FROM job_runs WHERE started_at >= ?",
                                   (runs_from,))
        self.results["job_seconds"] = average or 0.0
        for name in TALK:
            values = list(done[name].values())
            p50, p99 = percentiles(values)
            self.results["latency"][name] = {"p50_s": p50, "p99_s": p99, "read": len(values), "sent": sent_count,
                                             "samples": values}
            say(f"  {TALK[name][0]:38} p50 {duration(p50):>9}   p99 {duration(p99):>9}   "
                f"({len(values)}/{sent_count} leídas por la app)")

    def _read_stream(self, after, low, high, done, finished):
        """La app escucha el stream de resultados (XREAD) y anota cuándo le llega cada predicción."""
        reader = stream.RedisStreams(self.redis_url)
        while not finished.is_set():
            try:
                entries = reader.read_results(after, block_ms=200)
            except RedisConnectionError:  # Redis parado (Ctrl+C: la demo lo para todo): se deja de escuchar
                return
            for entry_id, fields in entries:
                after = entry_id
                patient_id = int(fields["patient_id"])
                if low <= patient_id <= high and patient_id not in done:
                    done[patient_id] = time.time() - float(fields["created_at"])

    def _read_db(self, low, high, sent, done, finished):
        """La app mira la tabla de predicciones cada POLL_S segundos."""
        with batch.opened(self.database_url) as db:
            while not finished.is_set():
                now = time.time()
                for patient_id in batch.predicted_ids(db, low, high) - done.keys():
                    if patient_id in sent:
                        done[patient_id] = now - sent[patient_id]
                finished.wait(POLL_S)

    # ------------------------------------------------------------ 2. rendimiento y escala

    def throughput(self):
        s = self.settings
        say(f"\n== 2. Rendimiento: una ráfaga de {number(s.burst, 0)} pacientes por cada esquema")
        self._batch_burst(self.new_patients(s.burst, seed=2))
        self._rest_burst(self.new_patients(s.burst, seed=3))
        for consumers in (1, 2):  # la misma ráfaga con un consumidor y, después, con dos
            while len(self.processes.get("consumer", [])) < consumers:
                self.add_consumer()
            self.results["scale"][consumers] = run = self._stream_burst(self.new_patients(s.burst, seed=3 + consumers))
            say(f"  {TALK['stream'][0]:38} {consumers} consumidor{'es' if consumers > 1 else ''}: "
                f"{number(s.burst, 0)} eventos en {duration(run['seconds'])} → {number(run['per_s'], 0)} eventos/s")
            say(f"    lag (eventos sin procesar) en el tiempo: {timeline(run['samples'])}")
        self.results["throughput"]["stream"] = self.results["scale"][1]
        one, two = self.results["scale"][1]["seconds"], self.results["scale"][2]["seconds"]
        say(f"  Con un segundo consumidor en el mismo grupo el lag se vacía en {duration(two)} en lugar de "
            f"{duration(one)} (×{number(one / two, 2)}), sin cambiar nada más.")
        if one / two < 1.2:
            say("  Aquí el segundo consumidor apenas ayuda: sin un modelo pesado, el límite no es el consumidor sino "
                f"Redis y la CPU que comparten todos los procesos ({cores()} núcleos). Prueba "
                "SCHEMES_EVENT_COST_MS=2 (coste simulado por evento) para ver la escala.")

    def _batch_burst(self, patients):
        """La app guarda la ráfaga de golpe y el trabajo programado la puntúa en su turno."""
        with batch.opened(self.database_url) as db:
            saved = batch.write_patients(db, self.features, patients)
            deadline = time.monotonic() + 2 * self.settings.interval + 120
            runs = []
            while sum(run[0] for run in runs) < len(patients):
                if time.monotonic() > deadline:
                    raise SchemesError("El trabajo por lotes no puntuó la ráfaga a tiempo: mira su log.")
                time.sleep(0.1)
                runs = db.query("SELECT patients_scored, finished_at - started_at, finished_at FROM job_runs "
                                "WHERE started_at > ? AND patients_scored > 0 ORDER BY started_at", (saved,))
        scored, seconds = sum(run[0] for run in runs), sum(run[1] for run in runs)
        readable = runs[-1][2] - saved
        self.results["throughput"]["batch"] = {"per_s": scored / seconds, "events": scored, "job_seconds": seconds,
                                               "readable_after_s": readable}
        say(f"  {TALK['batch'][0]:38} el trabajo puntuó {number(scored, 0)} en {duration(seconds)} → "
            f"{number(scored / seconds, 0)} pacientes/s; legibles {duration(readable)} después de guardarlas "
            "(el resto es esperar su turno)")

    def _rest_burst(self, patients):
        """La app envía una paciente por petición, con REST_CLIENTS hilos a la vez."""
        started = time.monotonic()
        with app_clients() as pool:
            list(pool.map(lambda item: self.post(item[1]), patients))
        seconds = time.monotonic() - started
        self.results["throughput"]["rest"] = {"per_s": len(patients) / seconds, "events": len(patients),
                                              "seconds": seconds}
        say(f"  {TALK['rest'][0]:38} {number(len(patients), 0)} peticiones en {duration(seconds)} → "
            f"{number(len(patients) / seconds, 0)} predicciones/s ({REST_CLIENTS} clientes a la vez)")

    def _stream_burst(self, patients):
        """Publica la ráfaga tan deprisa como puede y mide el lag hasta que todo tiene resultado."""
        state = self.broker.status()
        target = state["results"] + state["dead"] + len(patients)  # cada evento acaba con resultado o muerto
        started = time.monotonic()
        samples = [(0.0, state["lag"] + state["pending"])]
        for first in range(0, len(patients), 1000):
            self.broker.publish(patients[first:first + 1000])
            state = self.broker.status()
            samples.append((time.monotonic() - started, state["lag"] + state["pending"]))
        while state["results"] + state["dead"] < target:
            if time.monotonic() - started > 300:
                raise SchemesError("El stream no terminó la ráfaga en 5 minutos: mira el log de los consumidores.")
            time.sleep(0.05)
            state = self.broker.status()
            samples.append((time.monotonic() - started, state["lag"] + state["pending"]))
        seconds = samples[-1][0]
        return {"events": len(patients), "seconds": seconds, "per_s": len(patients) / seconds,
                "peak": max(value for _, value in samples), "samples": samples}

    # ------------------------------------------------------------ 3. informe

    def needs(self):
        """Qué necesita cada esquema, con los procesos que arrancó la demo contados (antes de pararlos)."""
        workers = len(psutil.Process(self.processes["gunicorn"][0].pid).children())
        return report.needs(self.database_url, workers, len(self.processes["consumer"]))


def durability_cost(client, count=300):
    """XADD por segundo, de uno en uno (un viaje de red y, con «always», un fsync por evento), con
    appendfsync always y con everysec, en un stream aparte que se borra; deja «always» puesto."""
    rates = {}
    try:
        for mode in ("everysec", "always"):
            client.config_set("appendfsync", mode)
            started = time.perf_counter()
            for _ in range(count):
                client.xadd(FSYNC_PROBE, {"data": "x" * 200})
            rates[mode] = count / (time.perf_counter() - started)
    finally:
        client.config_set("appendfsync", "always")
        client.delete(FSYNC_PROBE)
    return rates


def interrupt(signum, frame):
    raise KeyboardInterrupt


def check_stream_room(settings):
    """La demo cuenta los resultados con XLEN: todos los eventos que publica tienen que caber en el stream."""
    published, maxlen = settings.patients + 2 * settings.burst, stream_maxlen_from_env()
    if published > maxlen:
        raise SchemesError(f"La demo publica {number(published, 0)} eventos y cada stream guarda como mucho "
                           f"≈ {number(maxlen, 0)} (SCHEMES_STREAM_MAXLEN): sube SCHEMES_STREAM_MAXLEN o baja "
                           "SCHEMES_BURST.")


def run_demo():
    started = time.monotonic()
    settings = Settings.from_env()
    check_stream_room(settings)
    with tempfile.TemporaryDirectory(prefix="esquemas-") as folder, ExitStack() as stack:
        demo = Demo(settings, folder, stack)
        demo.launch()
        demo.latency()
        demo.throughput()
        needed = demo.needs()
        say("\nParando lo que arrancó la demo…")
        stack.close()
        report.write_report(demo.results, settings, demo.model.version, started, needed)


def main():
    # SIGTERM (p. ej. el final de una prueba) se trata como Ctrl+C: se para todo lo arrancado.
    signal.signal(signal.SIGTERM, interrupt)
    return exit_code(run_demo, "Interrumpida (Ctrl+C): se paró todo lo que había arrancado la demo.")
