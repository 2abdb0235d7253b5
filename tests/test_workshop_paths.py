"""workshop.paths: la raíz del repositorio es la carpeta de workshop.env, desde donde se llame."""

import subprocess
import sys

from support import ROOT
from workshop.paths import root


def test_root_is_the_folder_with_workshop_env():
    assert root() == ROOT
    assert (root() / "workshop.env").is_file()


def where_root_is(cwd):
    return subprocess.run([sys.executable, "-c", "from workshop.paths import root; print(root())"], cwd=cwd,
                          capture_output=True, text=True, timeout=30, check=True).stdout.strip()


def test_root_prefers_the_current_folder_when_it_has_workshop_env(tmp_path):
    """Como en la imagen (/app): la carpeta actual con su workshop.env manda sobre la del paquete."""
    (tmp_path / "workshop.env").write_text("PORT=8000\n", encoding="utf-8")
    assert where_root_is(tmp_path) == str(tmp_path)


def test_root_falls_back_to_the_package_folder(tmp_path):
    assert where_root_is(tmp_path) == str(ROOT)
