"""Etapa 02 con un motor Docker real: se construye la imagen del Dockerfile tal cual y se ejecuta.

Sin motor, estas pruebas se saltan con el motivo; con CI=true, fallan (en CI no se salta nada).
En CI no hay registro de contenedores: `.ci/run` crea una imagen base SUSTITUTA con la etiqueta
de la línea FROM (Python 3.11 de Debian bookworm, ver `.ci/run`). Eso prueba
que NUESTRO Dockerfile construye, que la imagen solo lleva lo de servir (sin scikit-learn, solo la
versión publicada del modelo: ficha y ONNX), que arranca sin root, que el HEALTHCHECK llega a
«healthy», que funciona con la raíz de solo lectura, que aguanta clientes lentos y que para limpio
con SIGTERM. No prueba el contenido exacto de la imagen oficial python:3.11-slim-bookworm.
Cada contenedor que se arranca aquí se borra por su id, también si la prueba falla.
"""

import functools
import subprocess
import time
import uuid

import pytest
import requests
from docker_base import base_image

from diabetes_model.patients import example_patient
from support import (
    HEALTH_PATH,
    ROOT,
    SHARED,
    free_port,
    live_version,
    need,
    probe_with_slow_clients,
    spanish,
    wait_healthy,
)

pytestmark = pytest.mark.docker


def docker(*args, timeout=60, check=True):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} falló:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result.stdout.strip()


def engine_reachable():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def has_bridge():
    """Sin red puente (dockerd --bridge=none en CI) se usa la red del anfitrión; si no, -p en 127.0.0.1."""
    return subprocess.run(["docker", "network", "inspect", "bridge"], capture_output=True, timeout=20).returncode == 0


@pytest.fixture(scope="session")
def image():
    """Construye la imagen una vez por sesión (etiqueta propia) y la borra al final. Devuelve (etiqueta, versión):
    la versión publicada en MODEL_DIR justo antes de construir, la que debe servir la imagen."""
    need(engine_reachable(), "no hay un motor Docker accesible (docker info falla)")
    version = live_version(ROOT / SHARED["MODEL_DIR"])
    tag = f"diabetes-api:pytest-{uuid.uuid4().hex[:8]}"
    network = [] if has_bridge() else ["--network", "host"]
    docker("build", *network, "--force-rm", "--build-arg", f"PORT={SHARED['PORT']}",
           "--build-arg", f"BASE_IMAGE={base_image()}", "-f", "02_docker/Dockerfile", "-t", tag, str(ROOT), timeout=900)
    try:
        yield tag, version
    finally:
        docker("rmi", "--no-prune", tag, check=False)  # conserva las capas en caché


@pytest.fixture()
def container(image):
    """Arranca contenedores de la imagen en puertos libres de 127.0.0.1 y los borra al final por su id."""
    started = []

    def run(*options):
        port = free_port()
        network = ["-p", f"127.0.0.1:{port}:{port}"] if has_bridge() else ["--network", "host"]
        started.append(docker("run", "-d", *network, "-e", f"PORT={port}", *options, image[0]))
        return started[-1], f"http://127.0.0.1:{port}"

    yield run
    for identifier in started:
        docker("rm", "-f", identifier, check=False)


def wait_docker_health(identifier, timeout=90.0):
    """Espera (con límite) a que Docker marque el contenedor como healthy; devuelve el estado final."""
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "-f", "{{.State.Health.Status}}", identifier)
        if status in {"healthy", "unhealthy"}:
            break
        time.sleep(0.5)
    return status


@pytest.fixture(scope="module")
def served(image):
    """Un contenedor con las opciones por defecto; mide los segundos de `docker run` a healthy."""
    port = free_port()
    network = ["-p", f"127.0.0.1:{port}:{port}"] if has_bridge() else ["--network", "host"]
    started = time.monotonic()
    identifier = docker("run", "-d", *network, "-e", f"PORT={port}", image[0])
    try:
        status = wait_docker_health(identifier)
        seconds = time.monotonic() - started
        assert status == "healthy", docker("logs", "--tail", "40", identifier)
        yield identifier, f"http://127.0.0.1:{port}", seconds
    finally:
        docker("rm", "-f", identifier, check=False)


