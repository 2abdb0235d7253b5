"""Etapa 02 con un motor Docker real: se construye la imagen del Dockerfile tal cual y se ejecuta.

Sin motor, estas pruebas se saltan con el motivo; con CI=true, fallan (en CI no se salta nada).
En CI no hay registro de contenedores: `.ci/run` crea una imagen base SUSTITUTA con la etiqueta
de la línea FROM (Python 3.11 de Debian bookworm, ver shared/docs/docker-in-ci.md). Eso prueba
que NUESTRO Dockerfile construye, que la imagen arranca sin root, que gunicorn sirve, que el
HEALTHCHECK llega a «healthy», que funciona con la raíz de solo lectura y que para limpio con
SIGTERM. No prueba el contenido exacto de la imagen oficial python:3.11-slim-bookworm (su
Python 3.11.x, sus paquetes): quien use el taller descarga la real.
Cada contenedor que se arranca aquí se borra por su id, también si la prueba falla.
"""

import functools
import subprocess
import time
import uuid

import pytest
import requests
from test_01_predict import valid_patient

from support import HEALTH_PATH, ROOT, SHARED, free_port, need, wait_healthy

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
def image(model_dir):
    """Construye la imagen una vez por sesión (con una etiqueta propia) y la borra al final."""
    need(engine_reachable(), "no hay un motor Docker accesible (docker info falla)")
    tag = f"diabetes-api:pytest-{uuid.uuid4().hex[:8]}"
    network = [] if has_bridge() else ["--network", "host"]
    docker("build", *network, "--force-rm", "--build-arg", f"PORT={SHARED['PORT']}", "-f", "02_docker/Dockerfile",
           "-t", tag, str(ROOT), timeout=600)
    try:
        yield tag
    finally:
        docker("rmi", "--no-prune", tag, check=False)  # conserva las capas en caché


def run_container(image, *options):
    """`docker run -d` en un puerto libre de 127.0.0.1; devuelve (id, base_url)."""
    port = free_port()
    network = ["-p", f"127.0.0.1:{port}:{port}"] if has_bridge() else ["--network", "host"]
    container = docker("run", "-d", *network, "-e", f"PORT={port}", *options, image)
    return container, f"http://127.0.0.1:{port}"


def wait_docker_health(container, timeout=90.0):
    """Espera (con límite) a que Docker marque el contenedor como healthy; devuelve el estado final."""
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "-f", "{{.State.Health.Status}}", container)
        if status in {"healthy", "unhealthy"}:
            break
        time.sleep(0.5)
    return status


@pytest.fixture(scope="module")
def served(image):
    """Un contenedor con las opciones por defecto; mide los segundos de `docker run` a healthy."""
    started = time.monotonic()
    container, base_url = run_container(image)
    try:
        status = wait_docker_health(container)
        seconds = time.monotonic() - started
        assert status == "healthy", docker("logs", "--tail", "40", container)
        yield container, base_url, seconds
    finally:
        docker("rm", "-f", container, check=False)


def test_image_turns_healthy_and_predicts_over_http(served, image, card, capsys):
    container, base_url, seconds = served
    size_mb = int(docker("image", "inspect", "-f", "{{.Size}}", image)) / 1e6
    health = requests.get(base_url + HEALTH_PATH, timeout=5)
    assert health.json() == {"status": "ok", "model_version": card["version"]}
    answer = requests.post(base_url + "/v1/predict", json=valid_patient(card), timeout=5)
    assert answer.status_code == 200 and answer.json()["model_version"] == card["version"]
    with capsys.disabled():
        print(f"\n[etapa 02] imagen {size_mb:.0f} MB; de docker run a healthy: {seconds:.1f} s")


def test_the_server_does_not_run_as_root(served):
    container, _, _ = served
    assert docker("exec", container, "id", "-u") != "0"
    uid_line = next(line for line in docker("exec", container, "cat", "/proc/1/status").splitlines()
                    if line.startswith("Uid:"))
    assert uid_line.split()[1] != "0"  # el PID 1 (maestro de gunicorn), no solo el `docker exec`


def test_image_holds_only_what_serving_needs(served):
    container, _, _ = served
    listing = docker("exec", container, "find", "/app", "-not", "-path", "*/__pycache__*").splitlines()
    assert "/app/00_intro/model/model.joblib" in listing and "/app/workshop.env" in listing
    unwanted = [p for p in listing if p.endswith((".csv", ".ipynb", "Dockerfile")) or "/tests" in p or "/.git" in p]
    assert unwanted == []
    pandas = subprocess.run(["docker", "exec", container, "python", "-c", "import pandas"],
                            capture_output=True, text=True, timeout=60)
    assert pandas.returncode != 0 and "No module named 'pandas'" in pandas.stderr


def test_read_only_container_serves_and_stops_cleanly_on_sigterm(image, card, capsys):
    container, base_url = run_container(image, "--read-only", "--tmpfs", "/tmp")
    try:
        wait_healthy(base_url, timeout=60)
        answer = requests.post(base_url + "/v1/predict", json=valid_patient(card), timeout=5)
        assert answer.status_code == 200
        started = time.monotonic()
        docker("stop", "--time", "10", container, timeout=30)
        seconds = time.monotonic() - started
        # 0 = gunicorn terminó por sí mismo con SIGTERM; 137 sería el SIGKILL tras agotar los 10 s.
        assert docker("inspect", "-f", "{{.State.ExitCode}}", container) == "0", docker("logs", container)
        with capsys.disabled():
            print(f"\n[etapa 02] docker stop (solo lectura): {seconds:.1f} s")
    finally:
        docker("rm", "-f", container, check=False)
