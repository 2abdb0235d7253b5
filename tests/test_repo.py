"""Pruebas del repositorio: `make help` (el único sitio que lo prueba) y las convenciones de tests/.

Los objetivos citados en los README los comprueba test_docs.py; el orden de las etapas, el tamaño del
código y dónde viven las ayudas comunes, test_architecture.py.
"""

import ast
import re
import subprocess
import sys

import pytest

from support import ROOT

MAKEFILE = ROOT / "Makefile"
# Las secciones de `make help`, en este orden: primero lo esencial, después el taller y Desarrollo al final.
SECTIONS = ["Para empezar", "Antes del taller", "Etapa 00", "Etapa 01", "Etapa 02", "Etapa 03", "Etapa 04",
            "Etapa 05", "App", "Producción", "Desarrollo"]


@pytest.fixture(scope="module")
def help_sections():
    """{sección: [objetivos]} de `make help` en su orden, y las líneas tal cual (sin terminal: sin colores)."""
    result = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    sections, current = {}, None
    for line in result.stdout.splitlines():
        if line and not line.startswith((" ", "Uso:")):
            current = sections.setdefault(line, [])
        elif line.startswith("  ") and current is not None:
            current.append(line.split()[0])
    return sections, result.stdout.splitlines()


def test_make_help_lists_every_described_target_once_in_its_section(help_sections):
    sections, _lines = help_sections
    makefile = MAKEFILE.read_text(encoding="utf-8")
    described = re.findall(r"^([a-z0-9-]+):.*## ", makefile, flags=re.M)
    repeated = re.findall(r"^##> ([a-z0-9-]+) ## ", makefile, flags=re.M)  # «Para empezar» repite algunos
    listed = [target for targets in sections.values() for target in targets]
    assert sorted(listed) == sorted(described + repeated), "cada objetivo con ## sale una vez en su sección"
    assert set(repeated) <= set(described)
    assert {"help", "setup", "model", "demo-0", "notebook", "demo", "test", "test-fast", "lint", "clean",
            "stages", "reload"} <= set(described)


def test_make_help_sections_follow_the_workshop(help_sections):
    sections, _lines = help_sections
    assert [name.split(" ·")[0] for name in sections] == SECTIONS
    by_prefix = {name.split(" ·")[0]: targets for name, targets in sections.items()}
    assert by_prefix["Para empezar"] == ["demo", "test", "check"]
    for number in range(6):  # make demo-N vive en la sección de su etapa
        assert f"demo-{number}" in by_prefix[f"Etapa 0{number}"]
    assert "reload" in by_prefix["Etapa 02"] and "check" in by_prefix["Antes del taller"]
    assert {"test", "test-fast", "lint", "clean", "notebook-refresh", "stages"} <= set(by_prefix["Desarrollo"])


def test_make_help_fits_in_80_columns_without_colours_outside_a_terminal(help_sections):
    _sections, lines = help_sections
    assert [line for line in lines if len(line) > 80] == []
    assert not [line for line in lines if "\x1b" in line]


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


@pytest.mark.parametrize("script", ["mobile_client/cliente.py", "mobile_client/serve_api.py", "03_lightsail/deploy.py"])
def test_scripts_without_the_workshop_environment_say_so_in_one_sentence(script):
    """Con un Python sin el proyecto instalado (-S: sin site-packages), una frase y código 1."""
    result = subprocess.run([sys.executable, "-S", str(ROOT / script), "--help"], capture_output=True, text=True,
                            timeout=60, cwd="/")
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and result.stderr.startswith("Error: falta")
    assert "make setup" in result.stderr
