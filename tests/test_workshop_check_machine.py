"""workshop.check_machine (`make check`): qué falta en este equipo, en español, y el código de salida."""

import socket
import subprocess
import sys

import pytest

from support import ROOT
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
    assert out.rstrip().endswith("Equipo listo para el taller. Siguiente paso: make demo")


def test_it_runs_with_the_system_python_before_setup():
    """Solo biblioteca estándar: `python3 -I` (sin el .venv ni site-packages) la importa desde la raíz."""
    code = "import sys; sys.path.insert(0, '.'); import workshop.check_machine as c; print(len(list(c.checks())))"
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 4
