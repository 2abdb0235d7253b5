"""serving.master y serving.wsgi: el maestro de gunicorn comprueba la versión publicada (la predicción de
prueba en un hijo desechable, sin cargar onnxruntime), la guarda y cada worker crea la API con ella."""

import hashlib
import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from diabetes_model.store import ModelError, live_version_dir, verify_version
from serving import master, wsgi
from support import (
    HEALTH_PATH,
    ROOT,
    add_version,
    damage,
    publish,
    running_gunicorn,
    wait_for_log,
    wait_workers_replaced,
    worker_pids,
)


@pytest.fixture()
def no_held_version():
    """Cada prueba deja el módulo como estaba: sin versión guardada."""
    yield
    master._held = None


def test_the_master_verifies_in_a_throwaway_child_without_loading_onnxruntime(model_dir):
    """La predicción de prueba va en un hijo; el que llama no carga onnxruntime (con él cargado, los
    workers creados por fork se cuelgan al terminar)."""
    code = ("import sys\n"
            "from serving.master import in_child\n"
            "from diabetes_model.store import verify_version\n"
            f"verified = verify_version({str(model_dir)!r}, run=in_child)\n"
            "print(verified.version, 'onnxruntime' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [model_dir.name, "False"]


def test_the_throwaway_child_reports_a_graph_that_does_not_predict(fresh_model_dir):
    folder = live_version_dir(fresh_model_dir)
    (folder / "model.onnx").write_bytes(b"esto no es un grafo ONNX")
    path = folder / "model.json"
    card = json.loads(path.read_text(encoding="utf-8"))
    card["artifacts"]["onnx"]["sha256"] = hashlib.sha256(b"esto no es un grafo ONNX").hexdigest()
    path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match=r"no predice \(\w+\)\. Vuelve a una versión buena con `make rollback`"):
        verify_version(folder, run=master.in_child)


def test_a_worker_app_serves_the_held_version_without_reading_the_disk(fresh_model_dir, monkeypatch,
                                                                       no_held_version):
    monkeypatch.setenv("MODEL_DIR", str(fresh_model_dir))
    held = master.verify_and_hold()
    damage(fresh_model_dir, "pointer")  # lo que haya en disco ya no importa
    answer = wsgi.create_app().test_client().get(HEALTH_PATH).get_json()
    assert answer["model_version"] == held.version == master.held_version()


def test_a_broken_publish_keeps_the_held_version(fresh_model_dir, monkeypatch, no_held_version):
    monkeypatch.setenv("MODEL_DIR", str(fresh_model_dir))
    good = master.verify_and_hold()
    add_version(fresh_model_dir, "v-rota")
    publish(fresh_model_dir, "v-rota")
    damage(fresh_model_dir, "sha256")
    with pytest.raises(ModelError):
        master.verify_and_hold()
    assert master.held() is good


# ------------------------------------------------------------------ Una lectura que no acaba (un FIFO)

def release(fifo):
    """Deja terminar a quien esté leyendo el FIFO (abrirlo para escribir y cerrar: fin de fichero)."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass  # nadie lo está leyendo


@pytest.mark.slow
def test_a_stalled_read_on_reload_is_cut_and_workers_keep_being_replaced(fresh_model_dir, tmp_path):
    """model.onnx de la versión nueva es un FIFO sin escritor: leerlo no acaba nunca. El maestro corta la
    comprobación a los MODEL_CHECK_TIMEOUT s, lo dice en español, sigue con la versión que tenía y
    sustituye al worker que muere mientras tanto (con uno solo, sin él no respondería nadie)."""
    before = live_version_dir(fresh_model_dir).name
    fifo = add_version(fresh_model_dir, "v-atascada") / "model.onnx"
    fifo.unlink()
    os.mkfifo(fifo)
    env = {"MODEL_DIR": str(fresh_model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off",
           "MODEL_CHECK_TIMEOUT": "2"}
    with running_gunicorn(tmp_path, env=env) as (url, process):
        try:
            publish(fresh_model_dir, "v-atascada")
            old = worker_pids(process.pid)
            os.kill(process.pid, signal.SIGHUP)
            wait_for_log(process, "Handling signal: hup", timeout=10)
            for pid in old:
                os.kill(pid, signal.SIGKILL)  # muere mientras el maestro comprueba
            wait_workers_replaced(process.pid, old, count=1, timeout=20)  # solo el worker: el hijo, recogido
            assert wait_for_log(process, "Recarga rechazada: La versión publicada no se pudo leer ni comprobar "
                                         "en 2 s", timeout=5) == 1
            answers = [requests.get(url + "/v1/model", timeout=10) for _ in range(20)]
            assert [(a.status_code, a.json()["version"]) for a in answers] == [(200, before)] * 20
        finally:
            release(fifo)  # si el maestro siguiera atascado (sin plazo), que pueda pararse
