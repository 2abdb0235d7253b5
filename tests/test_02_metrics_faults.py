"""Una carpeta de métricas llena o sin permiso cuesta las métricas, nunca las predicciones.

Con PROMETHEUS_MULTIPROC_DIR en un tmpfs lleno, prometheus_client escribía en archivos «dispersos»
mapeados en memoria y el núcleo mataba cada worker con SIGBUS (antes: 405 muertes, 400 de 400
predicciones fallidas, /health 0 de 5). Aquí, con gunicorn real en 127.0.0.1 y con la imagen Docker:

- carpeta llena desde el arranque: 0 predicciones fallidas, 0 workers muertos, una línea de log por
  worker y la ruta de salud con «metrics»: «degradadas» (sigue en 200);
- carpeta que se llena mientras sirve (un archivo que debe crecer): lo mismo;
- 50 reinicios de workers: la carpeta no crece (los archivos de los muertos se fusionan) y el
  contador sigue contando cada petición.

Montar un tmpfs diminuto exige root; sin root, la carpeta llena es una de solo lectura.
"""

import errno
import os
import re
import subprocess
import time
import uuid
from contextlib import contextmanager

import pytest
import requests
from docker_base import base_image

from diabetes_model.patients import example_patient
from serving.launch import start_api, stop_api
from support import (
    HEALTH_PATH,
    ROOT,
    SHARED,
    free_port,
    need,
    read_log,
    wait_for_log,
    wait_healthy,
    wait_until,
    worker_pids,
)

WARNING = "Métricas desactivadas en este worker"
BOOT = "Booting worker with pid"
# Rutas distintas: cada una añade ~14 entradas al histograma de duración y obliga a su archivo a crecer.
ROUTES = [("get", HEALTH_PATH), ("get", "/"), ("get", "/v1/model"), ("get", "/v1/model/card"),
          ("get", "/v1/model.onnx"), ("get", "/openapi.json"), ("get", "/metrics"), ("get", "/no/existe"),
          ("post", "/v1/predict"), ("delete", "/v1/predict")]
RESTARTS = 50


@contextmanager
def gunicorn(tmp_path, env):
    """gunicorn real en 127.0.0.1 con el lanzador (serving.launch), SIN esperar a que responda (las pruebas
    miran el log antes de la primera petición); se para por su grupo de procesos al salir."""
    port = free_port()
    process = start_api(port, tmp_path / f"gunicorn-{port}.log",
                        {"PORT": str(port), "PIDFILE": str(tmp_path / f"gunicorn-{port}.pid"), **env})
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        stop_api(process)


