"""Etapa 03, lo que se pide a AWS (lightsail/aws.py y plan.py): el plan y sus precios, las credenciales y la
política IAM, exactamente las operaciones que llama deploy.py.

Solo AWS y la CLI de Docker se simulan (tests/lightsail_support.py: clientes reales de boto3 con
botocore.stub.Stubber); lo demás es real.
"""

import json
import re

import boto3
import pytest

from lightsail import aws, config
from lightsail_support import (
    IMAGE,
    NOW,
    SERVICE,
    Aws,
    FakeDocker,
    Run,
    deployment,
    queue_create,
    queue_deploy,
    queue_deployments,
    queue_destroy,
    queue_push,
    queue_rollback,
    service,
    without_credentials,
)
from support import ROOT, free_port

pytestmark = pytest.mark.usefixtures("lightsail_environment")


# ---------------------------------------------------------------- plan, credenciales y política IAM

POLICY = json.loads((ROOT / "03_lightsail" / "iam-policy.json").read_text(encoding="utf-8"))
DELETE_POLICY = json.loads((ROOT / "03_lightsail" / "iam-policy-delete.json").read_text(encoding="utf-8"))
# Lo que permite iam-policy-delete.json y deploy.py no llama: borrar imágenes viejas a mano (consola o AWS CLI).
NOT_CALLED = {"DeleteContainerImage"}


def actions(policy):
    return {action.removeprefix("lightsail:") for statement in policy["Statement"] for action in statement["Action"]}


def policy_operations():
    """Las operaciones que permiten las dos políticas, menos las que deploy.py no llama."""
    return (actions(POLICY) | actions(DELETE_POLICY)) - NOT_CALLED


def test_plan_uses_the_documented_example_medium_times_three(capsys, monkeypatch):
    without_credentials(monkeypatch)
    code, out, _ = Run(None, capsys)("plan", "--power", "medium", "--scale", "3", "--region", "eu-west-1")
    assert code == 0
    assert "medium × 3 nodo(s) = 120,00 USD/mes" in out and "en eu-west-1" in out


def test_plan_shows_live_prices_when_there_are_credentials(aws, capsys):
    aws.powers()
    code, out, _ = Run(aws, capsys)("plan", "--power", "small", "--scale", "2")
    assert code == 0
    assert "small × 2 nodo(s) = 31,00 USD/mes (precios en vivo de GetContainerServicePowers)" in out
    assert aws.recorder.operations == ["GetContainerServicePowers"]


def test_plan_falls_back_to_the_table_if_live_prices_fail(aws, capsys):
    aws.fail("get_container_service_powers", "AccessDeniedException", "not authorized", {}, 403)
    code, out, _ = Run(aws, capsys)("plan")
    assert code == 0 and "se usa la tabla documentada" in out and "7,00 USD/mes" in out


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
    monkeypatch.setattr("lightsail.releases.run_docker", FakeDocker())
    run = Run(fake, capsys, answers=[SERVICE])
    fake.powers()
    queue_create(fake)
    queue_push(fake)
    queue_deploy(fake)
    queue_deploy(fake, final_state="FAILED")
    fake.service("RUNNING", currentDeployment=deployment(1, "ACTIVE"))
    for metric in aws.METRICS:
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
    queue_deployments(fake, deployment(2, "ACTIVE"), deployment(1, "INACTIVE"))
    queue_deployments(fake, deployment(2, "ACTIVE"), deployment(1, "INACTIVE"))
    queue_rollback(fake, IMAGE, new_version=3)
    queue_destroy(fake)
    expected_codes = [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    argvs = [["plan"], ["create"], ["push"], ["deploy"], ["deploy"], ["status"], ["logs"], ["url"],
             ["scale", "--power", "small"], ["deployments"], ["rollback"], ["destroy"]]
    codes = [run(*argv)[0] for argv in argvs]
    assert codes == expected_codes
    fake.stub.assert_no_pending_responses()
    return set(fake.recorder.operations)


def test_the_policy_allows_exactly_the_operations_the_script_calls(capsys, monkeypatch):
    called = run_every_subcommand(capsys, monkeypatch)
    assert called == policy_operations()
    print(f"Operaciones de la API de Lightsail cubiertas por las pruebas: {len(called)}")


def test_the_policy_matches_aws_py_and_the_real_api_model():
    source = (ROOT / "03_lightsail" / "lightsail" / "aws.py").read_text(encoding="utf-8")
    assert set(re.findall(r'self\.call\("(\w+)"', source)) == policy_operations()
    assert policy_operations() <= set(config.api_model().operation_names)  # el modelo real de botocore


def test_stubber_lets_through_what_the_model_forbids_and_the_recorder_does_not():
    fake = Aws()
    bad = {"serviceName": "Mi_Servicio", "power": "tiny", "scale": 21}
    fake.respond("create_container_service", {}, bad)
    fake.client.create_container_service(**bad)  # Stubber (y botocore) lo aceptan: solo miran tipos y mínimos
    assert fake.recorder.problems == ["CreateContainerService.serviceName='Mi_Servicio'",
                                      "CreateContainerService.power='tiny'", "CreateContainerService.scale=21"]


# Según la «Service Authorization Reference» de AWS (Actions, resources, and condition keys for Amazon
# Lightsail), estas acciones admiten el recurso ContainerService (arn:…:ContainerService/${Id}); las demás que
# llama deploy.py no tienen tipo de recurso, y entonces «you must specify all resources ("*")».
SCOPED = {"CreateContainerServiceDeployment", "RegisterContainerImage", "UpdateContainerService",
          "DeleteContainerService", "DeleteContainerImage"}
REGION = config.DEFAULTS["region"][1]
CONTAINER_SERVICES = f"arn:aws:lightsail:{REGION}:*:ContainerService/*"


@pytest.mark.parametrize("policy", [POLICY, DELETE_POLICY], ids=["iam-policy", "iam-policy-delete"])
def test_the_policies_are_least_privilege_and_limited_to_the_default_region(policy):
    assert policy["Version"] == "2012-10-17"
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and re.fullmatch(r"[A-Za-z0-9]+", statement["Sid"])
        names = [action.removeprefix("lightsail:") for action in statement["Action"]]
        assert all(action.startswith("lightsail:") and "*" not in action for action in statement["Action"])
        assert len(names) == len(set(names)) and set(names) <= set(config.api_model().operation_names)
        if statement["Resource"] == "*":  # solo acciones sin permisos por recurso, y solo en la región
            assert not set(names) & SCOPED, names
            assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}
        else:  # acotadas a los servicios de contenedores de la región (el ARN lleva el id, no el nombre)
            assert set(names) <= SCOPED and statement["Resource"] == CONTAINER_SERVICES


def test_deleting_is_only_in_the_separate_policy():
    assert not any(name.startswith("Delete") for name in actions(POLICY))
    assert actions(DELETE_POLICY) == {"DeleteContainerService", "DeleteContainerImage"}
    assert actions(POLICY) <= policy_operations()  # la principal: solo lo que llama deploy.py
    assert actions(POLICY) & actions(DELETE_POLICY) == set()
