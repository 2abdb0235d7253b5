"""Etapa 03: `plan` sin cuenta de AWS, credenciales y región, y la política IAM de mínimo privilegio.

La política debe permitir EXACTAMENTE las operaciones que el script llama: se registran las llamadas
de todos los subcomandos (con Stubber) y se comparan con iam-policy.json, con el plan y con calls.py.
"""

import json
import os
import re
import subprocess
import sys

import boto3
import pytest

from lightsail import calls, pricing, rules, settings
from support import ROOT, free_port, have, need
from test_03_support import (  # noqa: F401 (las *_fixture e isolated_environment son fixtures)
    NOW,
    SERVICE,
    Aws,
    FakeDocker,
    Run,
    aws_fixture,
    deployment,
    isolated_environment,
    queue_create,
    queue_deploy,
    queue_destroy,
    queue_push,
    service,
    without_credentials,
)

POLICY = json.loads((ROOT / "03_lightsail" / "iam-policy.json").read_text(encoding="utf-8"))
PLAN_OPERATION = re.compile(r"lightsail:(\w+) ")


def policy_operations():
    (statement,) = POLICY["Statement"]
    return {action.removeprefix("lightsail:") for action in statement["Action"]}


def clean_env(tmp_path):
    """El entorno de un equipo sin credenciales de AWS (y sin metadatos de EC2: nada de red)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LIGHTSAIL_"))}
    return {**env, "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(tmp_path / "no"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no")}


def test_plan_runs_without_credentials_and_lists_every_call_and_the_cost(tmp_path):
    result = subprocess.run([sys.executable, "03_lightsail/deploy.py", "plan"], cwd=ROOT, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert set(PLAN_OPERATION.findall(out)) == policy_operations()
    for command in ("docker image inspect", "docker login", "docker tag", "docker push", "docker logout",
                    "HTTP POST <url>/v1/predict"):
        assert command in out
    for subcommand in ("create", "push", "deploy", "smoke", "status", "scale", "destroy"):
        assert f"deploy.py {subcommand}" in out
    assert '"power": "nano", "scale": 1' in out  # valores por defecto
    table = json.loads(pricing.TABLE_FILE.read_text(encoding="utf-8"))
    assert f"nano × 1 nodo(s) = {table['powers']['nano']['price']:.2f} USD/mes" in out
    assert f"tabla documentada del {table['taken_on']}" in out
    assert "factura" in out and "BORRA" in out


def test_make_demo_3_prints_the_plan_without_credentials(tmp_path):
    need(have("make"), "falta make")
    result = subprocess.run(["make", "-s", "-o", ".venv/.instalado", "demo-3"], cwd=ROOT, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Plan de despliegue en AWS Lightsail" in result.stdout and "USD/mes" in result.stdout


def test_plan_uses_the_documented_example_medium_times_three(capsys, monkeypatch):
    without_credentials(monkeypatch)
    code, out, _ = Run(None, capsys)("plan", "--power", "medium", "--scale", "3", "--region", "eu-west-1")
    assert code == 0
    assert "medium × 3 nodo(s) = 120.00 USD/mes" in out and "en eu-west-1" in out


def test_plan_shows_live_prices_when_there_are_credentials(aws, capsys):
    aws.powers()
    code, out, _ = Run(aws, capsys)("plan", "--power", "small", "--scale", "2")
    assert code == 0
    assert "small × 2 nodo(s) = 31.00 USD/mes (precios en vivo de GetContainerServicePowers)" in out
    assert aws.recorder.operations == ["GetContainerServicePowers"]


def test_plan_falls_back_to_the_table_if_live_prices_fail(aws, capsys):
    aws.fail("get_container_service_powers", "AccessDeniedException", "not authorized", {}, 403)
    code, out, _ = Run(aws, capsys)("plan")
    assert code == 0 and "se usa la tabla documentada" in out and "7.00 USD/mes" in out


def test_plan_offline_never_calls_aws(aws, capsys):
    code, _, _ = Run(aws, capsys)("plan", "--offline")
    assert code == 0 and aws.recorder.operations == []


@pytest.mark.parametrize("command", ["status", "create", "destroy"])
def test_missing_credentials_give_a_spanish_message_and_no_traceback(capsys, monkeypatch, command):
    without_credentials(monkeypatch)
    code, out, err = Run(None, capsys)(command)
    assert code == 3
    assert "No hay credenciales de AWS" in err and "aws configure" in err
    assert "Traceback" not in out + err


def test_credentials_missing_at_call_time_are_explained(capsys, monkeypatch):
    without_credentials(monkeypatch)
    client = boto3.Session(region_name="us-east-1").client("lightsail")  # botocore falla al firmar
    code, _, err = Run(None, capsys, client=client)("status")
    assert code == 3 and "No hay credenciales de AWS" in err


def test_unreachable_endpoint_is_explained(capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_LIGHTSAIL", f"http://127.0.0.1:{free_port()}")  # nadie escucha
    code, _, err = Run(None, capsys)("status", "--region", "eu-west-3")
    assert code == 6 and "No se pudo conectar con Lightsail en la región «eu-west-3»" in err


def run_every_subcommand(capsys, monkeypatch):
    """Todos los subcomandos contra un único cliente simulado; devuelve las operaciones llamadas."""
    fake = Aws()
    monkeypatch.setattr("lightsail.docker_cli.run_docker", FakeDocker())
    run = Run(fake, capsys, answers=[SERVICE])
    fake.powers()
    queue_create(fake)
    queue_push(fake)
    queue_deploy(fake)
    queue_deploy(fake, final_state="FAILED")
    fake.service("RUNNING", currentDeployment=deployment(1, "ACTIVE"))
    for metric in calls.METRICS:
        fake.respond("get_container_service_metric_data", {"metricName": metric, "metricData": []},
                     {"serviceName": SERVICE, "metricName": metric, "startTime": NOW.replace(hour=11),
                      "endTime": NOW, "period": 300, "statistics": ["Average", "Maximum"]})
    fake.respond("get_container_log", {"logEvents": []}, {"serviceName": SERVICE, "containerName": "diabetes-api"})
    fake.service("RUNNING")
    fake.service("RUNNING", power="micro")
    fake.respond("update_container_service", {"containerService": service("UPDATING")},
                 {"serviceName": SERVICE, "power": "small"})
    fake.service("RUNNING", power="small")
    fake.powers()
    queue_destroy(fake)
    expected_codes = [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    argvs = [["plan"], ["create"], ["push"], ["deploy"], ["deploy"], ["status"], ["logs"], ["url"],
             ["scale", "--power", "small"], ["destroy"]]
    codes = [run(*argv)[0] for argv in argvs]
    assert codes == expected_codes
    fake.stub.assert_no_pending_responses()
    return set(fake.recorder.operations)


def test_the_policy_allows_exactly_the_operations_the_script_calls(capsys, monkeypatch):
    called = run_every_subcommand(capsys, monkeypatch)
    assert called == policy_operations()
    print(f"Operaciones de la API de Lightsail cubiertas por las pruebas: {len(called)}")


def test_the_policy_matches_calls_py_and_the_real_api_model():
    source = (ROOT / "03_lightsail" / "lightsail" / "calls.py").read_text(encoding="utf-8")
    assert set(re.findall(r'Call\("(\w+)"', source)) == policy_operations()
    assert policy_operations() <= set(rules.service_model().operation_names)


def test_the_policy_is_least_privilege_and_limited_to_the_default_region():
    (statement,) = POLICY["Statement"]
    assert POLICY["Version"] == "2012-10-17"
    assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
    assert all(action.startswith("lightsail:") and "*" not in action for action in statement["Action"])
    assert len(statement["Action"]) == len(set(statement["Action"]))
    assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": settings.DEFAULTS["region"][1]}}


def test_the_readme_mirrors_the_price_table():
    readme = (ROOT / "03_lightsail" / "README.md").read_text(encoding="utf-8")
    table = json.loads(pricing.TABLE_FILE.read_text(encoding="utf-8"))
    assert table["taken_on"] in readme
    for name, row in table["powers"].items():
        assert re.search(rf"\|\s*{name}\s*\|[^\n]*\|\s*{row['price']:g}\s*\|", readme), name

