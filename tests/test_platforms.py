"""Plataformas (README.es.md, «Plataformas»): `make docker-build` construye para la arquitectura de este
equipo (en un Mac con Apple Silicon, arm64, sin emular) y `make deploy-lightsail` siempre para
linux/amd64, la única que ejecuta Lightsail. Se comprueba la orden que make ejecutaría (`make -n`)."""

import re
import subprocess

from support import ROOT


def build_command(*make_args):
    """La línea `docker build` que ejecutaría make (sin ejecutar nada: make -n)."""
    result = subprocess.run(["make", "-n", "--no-print-directory", *make_args], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    builds = [line for line in result.stdout.replace("\\\n", " ").splitlines() if re.search(r"\bdocker build\b", line)]
    assert len(builds) == 1, result.stdout
    return builds[0]


def test_docker_build_builds_for_this_machine_unless_told():
    assert "--platform" not in build_command("docker-build", "DOCKER=docker")
    assert "--platform linux/arm64" in build_command("docker-build", "DOCKER_PLATFORM=linux/arm64")


def test_deploy_lightsail_always_builds_linux_amd64():
    assert "--platform linux/amd64" in build_command("deploy-lightsail")
    assert "--platform linux/amd64" in build_command("deploy-lightsail", "DOCKER_PLATFORM=linux/arm64")


def test_make_wheels_downloads_the_image_packages_for_both_architectures():
    """Sin red, un Mac construye la imagen nativa (arm64) y un PC la amd64: wheels/docker/ lleva las dos."""
    result = subprocess.run(["make", "-n", "--no-print-directory", "wheels", "DOCKER=false"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    downloads = [line for line in result.stdout.replace("\\\n", " ").splitlines() if "wheels/docker" in line
                 and "pip download" in line]
    platforms = " ".join(downloads)
    assert "manylinux2014_x86_64" in platforms and "manylinux2014_aarch64" in platforms, downloads
