"""Etapa 02: gunicorn con el `02_docker/gunicorn.conf.py` real, en el anfitrión y en 127.0.0.1."""

import os
import subprocess
import sys
import time

import requests
from test_01_predict import valid_patient

from support import GUNICORN_CONF, HEALTH_PATH, ROOT, SHARED, read_log, running_gunicorn

APP = "diabetes_api:create_app()"
GUNICORN_VARS = ("PORT", "WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS", "GUNICORN_MAX_REQUESTS",
                 "GUNICORN_MAX_REQUESTS_JITTER", "GUNICORN_PRELOAD", "GUNICORN_ACCESSLOG", "GUNICORN_TIMEOUT")


def wait_for_log(process, text, count, timeout=30.0):
    """Espera (con límite) a que el log de gunicorn contenga `text` al menos `count` veces."""
    deadline = time.monotonic() + timeout
    while read_log(process).count(text) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return read_log(process).count(text)


def gunicorn_config(**env):
    """La configuración efectiva (`--print-config`) con el entorno dado, sin arrancar el servidor.

    --print-config también importa la app: se usa la app WSGI mínima de la biblioteca estándar
    para no cargar scikit-learn solo para leer la configuración.
    """
    clean = {k: v for k, v in os.environ.items() if k not in GUNICORN_VARS}
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--print-config",
                             "wsgiref.simple_server:demo_app"],
                            cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pairs = (line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def test_real_config_serves_health_and_predict_over_http(tmp_path, card):
    with running_gunicorn(tmp_path, env={"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "1"}) as (base_url, process):
        health = requests.get(base_url + HEALTH_PATH, timeout=5)
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "model_version": card["version"]}
        answer = requests.post(base_url + "/v1/predict", json=valid_patient(card), timeout=5)
        assert answer.status_code == 200
        body = answer.json()
        assert body["prediction"] in (0, 1) and 0.0 <= body["probability"] <= 1.0
        assert body["model_version"] == card["version"]
        # El --bind de la línea de órdenes gana al bind 0.0.0.0 del archivo; los logs salen por stdout.
        assert wait_for_log(process, "Booting worker", 2) == 2, read_log(process)
        assert wait_for_log(process, '"POST /v1/predict HTTP/1.1" 200', 1) == 1, read_log(process)
        log = read_log(process)
        assert f"Listo en {base_url.removeprefix('http://')}" in log
        assert "Using worker: sync" in log


def test_defaults_suit_a_small_container_and_zero_downtime_reloads():
    config = gunicorn_config()
    assert config["bind"] == f"['0.0.0.0:{SHARED['PORT']}']"  # sin PORT en el entorno: workshop.env
    assert config["workers"] == "2"
    assert (config["worker_class"], config["threads"]) == ("sync", "1")
    assert config["preload_app"] == "False"  # SIGHUP recarga el modelo (ver gunicorn.conf.py)
    assert int(config["graceful_timeout"]) < 10  # termina antes del SIGKILL de `docker stop`
    assert config["accesslog"] == "-" and config["errorlog"] == "-"
    assert config["pythonpath"] == str(ROOT / "01_flask_api")


def test_environment_variables_tune_the_workers():
    config = gunicorn_config(PORT="9123", WEB_CONCURRENCY="4", GUNICORN_THREADS="2", GUNICORN_MAX_REQUESTS="0",
                             GUNICORN_PRELOAD="1", GUNICORN_ACCESSLOG="off")
    assert config["bind"] == "['0.0.0.0:9123']"
    assert (config["workers"], config["worker_class"], config["threads"]) == ("4", "gthread", "2")
    assert config["max_requests"] == "0"
    assert config["preload_app"] == "True"
    assert config["accesslog"] == "None"


def test_a_bad_value_is_a_clear_spanish_message_not_a_traceback():
    env = {k: v for k, v in os.environ.items() if k not in GUNICORN_VARS}
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--check-config", APP],
                            cwd=ROOT, env={**env, "GUNICORN_TIMEOUT": "diez"}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "GUNICORN_TIMEOUT debe ser un entero" in result.stderr
    assert "Traceback" not in result.stderr
