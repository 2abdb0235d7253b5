"""Etapa 03, deploy.py como lo usa la gente: en otro proceso (errores de uso en español, ayuda, sin el
entorno virtual, `plan` sin credenciales), los objetivos de make y el README. Sin cuenta ni red de AWS.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from lightsail import config
from support import ROOT, have, need
from workshop.spanish import number

POLICIES = [json.loads((ROOT / "03_lightsail" / name).read_text(encoding="utf-8"))
            for name in ("iam-policy.json", "iam-policy-delete.json")]
PLAN_OPERATION = re.compile(r"lightsail:(\w+) ")


def without_aws():
    """El entorno de un equipo sin credenciales de AWS, sin metadatos de EC2 (nada de red) y sin LIGHTSAIL_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LIGHTSAIL_"))}
    return {**env, "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


ENGLISH = re.compile(r"usage|argument|invalid|expected|choose|required|unrecognized|options:|show this|error: the",
                     re.IGNORECASE)


def deploy_py(*argv, prelude=None, python=(sys.executable,)):
    """deploy.py como lo ejecuta el usuario: otro proceso, sin credenciales de AWS."""
    command = [*python, "03_lightsail/deploy.py", *argv] if prelude is None else [
        *python, "-c", f"{prelude}; import runpy; runpy.run_path('03_lightsail/deploy.py', run_name='__main__')",
        *argv]
    return subprocess.run(command, cwd=ROOT, env=without_aws(), capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.parametrize(("argv", "fragment"), [
    ([], "deploy.py: error: falta el subcomando; elige entre: plan, create, push, deploy, deployments, rollback"),
    (["desplegar"], "deploy.py: error: subcomando desconocido «desplegar»; elige entre: plan,"),
    (["create", "--scale"], "deploy.py create: error: --scale necesita un valor."),
    (["create", "--scale", "dos"], "deploy.py create: error: --scale «dos» no es un número entero."),
    (["rollback", "--version", "v2"], "deploy.py rollback: error: --version «v2» no es un número entero."),
    (["status", "--colour", "rojo"], "deploy.py status: error: no se reconoce --colour rojo."),
    (["status", "--serv", "x"], "deploy.py status: error: no se reconoce --serv x."),  # sin abreviaturas
    (["destroy", "--yes=si"], "deploy.py destroy: error: --yes no admite un valor."),
    (["url", "extra"], "deploy.py url: error: no se reconoce extra."),
])
def test_usage_errors_are_one_spanish_sentence_with_code_2(argv, fragment):
    result = deploy_py(*argv)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr and "uso: deploy.py" in result.stderr and "Usa --help" in result.stderr
    assert not ENGLISH.search(result.stderr) and "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["rollback", "--help"], ["plan", "-h"]])
def test_help_is_in_spanish(argv):
    result = deploy_py(*argv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("uso: deploy.py") and "opciones:" in result.stdout
    assert "muestra esta ayuda y termina" in result.stdout and not ENGLISH.search(result.stdout)


def test_help_lists_every_subcommand():
    out = deploy_py("--help").stdout
    for command in ("plan", "create", "push", "deploy", "deployments", "rollback", "status", "logs", "url", "smoke",
                    "scale", "destroy"):
        assert re.search(rf"^  {command} +\S", out, re.MULTILINE), command


@pytest.mark.parametrize(("python", "prelude", "missing"), [
    ((sys.executable, "-S"), None, r"\w+"),  # -S: sin site-packages, como un Python fuera del entorno
    ((sys.executable,), "import sys; sys.modules['boto3'] = None", "boto3"),  # el entorno, pero sin boto3
])
def test_without_the_virtual_environment_it_says_how_to_create_it(python, prelude, missing):
    result = deploy_py("plan", python=python, prelude=prelude)
    assert result.returncode == 1 and result.stdout == ""
    assert re.fullmatch(f"Error: falta el módulo «{missing}». Usa el Python del entorno del taller "
                        r"\(\.venv/bin/python 03_lightsail/deploy\.py …\); si aún no existe, créalo con "
                        r"`make setup-dev`\.\n", result.stderr), result.stderr


def test_plan_runs_without_credentials_and_lists_every_call_and_the_cost():
    result = deploy_py("plan")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    allowed = {action.removeprefix("lightsail:") for policy in POLICIES for statement in policy["Statement"]
               for action in statement["Action"]}  # el plan nombra cada operación que permiten las políticas
    assert set(PLAN_OPERATION.findall(out)) == allowed - {"DeleteContainerImage"}  # (salvo la de borrar a mano)
    for command in ("docker image inspect", "docker login", "docker tag", "docker push", "docker logout",
                    "HTTP POST <url>/v1/predict"):
        assert command in out
    for subcommand in ("create", "push", "deploy", "smoke", "deployments / rollback", "status", "scale", "destroy"):
        assert f"deploy.py {subcommand}" in out
    assert '"power": "nano", "scale": 1' in out  # valores por defecto
    table = json.loads(config.PRICES_FILE.read_text(encoding="utf-8"))
    assert f"nano × 1 nodo(s) = {number(table['powers']['nano']['price'])} USD/mes" in out
    assert f"tabla documentada del {table['taken_on']}" in out
    assert "factura" in out and "BORRA" in out


def make(*args):
    """make en la raíz, sin reinstalar el entorno (-o: da por hecho .venv) y sin credenciales de AWS."""
    need(have("make"), "falta make")
    return subprocess.run(["make", "-s", "-o", ".venv/.instalado-dev", "-o", ".venv/.instalado-demo", *args],
                          cwd=ROOT, env=without_aws(), capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_make_demo_3_prints_the_plan_without_credentials():
    result = make("demo-3")
    assert result.returncode == 0, result.stderr
    assert "Plan de despliegue en AWS Lightsail" in result.stdout and "USD/mes" in result.stdout


@pytest.mark.slow
def test_make_lightsail_deployments_and_rollback():
    result = make("lightsail-deployments")
    assert result.returncode != 0 and "No hay credenciales de AWS" in result.stderr  # llega a deploy.py
    assert make("-n", "lightsail-rollback").stdout.split()[-2:] == ["03_lightsail/deploy.py", "rollback"]
    assert make("-n", "lightsail-rollback", "DEPLOYMENT=3").stdout.split()[-3:] == [
        "rollback", "--version", "3"]


def test_the_readme_mirrors_the_price_table():
    readme = (ROOT / "03_lightsail" / "README.md").read_text(encoding="utf-8")
    table = json.loads(config.PRICES_FILE.read_text(encoding="utf-8"))
    assert table["taken_on"] in readme
    for name, row in table["powers"].items():
        assert re.search(rf"\|\s*{name}\s*\|[^\n]*\|\s*{row['price']:g}\s*\|", readme), name


NEEDS_AWS_OR_DOCKER = re.compile(r"deploy\.py (create|push|deploy|deployments|rollback|status|logs|url|smoke|scale|"
                                 r"destroy)\b|make (deploy|destroy)-lightsail|make lightsail-|aws lightsail|docker ")


def test_the_readme_marks_every_block_that_needs_aws_or_docker_and_uses_the_venv_python():
    readme = (ROOT / "03_lightsail" / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"(<!-- ci: [^\n]*-->\n)?```bash\n(.*?)```", readme, re.DOTALL)
    assert len(blocks) == readme.count("```bash") > 5
    for mark, code in blocks:
        if NEEDS_AWS_OR_DOCKER.search(code):  # CI no lo ejecuta (y la marca lo dice: test_docs.py)
            assert mark.startswith("<!-- ci: no · necesita una cuenta de AWS"), code
        for line in code.splitlines():
            assert "deploy.py" not in line.split("#")[0] or ".venv/bin/python 03_lightsail/deploy.py" in line, line

