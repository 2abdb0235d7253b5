"""Pruebas del repositorio: los `make <objetivo>` de la documentación existen y `make help` los describe;
las pruebas se nombran por la carpeta que prueban y no se importan entre sí."""

import ast
import re
import subprocess
import sys

import pytest

from support import ROOT

DOCS = [ROOT / "README.md", ROOT / "README.es.md", *ROOT.glob("[0-9][0-9]_*/README.md"),
        *ROOT.glob("mobile_client/README.md"), *ROOT.glob("02_docker/bench/README.md")]


def make_targets():
    """Objetivos que conoce make (su base de datos, sin ejecutar nada)."""
    database = subprocess.run(["make", "-pRrq", "-f", "Makefile", ":"], cwd=ROOT,
                              capture_output=True, text=True).stdout
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", database, flags=re.M))


def test_every_make_target_in_a_readme_exists():
    targets = make_targets()
    missing = {}
    for doc in DOCS:
        if doc.exists():
            for target in re.findall(r"\bmake ([a-z][a-z0-9-]*)", doc.read_text(encoding="utf-8")):
                if target not in targets:
                    missing.setdefault(doc.relative_to(ROOT).as_posix(), set()).add(target)
    assert not missing, f"objetivos citados que no existen: {missing}"


def test_make_help_lists_every_documented_target():
    output = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    described = re.findall(r"^([a-z0-9-]+):.*## ", makefile, flags=re.M)
    assert {"help", "setup", "model", "demo-0", "notebook", "demo", "test", "lint", "clean"} <= set(described)
    for target in described:
        assert target in output


def test_test_file_numbers_match_the_stage_folders():
    """tests/test_NN_*.py prueba la carpeta NN_* del taller: un número sin carpeta es un nombre equivocado."""
    stages = {folder.name[:2] for folder in ROOT.glob("[0-9][0-9]_*") if folder.is_dir()}
    wrong = sorted(path.name for path in (ROOT / "tests").glob("test_[0-9][0-9]_*.py") if path.name[5:7] not in stages)
    assert wrong == [], f"pruebas con un número de etapa que no existe: {wrong}"


def test_no_test_module_imports_another():
    """Lo compartido vive en tests/support.py y tests/conftest.py, no en otro módulo de pruebas."""
    offenders = {}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders.setdefault(path.name, set()).update(n for n in names if n.split(".")[0].startswith("test_"))
    assert {name: sorted(found) for name, found in offenders.items() if found} == {}


@pytest.mark.parametrize("script", ["00_intro/train.py", "mobile_client/cliente.py", "mobile_client/serve_api.py",
                                    "03_lightsail/deploy.py"])
def test_scripts_without_the_workshop_environment_say_so_in_one_sentence(script):
    """Con un Python sin el proyecto instalado (-S: sin site-packages), una frase y código 1."""
    result = subprocess.run([sys.executable, "-S", str(ROOT / script), "--help"], capture_output=True, text=True,
                            timeout=60, cwd="/")
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and result.stderr.startswith("Error: falta")
    assert "make setup" in result.stderr
