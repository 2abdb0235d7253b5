"""Etapa 02, la demo de la guía «romper el modelo y `make reload`», tal como la escribe quien asiste:
`make break-model` publica una copia rota de la versión viva (las versiones son de solo lectura),
`make reload` se niega y lo dice en español, la API (gunicorn real en 127.0.0.1) sigue sirviendo la versión
comprobada sin una petición fallida, y `make rollback` vuelve a la buena. Todo en una carpeta del modelo
propia de la prueba (MODEL_DIR), nunca en 00_intro/model.

Y dos trampas de la ruta: el aviso «Recargar: …» de gunicorn dentro de un contenedor (PID 1) no propone
`kill -HUP 1`, que en el anfitrión avisaría a su init; y `make demo-2` sin motor Docker es una frase en español.
"""

import os
import subprocess

import pytest
import requests

from diabetes_model.patients import example_patient
from serving.master import reload_hint
from support import ROOT, SteadyLoad, live_version, read_log, running_gunicorn, wait_for_log

pytestmark = [pytest.mark.slow, pytest.mark.server]
ENV = {"WEB_CONCURRENCY": "2", "GUNICORN_MAX_REQUESTS": "0", "ACCESS_LOG": "0"}


def make(target, variables, timeout=60):
    """`make target VAR=valor…`: en la línea de órdenes, que manda sobre workshop.env (el entorno no)."""
    return subprocess.run(["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_break_model_then_reload_refuses_and_the_api_keeps_serving_then_rollback(tmp_path, fresh_model_dir, card):
    good = live_version(fresh_model_dir)
    real_model = (ROOT / "00_intro" / "model" / "live.json").read_bytes()
    env = {"MODEL_DIR": str(fresh_model_dir), "PIDFILE": str(tmp_path / "api.pid")}
    with running_gunicorn(tmp_path, env={**ENV, **env}) as (base_url, master):
        (tmp_path / "api.pid").write_text(str(master.pid))
        with SteadyLoad(base_url + "/v1/predict", example_patient(card), threads=2, max_seconds=60) as load:
            broken = make("break-model", env)
            assert broken.returncode == 0, broken.stderr
            assert live_version(fresh_model_dir) == f"{good}-rota"
            assert "make reload" in broken.stdout and "make rollback" in broken.stdout

            refused = make("reload", env)
            assert refused.returncode != 0
            message = refused.stdout + refused.stderr
            assert "sha256" in message and "Traceback" not in message, message

            # Aunque alguien mandara el SIGHUP a mano, el maestro rechaza la rota y sigue con la buena.
            os.kill(master.pid, 1)
            assert wait_for_log(master, "Recarga rechazada") >= 1, read_log(master)
            answer = requests.post(base_url + "/v1/predict", json=example_patient(card), timeout=10)
            assert answer.status_code == 200 and answer.json()["model_version"] == good

            back = make("rollback", env)
            assert back.returncode == 0, back.stderr
            assert live_version(fresh_model_dir) == good
        assert len(load.snapshot()) > 20 and load.failures() == [], load.report("romper el modelo")
    assert (ROOT / "00_intro" / "model" / "live.json").read_bytes() == real_model  # el de quien asiste, intacto


def test_inside_a_container_the_reload_hint_names_docker_not_pid_1():
    assert "kill -HUP 1" not in reload_hint(1)
    assert "docker kill --signal HUP" in reload_hint(1)
    assert "kill -HUP 4321" in reload_hint(4321)


def test_demo_2_without_a_docker_engine_is_one_spanish_sentence(tmp_path):
    result = make("demo-2", {"DOCKER_HOST": f"unix://{tmp_path}/no-hay-docker.sock"}, timeout=60)
    assert result.returncode != 0
    assert "Error: Docker no responde" in result.stderr
    assert "Cannot connect" not in result.stdout + result.stderr  # el error de Docker, en inglés, no llega
    assert "docker build" not in result.stdout  # no llega a construir (ni a entrenar) nada