@pytest.fixture()
def tmpfs(tmp_path):
    """mount(kib): una carpeta en un tmpfs propio de ese tamaño, o None si no se puede montar (sin root)."""
    mounted = []

    def mount(kib):
        folder = tmp_path / f"tmpfs-{len(mounted)}"
        folder.mkdir()
        if os.geteuid() != 0:
            return None
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k,mode=0777", "tmpfs", str(folder)],
                                capture_output=True, timeout=30)
        if result.returncode != 0:
            return None
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        if subprocess.run(["umount", str(folder)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def fill(folder):
    """Escribe ceros hasta que el sistema de archivos dice que no cabe nada más."""
    with open(folder / "relleno", "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC


@pytest.fixture()
def full_folder(tmpfs, tmp_path):
    """Una carpeta de métricas donde no cabe nada: un tmpfs de 64 KiB lleno (root) o una de solo lectura."""
    folder = tmpfs(64)
    if folder is not None:
        fill(folder)
        return folder
    need(os.geteuid() != 0, "root sin permiso para montar un tmpfs (y root escribe en carpetas de solo lectura)")
    folder = tmp_path / "solo-lectura"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def predict(base_url, patient, count):
    """`count` predicciones, una tras otra; devuelve cuántas NO fueron un 200 (error o conexión caída)."""
    failed = 0
    for _ in range(count):
        try:
            failed += requests.post(base_url + "/v1/predict", json=patient, timeout=10).status_code != 200
        except requests.RequestException:
            failed += 1
    return failed


def degraded_healths(base_url, count=5):
    answers = [requests.get(base_url + HEALTH_PATH, timeout=5) for _ in range(count)]
    return sum(answer.status_code == 200 and answer.json().get("metrics") == "degradadas" for answer in answers)


def sample(text, name, **labels):
    """El valor de una muestra de /metrics (0 si no está)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.mark.slow
def test_a_full_folder_costs_the_metrics_not_the_predictions(tmp_path, full_folder, served_model_dir, card):
    env = {"WEB_CONCURRENCY": "2", "MODEL_DIR": str(served_model_dir), "PROMETHEUS_MULTIPROC_DIR": str(full_folder)}
    with gunicorn(tmp_path, env) as (base_url, process):
        # Cada worker comprueba la carpeta al nacer, antes de ninguna petición, y lo dice una vez.
        assert wait_for_log(process, WARNING, count=2) == 2, read_log(process)
        wait_healthy(base_url, process)
        degraded = degraded_healths(base_url)
        failed = predict(base_url, example_patient(card), 300)
        assert requests.get(base_url + "/metrics", timeout=5).status_code == 200
    log = read_log(process, None)
    assert (failed, degraded) == (0, 5), log[-3000:]
    assert log.count(WARNING) == 2 and log.count(BOOT) == 2 and "SIGBUS" not in log, log[-3000:]


@pytest.mark.slow
def test_a_folder_that_fills_up_while_serving_only_stops_the_metrics(tmp_path, tmpfs, served_model_dir, card):
    folder = tmpfs(256)  # lo que reserva un worker al nacer (con las métricas por versión, ~80 KB) y algo más
    need(folder is not None, "montar un tmpfs necesita root (y CAP_SYS_ADMIN)")
    env = {"WEB_CONCURRENCY": "1", "MODEL_DIR": str(served_model_dir), "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    with gunicorn(tmp_path, env) as (base_url, process):
        wait_healthy(base_url, process)
        assert degraded_healths(base_url, 1) == 0
        predicted_before = 3 - predict(base_url, example_patient(card), 3)
        fill(folder)  # el worker ya tiene su espacio reservado; crecer ya no cabe
        statuses = []
        for method, path in ROUTES * 3:
            try:
                statuses.append(requests.request(method, base_url + path, json={}, timeout=10).status_code)
            except requests.RequestException as error:
                statuses.append(type(error).__name__)
        failed = predict(base_url, example_patient(card), 100)
        degraded = degraded_healths(base_url)
        text = requests.get(base_url + "/metrics", timeout=5).text
    log = read_log(process, None)
    assert [status for status in statuses if not isinstance(status, int) or status >= 500] == [], log[-3000:]
    assert (failed, degraded) == (0, 5), log[-3000:]
    assert log.count(WARNING) == 1 and log.count(BOOT) == 1 and "SIGBUS" not in log, log[-3000:]
    # Lo escrito antes de llenarse sigue en /metrics.
    assert sample(text, "diabetes_api_requests_total", route="/v1/predict", status="200") >= predicted_before == 3


@pytest.mark.slow
def test_the_folder_stays_bounded_across_50_worker_restarts(tmp_path, served_model_dir, card):
    folder = tmp_path / "metricas"
    folder.mkdir()
    env = {"WEB_CONCURRENCY": "2", "GUNICORN_WORKER_CLASS": "sync", "GUNICORN_MAX_REQUESTS": "2",
           "MODEL_DIR": str(served_model_dir), "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    patient = example_patient(card)
    with gunicorn(tmp_path, env) as (base_url, process):
        wait_healthy(base_url, process)
        sent = failed = 0
        deadline = time.monotonic() + 60
        while read_log(process, None).count(BOOT) < RESTARTS + 2 and sent < 400 and time.monotonic() < deadline:
            failed += predict(base_url, patient, 1)
            sent += 1
        restarts = read_log(process, None).count(BOOT) - 2
        # Cada worker reservó ya sus archivos: se espera a que los dos vivos los tengan.
        wait_until(lambda: _workers_have_their_files(process.pid, folder), 15, "los workers no reservaron sus archivos")
        files = {path.name: path.stat().st_size for path in folder.glob("*.db")}
        text = requests.get(base_url + "/metrics", timeout=5).text
    assert restarts >= RESTARTS and failed == 0
    # 3 archivos por worker vivo (contadores, histogramas y los «gauges» livemax de metrics_versions.py, que se
    # borran al morir) + 2 fusionados (antes: 2 por cada worker que hubo, 102 tras 50 reinicios).
    assert len(files) <= 3 * 2 + 2, sorted(files)
    assert sum(files.values()) <= (3 * 2 + 2) * 32 * 1024, files  # con los tramos de la referencia, hasta 32 KB
    assert sample(text, "diabetes_api_requests_total", route="/v1/predict", status="200") == sent
    assert sample(text, "diabetes_api_request_seconds_count", route="/v1/predict") == sent
    assert sample(text, "diabetes_api_request_seconds_bucket", route="/v1/predict", le="+Inf") == sent


def _workers_have_their_files(master_pid, folder):
    pids = worker_pids(master_pid)
    return len(pids) == 2 and all((folder / f"{kind}_{pid}.db").exists() for pid in pids
                                  for kind in ("counter", "histogram"))


# ------------------------------------------------------------------ La imagen Docker con /dev/shm diminuto

def docker(*args, timeout=60, check=True):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} falló:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result.stdout.strip()


def container_log(identifier):
    """Lo que escribió el contenedor (gunicorn escribe su log en stderr)."""
    result = subprocess.run(["docker", "logs", identifier], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def image():
    """La imagen del Dockerfile (la caché de capas la comparte con tests/test_02_container.py); se borra al final."""
    try:
        reachable = subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        reachable = False
    need(reachable, "no hay un motor Docker accesible (docker info falla)")
    tag = f"diabetes-api:pytest-metricas-{uuid.uuid4().hex[:8]}"
    docker("build", "--network", "host", "--force-rm", "--build-arg", f"PORT={SHARED['PORT']}",
           "--build-arg", f"BASE_IMAGE={base_image()}", "-f", "02_docker/Dockerfile", "-t", tag, str(ROOT),
           timeout=900)
    try:
        yield tag
    finally:
        docker("rmi", "--no-prune", tag, check=False)


@pytest.mark.docker
def test_the_image_with_a_tiny_dev_shm_keeps_predicting(image, card):
    """La carpeta de métricas vive en /dev/shm (64 MB en Docker); con 8 KiB no cabe ni un archivo."""
    port = free_port()
    identifier = docker("run", "-d", "--network", "host", "--shm-size", "8k", "-e", f"PORT={port}", image)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, timeout=60)
        failed = predict(base_url, example_patient(card), 300)
        degraded = degraded_healths(base_url)
        health = wait_until(lambda: (status := docker("inspect", "-f", "{{.State.Health.Status}}", identifier))
                            in {"healthy", "unhealthy"} and status, 60, "Docker no evaluó la salud")
        log = container_log(identifier)
    finally:
        docker("rm", "-f", identifier, check=False)
    assert (failed, degraded, health) == (0, 5, "healthy"), log[-3000:]
    assert log.count(WARNING) == 2 and log.count(BOOT) == 2 and "SIGBUS" not in log, log[-3000:]
