"""serving.launch, el lanzador de la API: arranca gunicorn en 127.0.0.1 con su entorno, espera a que responda
la ruta de salud, explica en español por qué no arrancó y para por su grupo de procesos (SIGKILL si hace falta)."""

import signal
import sys

import psutil
import pytest
import requests

from serving.launch import running_api, start_api, stop_api
from support import HEALTH_PATH
from workshop.processes import ProcessError, free_port, log_tail, port_in_use, wait_until

pytestmark = pytest.mark.server

# Un proceso que ignora SIGTERM (como un servidor atascado): solo SIGKILL lo para.
STUBBORN = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ignoro SIGTERM', flush=True); time.sleep(60)"]


def gone(pid):
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_running_api_serves_with_its_env_and_files_and_stops_the_whole_group(tmp_path, served_model_dir):
    port = free_port()
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "2", "API_KEY": "clave-del-lanzador"}
    with running_api(tmp_path, port, env, name="api") as (url, master):
        assert url == f"http://127.0.0.1:{port}"
        assert requests.get(url + HEALTH_PATH, timeout=5).status_code == 200
        assert requests.get(url + "/v1/model/card", timeout=5).status_code == 401  # recibió API_KEY
        assert (tmp_path / "api.pid").read_text().strip() == str(master.pid)
        workers = wait_until(lambda: psutil.Process(master.pid).children() if
                             len(psutil.Process(master.pid).children()) == 2 else None, 30, "no hay 2 workers")
        pids = [master.pid, *(worker.pid for worker in workers)]
    assert "Booting worker" in (tmp_path / "api.log").read_text()
    assert [pid for pid in pids if not gone(pid)] == []
    assert not port_in_use(port)


def test_an_api_that_dies_at_start_is_explained_in_spanish_with_its_log(tmp_path):
    with pytest.raises(ProcessError) as raised, running_api(tmp_path, env={"MODEL_DIR": str(tmp_path / "vacío")},
                                                            timeout=30):
        pytest.fail("la API no debía arrancar sin modelo")
    message = str(raised.value)
    assert "La API (gunicorn) terminó al arrancar" in message
    assert "Su registro:" in message and "vacío" in message  # el final de gunicorn.log, con la causa


def test_stop_api_kills_what_ignores_sigterm_and_removes_its_pidfile(tmp_path):
    process = start_api(0, tmp_path / "terco.log", argv=STUBBORN)
    pidfile = tmp_path / "terco.pid"
    pidfile.write_text(str(process.pid))
    try:
        wait_until(lambda: "ignoro SIGTERM" in log_tail(process), 30, process=process, what="El proceso terco")
    finally:
        stop_api(process, timeout=0.5, pidfile=pidfile)
    assert process.returncode == -signal.SIGKILL
    assert not pidfile.exists()
