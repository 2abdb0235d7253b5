"""diabetes_api.healthcheck (el HEALTHCHECK de Docker): 0 si el servidor real responde 200, 1 si no."""

import os
import subprocess
import sys

import pytest

from support import HEALTH_PATH, ROOT, free_port, running_gunicorn


def healthcheck(port):
    """`python -m diabetes_api.healthcheck` como lo ejecuta Docker: devuelve (código de salida, stderr)."""
    result = subprocess.run([sys.executable, "-m", "diabetes_api.healthcheck"], env={**os.environ, "PORT": str(port)},
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    return result.returncode, result.stderr.strip()


@pytest.mark.server
def test_healthy_server_is_0_and_a_stopped_one_is_1(tmp_path, served_model_dir):
    env = {"WEB_CONCURRENCY": "1", "MODEL_DIR": str(served_model_dir)}
    with running_gunicorn(tmp_path, env=env) as (base_url, _process):
        port = int(base_url.rsplit(":", 1)[1])
        code, message = healthcheck(port)
        assert (code, message) == (0, f"healthcheck: http://127.0.0.1:{port}{HEALTH_PATH} OK")
    code, message = healthcheck(port)
    assert (code, message) == (1, f"healthcheck: http://127.0.0.1:{port}{HEALTH_PATH} NO responde 200")


def test_nothing_listening_is_1_quickly():
    assert healthcheck(free_port())[0] == 1
