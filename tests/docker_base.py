"""La imagen base con la que las pruebas construyen 02_docker/Dockerfile (`--build-arg BASE_IMAGE=…`).

La misma regla que `make docker-build` (DOCKER_BASE en el Makefile): BASE_IMAGE del entorno si está
(CI: la sustituta que construye .ci/run); si no, la fijada por digest en el Dockerfile, si está en
este equipo o se puede descargar; si no (sin registro), la etiqueta local sin el digest.
"""

import os
import re
import subprocess

from support import ROOT

PINNED = re.search(r"^ARG BASE_IMAGE=(\S+)$", (ROOT / "02_docker" / "Dockerfile").read_text(encoding="utf-8"),
                   re.M)[1]


def base_image():
    if os.environ.get("BASE_IMAGE"):
        return os.environ["BASE_IMAGE"]
    for command in (["docker", "image", "inspect", PINNED], ["docker", "pull", "-q", PINNED]):
        try:
            if subprocess.run(command, capture_output=True, timeout=300).returncode == 0:
                return PINNED
        except (OSError, subprocess.TimeoutExpired):
            pass
    return PINNED.split("@")[0]
