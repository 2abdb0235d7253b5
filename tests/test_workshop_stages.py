"""workshop.stages (`make stages`): qué importa cada carpeta, leído con ast, y qué va al revés.

La comprobación del repositorio de verdad está en test_architecture.py; aquí, su comportamiento en
un repositorio de juguete: dentro de funciones, `tools/` y el informe que se imprime.
"""

import pytest

from workshop import stages

PYPROJECT = ('[tool.setuptools.package-dir]\nworkshop = "workshop"\ndiabetes_model = "00_intro/diabetes_model"\n'
             'diabetes_api = "01_flask_api/diabetes_api"\nserving = "02_docker/serving"\nschemes = "04_esquemas"\n'
             'mobile_client = "mobile_client"\nfuera = "otra_carpeta/fuera"\n')


@pytest.fixture()
def toy(tmp_path):
    def make(files):
        (tmp_path / "pyproject.toml").write_text(PYPROJECT)
        for name, code in files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(code)
        return tmp_path
    return make


def test_packages_come_from_pyproject_plus_tools(toy):
    owner = stages.packages(toy({}))
    assert owner["diabetes_api"] == "01_flask_api" and owner["schemes"] == "04_esquemas"
    assert owner["tools"] == "tools"
    assert "fuera" not in owner  # una carpeta sin nivel no cuenta


def test_tools_may_import_every_stage_but_no_stage_imports_tools(toy):
    root = toy({"tools/parity.py": "import schemes\nfrom serving.launch import running_api\nimport mobile_client\n",
                "02_docker/serving/x.py": "def f():\n    from tools import parity\n",
                "00_intro/diabetes_model/y.py": "import tools.pictures\n"})
    found = stages.imports(root)
    assert {(i.path, i.module) for i in found if not i.inverted} == {
        ("tools/parity.py", "schemes"), ("tools/parity.py", "serving.launch"), ("tools/parity.py", "mobile_client")}
    wrong = {(i.path, i.line, i.module, i.why()) for i in stages.inversions(root)}
    why = "tools/ no es una etapa: ninguna la importa"
    assert wrong == {("02_docker/serving/x.py", 2, "tools", why),
                     ("00_intro/diabetes_model/y.py", 1, "tools.pictures", why)}


def test_imports_inside_the_same_folder_and_relative_ones_do_not_count(toy):
    root = toy({"02_docker/serving/a.py": "from . import b\nimport serving.b\nimport json\n",
                "02_docker/serving/b.py": "", "workshop/c.py": "import os\n"})
    assert stages.imports(root) == []


def test_the_report_names_every_folder_and_each_inversion_with_its_reason(toy):
    root = toy({"workshop/a.py": "import diabetes_api\n", "mobile_client/m.py": "import schemes\nimport serving\n"})
    lines = stages.report(stages.imports(root))
    rows = [" ".join(line.split()) for line in lines]  # sin el relleno de las columnas
    assert "workshop común importa 01_flask_api ✗" in rows
    assert "mobile_client app importa 02_docker, 04_esquemas ✗" in rows
    assert "00_intro etapa 00 no importa nada" in rows
    assert "05_mantenimiento etapa 05 no importa nada" in rows
    assert "Importaciones al revés (2): muévelas a su etapa o a workshop/." in lines
    assert "  workshop/a.py:1  diabetes_api: workshop/ no importa ninguna etapa" in lines
    assert "  mobile_client/m.py:1  schemes: 04_esquemas es hermana de mobile_client" in lines
    assert stages.report([])[-1] == "Ninguna importación va al revés."


def test_labels():
    assert [stages.label(folder) for folder in ("workshop", "00_intro", "04_esquemas", "mobile_client", "tools")] \
        == ["común", "etapa 00", "etapa 04", "app", "órdenes"]
