"""El codespace (.devcontainer/): la imagen se construye y trae Python, Node y make; los puertos que
reenvía son los de workshop.env.

La imagen se construye dentro de `make test` (CI no la construye otra vez) con el motor Docker de la
máquina y la base de tests/docker_base.py: la de 02_docker/Dockerfile (el mismo `ARG BASE_IMAGE`) o, en
CI, su SUSTITUTA sin registro que prepara `.ci/run`. Se construye la variante LIGERA (`EXTRA_TOOLS=`
vacío: make, git, Node y npm, sin Docker, nginx, Redis, PostgreSQL ni Chromium, que son los mismos
paquetes de Debian que instala `.ci/run`). No prueba GitHub Codespaces: ni el reenvío de puertos por
HTTPS, ni Docker dentro del codespace («--privileged»), ni `postCreateCommand` (CONTRIBUTING.md, «CI»).
"""

import json
import re
import subprocess
import uuid

import pytest
from docker_base import base_image

from support import ROOT, SHARED, need

FOLDER = ROOT / ".devcontainer"
PRODUCTION_DOCKERFILE = ROOT / "02_docker" / "Dockerfile"


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


def build_args(dockerfile):
    """{nombre: valor por defecto} de las líneas ARG con valor."""
    lines = dockerfile.read_text(encoding="utf-8").splitlines()
    return dict(line.split(None, 1)[1].split("=", 1) for line in lines if re.match(r"ARG \w+=", line))


def definition():
    return json.loads((FOLDER / "devcontainer.json").read_text(encoding="utf-8"))


def test_the_definition_is_json_and_forwards_the_ports_of_workshop_env():
    config = definition()
    expected = {int(SHARED["PORT"]), int(SHARED["DEV_PORT"])}
    assert set(config["forwardPorts"]) == expected, config["forwardPorts"]
    assert set(config.get("portsAttributes", {})) <= {str(port) for port in expected}


def test_the_definition_uses_only_the_dockerfile_no_features():
    """Las «features» se descargan de un registro de contenedores: CI no podría construir la misma receta."""
    config = definition()
    assert "features" not in config and "image" not in config, sorted(config)
    assert (FOLDER / config["build"]["dockerfile"]).is_file()
    for command in ("postCreateCommand", "postStartCommand"):
        for target in re.findall(r"\bmake ([a-z][a-z0-9 -]*)", config.get(command, "")):
            for name in target.split():
                assert re.search(rf"^{re.escape(name)}:", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M), name


def test_the_codespace_starts_from_the_same_pinned_base_as_the_production_image():
    """El mismo `ARG BASE_IMAGE` (etiqueta@digest): la base sustituta de CI (.ci/run) sirve para las dos y
    el codespace tiene el mismo Python."""
    assert build_args(FOLDER / "Dockerfile")["BASE_IMAGE"] == build_args(PRODUCTION_DOCKERFILE)["BASE_IMAGE"]
    lines = (FOLDER / "Dockerfile").read_text(encoding="utf-8").splitlines()
    assert next(line for line in lines if line.startswith("FROM")) == "FROM ${BASE_IMAGE}"


def test_the_tools_left_out_of_the_ci_build_are_debian_packages_that_ci_installs():
    """CI construye sin EXTRA_TOOLS; que sean paquetes de Debian bookworm lo prueba .ci/run al instalarlos."""
    extra = build_args(FOLDER / "Dockerfile")["EXTRA_TOOLS"].strip('"').split()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    apt_line = ci[ci.index("apt-get install"):ci.index(">/tmp/ci-apt.log")].split()
    assert extra and not set(extra) - set(apt_line), (extra, apt_line)


@pytest.fixture(scope="module")
def image():
    need(engine_reachable(), "no hay un motor Docker accesible (docker info falla)")
    tag = f"taller-devcontainer:pytest-{uuid.uuid4().hex[:8]}"
    config = definition()
    context = (FOLDER / config["build"].get("context", ".")).resolve()
    docker("build", "--network", "host", "--force-rm", "--build-arg", f"BASE_IMAGE={base_image()}",
           "--build-arg", "EXTRA_TOOLS=", "-f", str(FOLDER / config["build"]["dockerfile"]),
           "-t", tag, str(context), timeout=900)
    try:
        yield tag
    finally:
        docker("rmi", "--no-prune", tag, check=False)  # conserva las capas en caché


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1200)  # la primera construcción instala los paquetes de Debian (minutos); luego, caché
def test_the_image_builds_and_has_python_node_and_make(image):
    user = docker("run", "--rm", "--network", "host", image, "id", "-un")
    assert user == definition()["remoteUser"]
    docker("run", "--rm", "--network", "host", image, "sudo", "-n", "true")  # start-docker.sh usa sudo
    output = docker("run", "--rm", "--network", "host", image, "bash", "-c",
                    "python --version && node --version && npm --version && make --version | head -n 1")
    python, node, npm, make = output.splitlines()
    assert python.startswith("Python 3.11."), output
    assert int(node.removeprefix("v").split(".")[0]) >= 18, output  # `make web` pide Node 18 o posterior
    assert npm[:1].isdigit() and make.startswith("GNU Make"), output