def test_image_turns_healthy_and_predicts_over_http(served, image, card, capsys):
    identifier, base_url, seconds = served
    size_mb = int(docker("image", "inspect", "-f", "{{.Size}}", image[0])) / 1e6
    health = requests.get(base_url + HEALTH_PATH, timeout=5)
    assert health.json() == {"status": "ok", "model_version": image[1], "runtime": "onnx"}
    answer = requests.post(base_url + "/v1/predict", json=example_patient(card), timeout=5)
    assert answer.status_code == 200 and answer.json()["model_version"] == image[1]
    with capsys.disabled():
        print(f"\n[etapa 02] imagen {spanish(size_mb)} MB; de docker run a healthy: {spanish(seconds, 1)} s")


def test_the_reload_hint_in_the_log_names_docker_not_pid_1(served):
    """Dentro del contenedor Gunicorn es el PID 1: `kill -HUP 1` en el anfitrión avisaría a su init."""
    log = docker("logs", served[0]) + subprocess.run(["docker", "logs", served[0]], capture_output=True,
                                                      text=True, timeout=60).stderr
    assert "Recargar: desde el anfitrión, docker kill --signal HUP <contenedor>" in log, log[-3000:]
    assert "kill -HUP 1" not in log, log[-3000:]


def test_the_server_does_not_run_as_root(served):
    identifier = served[0]
    assert docker("exec", identifier, "id", "-u") != "0"
    uid_line = next(line for line in docker("exec", identifier, "cat", "/proc/1/status").splitlines()
                    if line.startswith("Uid:"))
    assert uid_line.split()[1] != "0"  # el PID 1 (maestro de gunicorn), no solo el `docker exec`


def test_the_image_holds_only_the_published_version_card_and_onnx(served, image):
    identifier, version = served[0], image[1]
    model = set(docker("exec", identifier, "find", "/app/model", "-type", "f").splitlines())
    assert model == {"/app/model/live.json", f"/app/model/versions/{version}/model.json",
                     f"/app/model/versions/{version}/model.onnx"}
    listing = docker("exec", identifier, "find", "/app").splitlines()
    unwanted = [path for path in listing if path.endswith((".csv", ".ipynb", ".joblib", ".pyc", "Dockerfile"))
                or "/tests" in path or "/.git" in path or "/00_intro" in path]
    assert unwanted == [] and "/app/workshop.env" in listing


@pytest.mark.parametrize("package", ["sklearn", "pandas", "scipy", "joblib"])
def test_the_serving_image_has_no_training_libraries(served, package):
    result = subprocess.run(["docker", "exec", served[0], "python", "-c", f"import {package}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and f"No module named '{package}'" in result.stderr


def test_slow_clients_do_not_block_the_container(served, card, capsys):
    """Lo mismo que test_02_slow_clients.py, contra el contenedor con sus opciones por defecto."""
    before, after, timings, text = probe_with_slow_clients(served[1], example_patient(card), 100)
    with capsys.disabled():
        print(f"\n[contenedor] {text}")
    assert before == 100 and after == 100, text
    assert [result for _, result, _ in timings] == [200] * len(timings), text


def test_read_only_container_serves_and_stops_cleanly_on_sigterm(container, card, capsys):
    identifier, base_url = container("--read-only", "--tmpfs", "/tmp")
    wait_healthy(base_url, timeout=60)
    assert requests.post(base_url + "/v1/predict", json=example_patient(card), timeout=5).status_code == 200
    started = time.monotonic()
    docker("stop", "--time", "10", identifier, timeout=30)
    seconds = time.monotonic() - started
    # 0 = gunicorn terminó por sí mismo con SIGTERM; 137 sería el SIGKILL tras agotar los 10 s.
    assert docker("inspect", "-f", "{{.State.ExitCode}}", identifier) == "0", docker("logs", identifier)
    with capsys.disabled():
        print(f"\n[etapa 02] docker stop (solo lectura): {spanish(seconds, 1)} s")
