"""workshop.processes: puertos libres y ocupados, esperar una condición con límite y parar por grupo."""

import socket
import sys

import psutil
import pytest

from workshop.processes import (
    LOCALHOST,
    ProcessError,
    free_port,
    http_ok,
    log_tail,
    port_in_use,
    start,
    stop,
    wait_until,
)

SLEEPER = [sys.executable, "-c", "import time; print('listo', flush=True); time.sleep(60)"]
# Un hijo que deja un nieto en su mismo grupo de procesos (como un maestro y su worker).
PARENT = [sys.executable, "-c", "import subprocess, sys, time; "
          "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
          "print(child.pid, flush=True); time.sleep(60)"]


def test_a_free_port_is_free_until_someone_listens_on_it():
    port = free_port()
    assert not port_in_use(port)
    with socket.socket() as sock:
        sock.bind((LOCALHOST, port))
        sock.listen()
        assert port_in_use(port)
    assert not port_in_use(port)


def test_http_ok_is_false_when_nothing_answers():
    assert http_ok(f"http://{LOCALHOST}:{free_port()}/health", timeout=0.5) is False
    assert http_ok("no es una url") is False


def test_wait_until_returns_the_first_true_value_and_fails_in_spanish_on_timeout():
    answers = iter([None, 0, "", "por fin"])
    assert wait_until(lambda: next(answers), 5, interval=0.001) == "por fin"
    calls = []
    with pytest.raises(ProcessError, match="no llegó a tiempo"):
        wait_until(lambda: calls.append(1), 0.2, "no llegó a tiempo", interval=0.01)
    assert len(calls) >= 2  # lo volvió a intentar antes de rendirse


def test_wait_until_stops_waiting_when_the_process_dies(tmp_path):
    process = start([sys.executable, "-c", "print('me voy'); raise SystemExit(3)"], tmp_path / "log.txt")
    try:
        with pytest.raises(ProcessError) as raised:
            wait_until(lambda: False, 30, process=process, what="El servidor de prueba")
    finally:
        stop(process)
    message = str(raised.value)
    assert "El servidor de prueba terminó al arrancar (código 3)" in message and "me voy" in message


def test_start_writes_the_log_and_stop_ends_the_whole_process_group(tmp_path):
    process = start(PARENT, tmp_path / "log.txt")
    try:
        grandchild = int(wait_until(lambda: log_tail(process).strip(), 30, process=process))
        assert psutil.pid_exists(grandchild)
    finally:
        stop(process, timeout=5)
    assert process.poll() is not None
    wait_until(lambda: not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == "zombie", 10,
               "el nieto sobrevivió a stop()")


def test_start_with_inherit_false_passes_only_the_given_environment(tmp_path):
    code = "import os; print(sorted(k for k in os.environ if k != 'LC_CTYPE'))"
    process = start([sys.executable, "-c", code], tmp_path / "env.txt", env={"SOLO_ESTA": "1"}, inherit=False)
    try:
        process.wait(30)
    finally:
        stop(process)
    assert log_tail(process) == "['SOLO_ESTA']"


def test_log_tail_of_a_process_without_log_is_empty():
    process = start(SLEEPER)
    try:
        assert log_tail(process) == ""
    finally:
        stop(process)
    assert process.poll() is not None


def test_npm_ci_says_in_spanish_when_npm_is_missing_or_fails(tmp_path, monkeypatch):
    from workshop.processes import ProcessError, npm_ci

    monkeypatch.setenv("PATH", str(tmp_path))  # sin npm
    with pytest.raises(ProcessError, match="Falta npm"):
        npm_ci(tmp_path)
    fake = tmp_path / "npm"
    fake.write_text("#!/bin/sh\necho 'npm ERR! el lock no coincide' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(ProcessError, match=r"npm ci falló en .*código 1.*el lock no coincide"):
        npm_ci(tmp_path)
