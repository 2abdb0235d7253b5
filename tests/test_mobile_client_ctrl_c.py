"""`make app` se para con Ctrl+C: para lo que arrancó y, como toda orden interrumpida, termina con 130
(128 + SIGINT); mobile_client/README.md lo dice así (antes decía «termina con 0»)."""

import os
import re
import signal
import subprocess

import pytest
import requests

from support import ROOT, free_port
from workshop.processes import wait_until


@pytest.mark.slow
@pytest.mark.server
def test_ctrl_c_ends_make_app_with_130_and_the_readme_says_so(tmp_path):
    port = free_port()
    process = subprocess.Popen(["make", "--no-print-directory", "app", f"PORT={port}",
                                f"PIDFILE={tmp_path / 'app.pid'}"], cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def serving():
            try:
                return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_until(serving, 90, "make app no llegó a servir")
        os.killpg(process.pid, signal.SIGINT)  # Ctrl+C en la terminal: la señal va a todo el grupo
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert code == -signal.SIGINT, code  # en la terminal, $? = 128 + 2 = 130
    readme = (ROOT / "mobile_client" / "README.md").read_text(encoding="utf-8")
    assert re.search(r"`make app`[^.]*termina con 130", readme), "mobile_client/README.md debe decir 130"
