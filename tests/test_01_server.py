"""La API en un servidor real (gunicorn con su configuración de la etapa 02) en 127.0.0.1."""

import os
import shutil
import subprocess
import sys

import requests
from test_01_predict import valid_patient

from support import GUNICORN_CONF, HEALTH_PATH, ROOT, free_port, read_log, running_gunicorn, stop

FLASK_API = ROOT / "01_flask_api"


def healthcheck(port):
    """`python -m diabetes_api.healthcheck` como lo ejecuta Docker: devuelve su código de salida."""
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": str(FLASK_API)}
    return subprocess.run([sys.executable, "-m", "diabetes_api.healthcheck"], env=env, cwd=ROOT,
                          capture_output=True, timeout=30).returncode


def test_real_server_answers_like_the_test_client(tmp_path, client, card):
    patient = valid_patient(card)
    expected = client.post("/v1/predict", json=patient).get_json()
    with running_gunicorn(tmp_path, env={"WEB_CONCURRENCY": "1"}) as (base_url, _process):
        health = requests.get(base_url + HEALTH_PATH, timeout=5)
        assert health.json() == {"status": "ok", "model_version": card["version"]}
        answer = requests.post(base_url + "/v1/predict", json=patient, timeout=5,
                               headers={"X-Request-ID": "prueba-real"})
        assert answer.status_code == 200
        assert answer.json() == expected
        assert answer.headers["X-Request-ID"] == "prueba-real"
        again = requests.post(base_url + "/v1/predict", json=patient, timeout=5)
        assert again.headers["X-Cache"] == "HIT"
        wrong = requests.post(base_url + "/v1/predict", data="{", timeout=5,
                              headers={"Content-Type": "application/json"})
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_json"
        port = int(base_url.rsplit(":", 1)[1])
        assert healthcheck(port) == 0
    assert healthcheck(port) == 1  # servidor parado: el healthcheck falla


def test_tampered_model_stops_gunicorn_with_a_spanish_message(tmp_path, model_dir):
    copy = shutil.copytree(model_dir, tmp_path / "modelo")
    with open(copy / "model.joblib", "ab") as handle:
        handle.write(b"manipulado")
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {**os.environ, "MODEL_DIR": str(copy), "PORT": str(port), "WEB_CONCURRENCY": "2"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}",
             "diabetes_api:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path
    try:
        returncode = process.wait(timeout=60)
    finally:
        stop(process)
    output = read_log(process)
    assert returncode != 0, output
    assert "no coincide con su ficha" in output and "make clean model" in output
    assert "Traceback" not in output
