"""Etapa 02: gunicorn con el `02_docker/gunicorn.conf.py` real, en el anfitrión y en 127.0.0.1.

La configuración efectiva (`--print-config`), el servidor real frente al cliente de pruebas de Flask,
el motor scikit-learn y el arranque que se niega, con una línea en español, a servir un modelo roto.
"""

import os
import sys

import pytest
import requests

from diabetes_model.patients import example_patient
from serving.gunicorn_settings import tuning_names
from support import (
    DAMAGES,
    GUNICORN_CONF,
    HEALTH_PATH,
    ROOT,
    SHARED,
    damage,
    free_port,
    gunicorn_command,
    read_log,
    run_to_exit,
    running_gunicorn,
    wait_for_log,
)

# Arranca servidores reales en 127.0.0.1: fuera de `make test-fast`.
pytestmark = pytest.mark.server

# Los ajustes de la tabla (serving/gunicorn_settings.py y los de la API), más PORT y PIDFILE de workshop.env.
GUNICORN_VARS = (*tuning_names(), "PORT", "PIDFILE")


def clean_environment(**env):
    return {**{k: v for k, v in os.environ.items() if k not in GUNICORN_VARS}, **env}


def gunicorn_config(**env):
    """La configuración efectiva (`--print-config`) con el entorno dado, sin arrancar el servidor.

    --print-config también importa la app: se usa la app WSGI mínima de la biblioteca estándar.
    """
    process = run_to_exit([sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--print-config",
                           "wsgiref.simple_server:demo_app"], env=clean_environment(**env), timeout=60)
    code, out, err = process
    assert code == 0, err
    pairs = (line.split("=", 1) for line in out.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


# ------------------------------------------------------------------ Configuración

def test_defaults_suit_a_small_container_and_slow_clients():
    config = gunicorn_config()
    assert config["bind"] == f"['0.0.0.0:{SHARED['PORT']}']"  # sin PORT en el entorno: workshop.env
    assert (config["workers"], config["worker_class"], config["worker_connections"]) == ("2", "gevent", "500")
    assert config["preload_app"] == "False"  # cada worker crea su app desde la versión que guarda el maestro
    assert int(config["graceful_timeout"]) < 10  # termina antes del SIGKILL de `docker stop`
    assert (config["max_requests"], config["accesslog"], config["errorlog"]) == ("0", "None", "-")
    assert config["pidfile"] == str(ROOT / SHARED["PIDFILE"])  # `make reload` lo lee de workshop.env
    assert config["chdir"] == str(ROOT)


def test_environment_variables_tune_the_workers():
    config = gunicorn_config(PORT="9123", WEB_CONCURRENCY="4", GUNICORN_WORKER_CLASS="gthread", GUNICORN_THREADS="2",
                             GUNICORN_MAX_REQUESTS="1000", GUNICORN_ACCESSLOG="-", PIDFILE="/tmp/otro.pid")
    assert config["bind"] == "['0.0.0.0:9123']"
    assert (config["workers"], config["worker_class"], config["threads"]) == ("4", "gthread", "2")
    assert (config["max_requests"], config["max_requests_jitter"]) == ("1000", "100")
    assert (config["accesslog"], config["pidfile"]) == ("-", "/tmp/otro.pid")


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("GUNICORN_TIMEOUT", "diez", "GUNICORN_TIMEOUT='diez' no es un número entero."),
    ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY=0 no es válido: debe ser 1 o más."),
    ("PORT", "70000", "PORT=70000 no es válido: debe ser 65535 o menos."),
])
def test_a_bad_value_is_one_spanish_line_not_a_traceback(name, value, expected):
    code, out, err = run_to_exit([sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--check-config"],
                                 env=clean_environment(**{name: value}), timeout=60)
    assert code != 0
    assert err.strip() == f"Error de configuración: {expected}"
    assert "Traceback" not in out + err


# ------------------------------------------------------------------ El servidor real

def test_real_server_answers_like_the_test_client(tmp_path, served_model_dir, client, card):
    patient = example_patient(card)
    expected = client.post("/v1/predict", json=patient).get_json()
    env = {"WEB_CONCURRENCY": "1", "MODEL_DIR": str(served_model_dir)}
    with running_gunicorn(tmp_path, env=env) as (base_url, process):
        health = requests.get(base_url + HEALTH_PATH, timeout=5)
        assert health.json() == {"status": "ok", "model_version": card["version"], "runtime": "onnx"}
        answer = requests.post(base_url + "/v1/predict", json=patient, timeout=5,
                               headers={"X-Request-ID": "prueba-real"})
        assert (answer.status_code, answer.json()) == (200, expected)
        assert (answer.headers["X-Request-ID"], answer.headers["X-Cache"]) == ("prueba-real", "MISS")
        assert requests.post(base_url + "/v1/predict", json=patient, timeout=5).headers["X-Cache"] == "HIT"
        wrong = requests.post(base_url + "/v1/predict", data="{", timeout=5,
                              headers={"Content-Type": "application/json"})
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_json"
        assert wait_for_log(process, "Booting worker", 1) == 1
        log = read_log(process)
        assert f"Listo en {base_url.removeprefix('http://')} con 1 worker(s) gevent, modelo {card['version']}" in log
        assert "Using worker: gevent" in log and "Traceback" not in log
        assert (tmp_path / f"gunicorn-{base_url.rsplit(':', 1)[1]}.pid").read_text().strip() == str(process.pid)


def test_the_sklearn_runtime_answers_the_same_within_the_recorded_tolerance(tmp_path, served_model_dir, client, card):
    tolerance = card.get("parity", {}).get("tolerance", 1e-5)
    patients = [example_patient(card, share) for share in (0.0, 0.25, 0.5, 0.75, 1.0)]
    onnx = client.post("/v1/predict", json={"instances": patients}).get_json()["predictions"]
    env = {"WEB_CONCURRENCY": "1", "MODEL_DIR": str(served_model_dir), "MODEL_RUNTIME": "sklearn"}
    with running_gunicorn(tmp_path, env=env) as (base_url, _process):
        assert requests.get(base_url + HEALTH_PATH, timeout=5).json()["runtime"] == "sklearn"
        sklearn = requests.post(base_url + "/v1/predict", json={"instances": patients}, timeout=5).json()["predictions"]
    for a, b in zip(onnx, sklearn, strict=True):
        assert abs(a["probability"] - b["probability"]) <= tolerance + 1e-6  # + el redondeo a 6 decimales


# ------------------------------------------------------------------ Arranque que se niega

@pytest.mark.parametrize("kind", list(DAMAGES))
def test_a_broken_model_stops_gunicorn_with_one_spanish_line(tmp_path, fresh_model_dir, kind, capsys):
    damage(fresh_model_dir, kind)
    env = {"MODEL_DIR": str(fresh_model_dir), "PIDFILE": str(tmp_path / "gunicorn.pid"), "WEB_CONCURRENCY": "2"}
    code, out, err = run_to_exit(gunicorn_command(free_port()), env=env, timeout=60)
    assert code not in (0, None), err
    errors = [line for line in (out + err).splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and errors[0].startswith("Error: ") and DAMAGES[kind] in errors[0], out + err
    assert "Traceback" not in out + err and "Booting worker" not in out + err
    if kind in ("pointer", "missing_version", "sha256", "card"):
        assert "`make rollback`" in errors[0]
    with capsys.disabled():
        print(f"\n[arranque en frío, {kind}] código {code}: {errors[0]}")


def test_gunicorn_starts_when_the_pidfile_folder_does_not_exist_yet(tmp_path, served_model_dir):
    env = {"WEB_CONCURRENCY": "1", "MODEL_DIR": str(served_model_dir),
           "PIDFILE": str(tmp_path / "results" / "gunicorn.pid")}
    with running_gunicorn(tmp_path, env=env) as (base_url, _process):
        assert requests.get(base_url + HEALTH_PATH, timeout=5).status_code == 200
