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

Variables (todas opcionales): SCHEMES_PATIENTS (300), SCHEMES_SECONDS (30), SCHEMES_BATCH_INTERVAL (5),
SCHEMES_BURST (5000), SCHEMES_EVENT_COST_MS (coste simulado por evento en los consumidores; 0 =
desactivado), SCHEMES_OUTPUT (results/), DATABASE_URL, REDIS_URL (si se da, usa ese Redis y no arranca uno).
"""

import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from diabetes_api.settings import root

from . import batch, servers, stream
from .common import ModelError, SchemesError, env_float, env_int, es_number, load_model, make_patients

REST_CLIENTS = 4  # hilos de la app que llaman a la API a la vez
POLL_S = 0.05  # cada cuánto mira la app la tabla de predicciones
PREDICT_PATH = "/v1/predict"
TALK = {"batch": ("Base de datos compartida (por lotes)", "alta", "fácil"),
        "rest": ("API REST (al vuelo)", "media", "media"),
        "stream": ("Streaming (cola de mensajes)", "baja", "muy difícil")}


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
        return cls(patients=env_int("SCHEMES_PATIENTS", 300), seconds=env_float("SCHEMES_SECONDS", 30.0, 0.1),
                   interval=env_float("SCHEMES_BATCH_INTERVAL", 5.0, 0.1), burst=env_int("SCHEMES_BURST", 5000),
                   cost_ms=env_float("SCHEMES_EVENT_COST_MS", 0.0),
                   output=Path(output) if output else root() / "results",
                   database_url=os.environ.get("DATABASE_URL", "").strip() or None,
                   redis_url=os.environ.get("REDIS_URL", "").strip() or None)


def say(text=""):
    print(text, flush=True)


def percentiles(values):
    """p50 y p99 (en segundos), método «inclusive» de statistics: estable también con pocos datos."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (None, None)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def duration(seconds):
    """Una duración legible: «8,1 ms», «850 ms», «2,35 s», «1 min 5 s»."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{es_number(seconds * 1000, 1 if seconds < 0.01 else 0)} ms"
    if seconds < 60:
        return f"{es_number(seconds, 2)} s"
    return f"{int(seconds // 60)} min {es_number(seconds % 60)} s"


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
        self.model = load_model()
        self.features = self.model.card["features"]
        self.database_url = settings.database_url or f"sqlite:///{self.folder / 'esquemas.sqlite3'}"
        self.processes = {}
        self.results = {"latency": {}, "throughput": {}, "scale": {}}
        self.http = threading.local()  # una sesión HTTP (conexión reutilizada) por hilo de la app

    # ------------------------------------------------------------ arrancar

    def start(self):
        say(f"Modelo: {self.model.version}, el mismo que sirve la API. Coste simulado por evento en los "
            f"consumidores (SCHEMES_EVENT_COST_MS): {stream.describe_cost(self.settings.cost_ms)}.")
        if self.settings.redis_url:
            self.redis_url = self.settings.redis_url
            say(f"Redis: el de REDIS_URL ({self.redis_url}).")
        else:
            self.redis_url, process = self.stack.enter_context(servers.running_redis(self.folder))
            self.processes["redis-server"] = [process]
            say(f"Redis: redis-server en {self.redis_url} (PID {process.pid}).")
        self.broker = stream.RedisStreams(self.redis_url)
        self.broker.client.delete(self.broker.events, self.broker.results, self.broker.dead)
        self.broker.ensure_group()
        self.api_url, api = self.stack.enter_context(servers.running_api(self.folder))
        self.processes["gunicorn"] = [api]
        say(f"API REST: gunicorn en {self.api_url} (PID {api.pid}, {len(psutil.Process(api.pid).children())} "
            "workers).")
        with batch.opened(self.database_url) as db:
            batch.ensure_schema(db, self.features)
            self.next_id = (db.query("SELECT MAX(id) FROM patients")[0][0] or 0) + 1
        job = self._start_process("batch", ["batch", "--every", str(self.settings.interval)])
        say(f"Base de datos: {self._database_label()}; trabajo por lotes cada "
            f"{es_number(self.settings.interval, 1)} s (PID {job.pid}).")
        self.add_consumer()

    def _database_label(self):
        if self.database_url.startswith("postgres"):
            return "PostgreSQL (DATABASE_URL)"
        return f"SQLite en {self.database_url.removeprefix('sqlite:///')}"

    def _start_process(self, name, args):
        process = servers.start(servers.python_module(*args), self.folder / f"{name}.log",
                                env={"REDIS_URL": self.redis_url, "DATABASE_URL": self.database_url})
        self.stack.callback(servers.stop, process)
        self.processes.setdefault(name, []).append(process)
        return process

    def add_consumer(self):
        """Un consumidor más en el grupo; espera a que se dé de alta (aparece en XINFO CONSUMERS)."""
        name = f"consumidor-{len(self.processes.get('consumer', [])) + 1}"
        process = self._start_process("consumer", ["worker", "--name", name, "--cost-ms", str(self.settings.cost_ms)])
        servers.wait_until(lambda: name in {c["name"] for c in self.broker.status()["consumers"]}, process,
                           f"El {name}", 30)
        say(f"Stream: {name} en el grupo {self.broker.group} (PID {process.pid}).")

    def new_patients(self, count, seed):
        first = self.next_id
        self.next_id += count
        return list(enumerate(make_patients(self.features, count, seed=seed), first))

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
        say(f"\n== 1. Latencia: {s.patients} pacientes en {es_number(s.seconds, 1)} s "
            f"(≈ {es_number(s.patients / s.seconds, 1)} por segundo); cada una entra a la vez por los tres caminos")
        done = {name: {} for name in TALK}  # esquema → {paciente: segundos hasta que la app lee la predicción}
        sent = {}
        stop = threading.Event()
        # El cursor se toma ANTES de publicar: un resultado muy rápido no se pierde («$» llegaría tarde).
        after = self.broker.last_result_id()
        for reader in (threading.Thread(target=self._read_stream, args=(after, low, high, done["stream"], stop)),
                       threading.Thread(target=self._read_db, args=(low, high, sent, done["batch"], stop))):
            reader.daemon = True
            reader.start()

        def post(patient_id, data):
            started = time.time()
            self.post(data)
            done["rest"][patient_id] = time.time() - started

        runs_from = time.time()
        try:
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
                        say(f"  {es_number(time.monotonic() - started)} s: {index + 1} enviadas; la app ya lee "
                            + ", ".join(f"{len(done[name])} ({name})" for name in TALK))
                for future in futures:
                    future.result()
                deadline = time.monotonic() + 2 * s.interval + 30
                while time.monotonic() < deadline and any(len(done[name]) < len(patients) for name in TALK):
                    time.sleep(0.1)
        finally:
            stop.set()
        with batch.opened(self.database_url) as db:  # duración típica de una ejecución programada
            (average,), = db.query("SELECT AVG(finished_at - started_at) FROM job_runs WHERE started_at >= ?",
                                   (runs_from,))
        self.results["job_seconds"] = average or 0.0
        for name in TALK:
            values = list(done[name].values())
            p50, p99 = percentiles(values)
            self.results["latency"][name] = {"p50_s": p50, "p99_s": p99, "read": len(values), "sent": len(patients),
                                             "samples": values}
            say(f"  {TALK[name][0]:38} p50 {duration(p50):>9}   p99 {duration(p99):>9}   "
                f"({len(values)}/{len(patients)} leídas por la app)")

    def _read_stream(self, after, low, high, done, stop):
        """La app escucha el stream de resultados (XREAD) y anota cuándo le llega cada predicción."""
        reader = stream.RedisStreams(self.redis_url)
        while not stop.is_set():
            for entry_id, fields in reader.read_results(after, block_ms=200):
                after = entry_id
                patient_id = int(fields["patient_id"])
                if low <= patient_id <= high and patient_id not in done:
                    done[patient_id] = time.time() - float(fields["created_at"])

    def _read_db(self, low, high, sent, done, stop):
        """La app mira la tabla de predicciones cada POLL_S segundos."""
        with batch.opened(self.database_url) as db:
            while not stop.is_set():
                now = time.time()
                for patient_id in batch.predicted_ids(db, low, high) - done.keys():
                    if patient_id in sent:
                        done[patient_id] = now - sent[patient_id]
                stop.wait(POLL_S)

    # ------------------------------------------------------------ 2. rendimiento y escala

    def throughput(self):
        s = self.settings
        say(f"\n== 2. Rendimiento: una ráfaga de {es_number(s.burst)} pacientes por cada esquema")
        self._batch_burst(self.new_patients(s.burst, seed=2))
        self._rest_burst(self.new_patients(s.burst, seed=3))
        for consumers in (1, 2):  # la misma ráfaga con un consumidor y, después, con dos
            while len(self.processes.get("consumer", [])) < consumers:
                self.add_consumer()
            self.results["scale"][consumers] = run = self._stream_burst(self.new_patients(s.burst, seed=3 + consumers))
            say(f"  {TALK['stream'][0]:38} {consumers} consumidor{'es' if consumers > 1 else ''}: "
                f"{es_number(s.burst)} eventos en {duration(run['seconds'])} → {es_number(run['per_s'])} eventos/s")
            say(f"    lag (eventos sin procesar) en el tiempo: {timeline(run['samples'])}")
        self.results["throughput"]["stream"] = self.results["scale"][1]
        one, two = self.results["scale"][1]["seconds"], self.results["scale"][2]["seconds"]
        say(f"  Con un segundo consumidor en el mismo grupo el lag se vacía en {duration(two)} en lugar de "
            f"{duration(one)} (×{es_number(one / two, 2)}), sin cambiar nada más.")
        if one / two < 1.2:
            say("  Aquí el segundo consumidor apenas ayuda: sin un modelo pesado, el límite no es el consumidor sino "
                f"Redis y la CPU que comparten todos los procesos ({machine()['núcleos']} núcleos). Prueba "
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
        say(f"  {TALK['batch'][0]:38} el trabajo puntuó {es_number(scored)} en {duration(seconds)} → "
            f"{es_number(scored / seconds)} pacientes/s; legibles {duration(readable)} después de guardarlas "
            "(el resto es esperar su turno)")

    def _rest_burst(self, patients):
        """La app envía una paciente por petición, con REST_CLIENTS hilos a la vez."""
        started = time.monotonic()
        with app_clients() as pool:
            list(pool.map(lambda item: self.post(item[1]), patients))
        seconds = time.monotonic() - started
        self.results["throughput"]["rest"] = {"per_s": len(patients) / seconds, "events": len(patients),
                                              "seconds": seconds}
        say(f"  {TALK['rest'][0]:38} {es_number(len(patients))} peticiones en {duration(seconds)} → "
            f"{es_number(len(patients) / seconds)} predicciones/s ({REST_CLIENTS} clientes a la vez)")

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
        """Qué necesita cada esquema (los procesos que arrancó la demo, contados) y cómo falla."""
        workers = len(psutil.Process(self.processes["gunicorn"][0].pid).children())
        database = "servidor PostgreSQL" if self.database_url.startswith("postgres") else "archivo SQLite"
        return {
            "batch": {"processes": f"1 trabajo programado (cron) + {database}",
                      "failure": "trabajo caído → la app sigue viendo las predicciones anteriores (obsoletas), "
                                 "nunca a medias (una transacción)"},
            "rest": {"processes": f"gunicorn: 1 maestro + {workers} workers (y un balanceador en producción)",
                     "failure": "API caída o saturada → la app recibe un error y tiene que reintentar; la punta de "
                                "carga llega entera a la API"},
            "stream": {"processes": f"redis-server + {len(self.processes['consumer'])} consumidores (+ el productor "
                                    "en la app)",
                       "failure": "consumidor caído → otro reclama sus pendientes; mensaje venenoso → muertos tras "
                                  "N intentos; broker caído → la app no puede publicar"},
        }

    def report(self, started, needs):
        s = self.settings
        latency, throughput = self.results["latency"], self.results["throughput"]
        staleness = s.interval / 2 + self.results["job_seconds"]
        calendars = {"batch": f"cada {es_number(s.interval, 1)} s: obsolescencia media ≈ intervalo/2 + duración "
                              f"= {duration(staleness)} (cada noche: ≈ 12 h)",
                     "rest": "al momento, en cada petición", "stream": "al momento, en cada evento"}
        rows = [{"scheme": name, "title": title, "talk_latency": talk_latency, "talk_management": talk_management,
                 "p50_s": latency[name]["p50_s"], "p99_s": latency[name]["p99_s"], "read": latency[name]["read"],
                 "sent": latency[name]["sent"], "per_s": throughput[name]["per_s"], "calendar": calendars[name],
                 **needs[name]}
                for name, (title, talk_latency, talk_management) in TALK.items()]
        environment = machine()
        environment["duración de la demo"] = duration(time.monotonic() - started)
        payload = {"environment": environment, "settings": {k: str(v) for k, v in vars(s).items()},
                   "model_version": self.model.version, "rows": rows, "scale": self.results["scale"],
                   "latency_samples": {name: latency[name]["samples"] for name in TALK}}
        s.output.mkdir(parents=True, exist_ok=True)
        (s.output / "esquemas.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
        (s.output / "esquemas.md").write_text(markdown(rows, environment, s, self.model.version, self.results["scale"]),
                                              encoding="utf-8")
        write_chart(s.output / "esquemas.png", payload, environment, s)
        say("\n== 3. La tabla de la charla, medida en esta máquina\n")
        say(terminal_table(rows))
        say(f"\nTabla: {s.output / 'esquemas.md'} · gráfico: {s.output / 'esquemas.png'} · "
            f"duración: {environment['duración de la demo']}")


def timeline(samples, points=8):
    """Unos pocos puntos «tiempo: lag» repartidos por la ráfaga, para leerlos en la terminal."""
    if not samples:
        return "—"
    step = max(1, len(samples) // points)
    chosen = samples[::step]
    if chosen[-1] is not samples[-1]:
        chosen.append(samples[-1])
    return " · ".join(f"{es_number(t, 1)} s: {es_number(value)}" for t, value in chosen)


def terminal_table(rows):
    """La tabla de la charla en columnas alineadas, y debajo qué necesita cada esquema y cómo falla."""
    header = ("esquema", "latencia (charla)", "medida p50", "p99", "rendimiento", "gestión (charla)")
    lines = [[row["title"], row["talk_latency"], duration(row["p50_s"]), duration(row["p99_s"]),
              f"{es_number(row['per_s'])} pred/s", row["talk_management"]] for row in rows]
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    text = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in [header, *lines]]
    text.insert(1, "  ".join("-" * width for width in widths))
    for row in rows:
        text += ["", f"{row['title']}", f"  necesita: {row['processes']}", f"  calendario: {row['calendar']}",
                 f"  modos de fallo: {row['failure']}"]
    return "\n".join(text)


def markdown(rows, environment, settings, version, scale):
    header = ["esquema", "latencia (charla)", "medida p50 / p99", "rendimiento", "gestión (charla)", "qué necesita",
              "modos de fallo", "calendario"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join([row["title"], row["talk_latency"],
                                 f"{duration(row['p50_s'])} / {duration(row['p99_s'])}",
                                 f"{es_number(row['per_s'])} pred/s", row["talk_management"], row["processes"],
                                 row["failure"], row["calendar"]]) + " |" for row in rows]
    parts = ["# Tres esquemas de integración, medidos", "",
             "Generado por `make demo-4`. Las cifras dependen de la máquina y de su carga.", "", *table, "",
             "- **Latencia** de extremo a extremo: desde que existe el dato de la paciente (fila guardada, evento "
             "publicado o petición enviada) hasta que la app puede leer su predicción. "
             f"{settings.patients} pacientes en {es_number(settings.seconds, 1)} s, cada una por los tres caminos.",
             f"- **Rendimiento** con una ráfaga de {es_number(settings.burst)} pacientes: base de datos = lo que "
             f"puntúa el trabajo por segundo; API = predicciones/s con {REST_CLIENTS} clientes a la vez y una "
             "paciente por petición; stream = eventos/s desde el primero publicado hasta el último resultado, con un "
             "consumidor.",
             "- Coste simulado por evento en los consumidores (SCHEMES_EVENT_COST_MS): "
             f"{stream.describe_cost(settings.cost_ms)}.",
             f"- Modelo {version}, el mismo en los tres esquemas.", "",
             "## Escala elástica del stream", "",
             "| consumidores | eventos | hasta el último resultado | eventos/s | pico de lag |",
             "|---|---|---|---|---|"]
    parts += [f"| {consumers} | {es_number(run['events'])} | {duration(run['seconds'])} | {es_number(run['per_s'])} | "
              f"{es_number(run['peak'])} |" for consumers, run in scale.items()]
    parts += ["", "## Máquina y parámetros", "", "| dato | valor |", "|---|---|"]
    parts += [f"| {key} | {value} |" for key, value in environment.items()]
    parts += [f"| {name} | {value} |" for name, value in (
        ("SCHEMES_PATIENTS", settings.patients), ("SCHEMES_SECONDS", es_number(settings.seconds, 1)),
        ("SCHEMES_BATCH_INTERVAL", es_number(settings.interval, 1)), ("SCHEMES_BURST", es_number(settings.burst)),
        ("SCHEMES_EVENT_COST_MS", stream.describe_cost(settings.cost_ms)))]
    return "\n".join(parts) + "\n"


def machine():
    cpu = platform.processor() or "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"fecha": time.strftime("%Y-%m-%d %H:%M"), "núcleos": len(os.sched_getaffinity(0)), "CPU": cpu,
            "sistema": platform.platform(), "python": platform.python_version(),
            "carga media (1 min) al terminar": es_number(os.getloadavg()[0], 2)}


def write_chart(path, payload, environment, settings):
    import matplotlib

    matplotlib.use("Agg")  # sin pantalla: solo se guarda el PNG
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    rows = payload["rows"]
    for offset, key in enumerate(("p50_s", "p99_s")):
        left.bar([i + (offset - 0.5) * 0.4 for i in range(len(rows))], [row[key] or 0 for row in rows], 0.4,
                 label=key[:3])
    left.set_yscale("log")
    left.set_xticks(range(len(rows)), [row["title"].replace(" (", "\n(") for row in rows], fontsize=8)
    left.set_ylabel("tiempo (escala logarítmica)")
    left.set_title("Latencia de extremo a extremo: del dato a la predicción legible")
    left.legend()
    for consumers, run in payload["scale"].items():
        times, values = zip(*run["samples"], strict=True)
        right.plot(times, values, label=f"{consumers} consumidor{'es' if consumers > 1 else ''}")
    right.set_xlabel("segundos desde el primer evento de la ráfaga")
    right.set_ylabel("eventos sin procesar (lag + pendientes)")
    right.set_title(f"Stream: ráfaga de {es_number(settings.burst)} eventos; coste simulado por evento: "
                    f"{stream.describe_cost(settings.cost_ms)}", fontsize=10)
    right.legend()
    # Números a la española en los ejes: «10 ms», «1,5 s», «2.000».
    left.yaxis.set_major_formatter(FuncFormatter(lambda value, _: duration(value)))
    right.xaxis.set_major_formatter(FuncFormatter(lambda value, _: es_number(value, 1)))
    right.yaxis.set_major_formatter(FuncFormatter(lambda value, _: es_number(value)))
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.suptitle(f"{environment['núcleos']} núcleos · {environment['fecha']} · las cifras varían según la máquina",
                    fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    started = time.monotonic()
    # SIGTERM (p. ej. el final de una prueba) se trata como Ctrl+C: se para todo lo arrancado.
    signal.signal(signal.SIGTERM, interrupt)
    try:
        settings = Settings.from_env()
        with tempfile.TemporaryDirectory(prefix="esquemas-") as folder, ExitStack() as stack:
            demo = Demo(settings, folder, stack)
            demo.start()
            demo.latency()
            demo.throughput()
            needs = demo.needs()
            say("\nParando lo que arrancó la demo…")
            stack.close()
            demo.report(started, needs)
    except (SchemesError, ModelError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except requests.RequestException as error:
        print(f"Error: la API no respondió ({error}).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrumpida (Ctrl+C): se paró todo lo que había arrancado la demo.", file=sys.stderr)
        return 130
    return 0
