"""La forma del código: cada etapa usa solo las anteriores, nada crece sin medida y lo común vive en workshop/.

El orden de las etapas lo calcula `workshop.stages`, lo mismo que imprime `make stages`.
"""

import ast
import subprocess

import pytest

from support import ROOT
from workshop import stages

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 50
# Ayudas que tienen su casa en workshop/ (processes, settings, spanish, argparse_es) o, las pacientes de
# ejemplo, en el paquete del modelo (diabetes_model.patients): fuera de su casa, una función o clase con
# uno de estos nombres es una copia (o una variante) que se desincroniza. `stop` solo cuenta como función
# de módulo: un método stop() de una clase es otra cosa.
HELPERS = {"free_port", "port_in_use", "port_is_free", "port_free", "wait_until", "wait_healthy", "wait_ready",
           "root", "shared", "shared_path", "env_int", "env_float", "env_number", "parse_number", "number",
           "es_number", "spanish_number", "duration", "elapsed", "ms", "spanish_date", "after_colon",
           "example_patient", "make_patients", "random_patients", "distinct_patients", "SpanishArgumentParser",
           "SpanishParser", "gettext"}
PATIENTS_HOME = "00_intro/diabetes_model/patients.py"
HOMES = {name: PATIENTS_HOME for name in ("example_patient", "make_patients", "random_patients", "distinct_patients")}
MODULE_LEVEL_HELPERS = {"stop"}
# Excepciones justificadas: {(archivo, nombre): por qué no puede usar la de workshop/}. Una entrada que
# ya no hace falta también falla: la lista solo encoge. Vacía: no hay ninguna justificada.
ALLOWED = {}


def python_files():
    """Los .py del repositorio fuera de tests/ (versionados y nuevos; sin .venv ni lo que ignora git)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z", "*.py"], cwd=ROOT,
                            capture_output=True, check=True, timeout=30).stdout.decode().split("\0")
    return [name for name in sorted(set(filter(None, listed)))
            if not name.startswith("tests/") and (ROOT / name).is_file()]


def parsed(name):
    return ast.parse((ROOT / name).read_text(encoding="utf-8"), filename=name)


# ------------------------------------------------------------------ Orden de las etapas

def test_no_stage_imports_a_later_or_peer_stage_and_workshop_imports_none():
    found = stages.imports()
    assert [item for item in found if item.inverted] == [], "\n".join(stages.report(found))


def test_the_stage_check_catches_planted_inversions(tmp_path):
    """La comprobación puede fallar: en un repositorio de juguete, cada importación al revés se detecta."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools.package-dir]\nworkshop = "workshop"\ndiabetes_api = "01_flask_api/diabetes_api"\n'
        'serving = "02_docker/serving"\nschemes = "04_esquemas"\nmobile_client = "mobile_client"\n')
    planted = {"workshop/a.py": "import serving\n", "01_flask_api/diabetes_api/b.py": "def f():\n    import schemes\n",
               "mobile_client/c.py": "from schemes.demo import x\nimport serving\nfrom workshop import a\n",
               "02_docker/serving/d.py": "import diabetes_api\nfrom . import e\n"}
    for name, code in planted.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code)
    wrong = {(item.path, item.module) for item in stages.inversions(tmp_path)}
    assert wrong == {("workshop/a.py", "serving"), ("01_flask_api/diabetes_api/b.py", "schemes"),
                     ("mobile_client/c.py", "schemes.demo")}


def test_make_stages_prints_what_each_stage_imports():
    result = subprocess.run(["make", "-s", "stages"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    found = stages.imports()
    assert (result.returncode != 0) == any(item.inverted for item in found), result.stderr
    assert result.stdout.splitlines() == stages.report(found)
    for folder in stages.LEVELS:
        assert f"  {folder} " in result.stdout


# ------------------------------------------------------------------ Tamaño

def test_no_python_file_outside_tests_is_over_400_lines():
    sizes = {name: len((ROOT / name).read_text(encoding="utf-8").splitlines()) for name in python_files()}
    big = [f"{name} ({lines} líneas)" for name, lines in sizes.items() if lines > MAX_FILE_LINES]
    assert not big, f"más de {MAX_FILE_LINES} líneas: divídelos\n" + "\n".join(big)


def test_no_function_outside_tests_is_over_50_lines():
    long = [f"{name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} líneas)"
            for name in python_files() for node in ast.walk(parsed(name))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"más de {MAX_FUNCTION_LINES} líneas: divídelas\n" + "\n".join(long)


# ------------------------------------------------------------------ Lo común, en workshop/

def helper_definitions(name, tree):
    """(archivo, nombre) de cada función o clase de `tree` con el nombre de una ayuda de workshop/."""
    module_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (
                node.name in HELPERS or (node.name in MODULE_LEVEL_HELPERS and id(node) in module_level
                                         and not isinstance(node, ast.ClassDef))):
            yield name, node.name


def copies_of_helpers():
    return {(name, helper) for name in python_files() if not name.startswith("workshop/")
            for _, helper in helper_definitions(name, parsed(name)) if HOMES.get(helper) != name}


def test_common_helpers_are_defined_only_in_workshop():
    copies = copies_of_helpers()
    extra = [f"{name}: {helper}" for name, helper in sorted(copies - set(ALLOWED))]
    assert not extra, "copias de ayudas de workshop/: usa la de allí (o justifícalo en ALLOWED)\n" + "\n".join(extra)
    stale = sorted(set(ALLOWED) - copies)
    assert not stale, f"excepciones de ALLOWED que ya no hacen falta: bórralas {stale}"


@pytest.mark.parametrize(("code", "expected"), [
    ("def port_in_use(port):\n    pass\n", {"port_in_use"}),
    ("class SpanishParser:\n    def number(self):\n        pass\n", {"SpanishParser", "number"}),
    ("def stop(process):\n    pass\n", {"stop"}),
    ("class Server:\n    def stop(self):\n        pass\n", set()),  # un método stop() no es la ayuda
    ("def port_in_use_here():\n    pass\n", set()),
])
def test_the_helper_check_catches_planted_copies(code, expected):
    assert {found for _name, found in helper_definitions("x.py", ast.parse(code))} == expected
