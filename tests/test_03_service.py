"""Etapa 03, el servicio (lightsail/service.py y checks.py): create, scale, status, logs, url, la prueba de humo
y el ciclo completo create → push → deploy → smoke → destroy.

Solo AWS y la CLI de Docker se simulan (tests/lightsail_support.py: clientes reales de boto3 con
botocore.stub.Stubber); lo demás es real.
"""


import pytest

from lightsail_support import (
    IMAGE,
    KEY,
    LOCAL_IMAGE,
    NOW,
    PUSH_TAG,
    REGISTRY,
    SERVICE,
    Run,
    deployment,
    queue_create,
    queue_deploy,
    queue_destroy,
    queue_push,
    service,
)
from support import HEALTH_PATH, free_port, running_gunicorn

pytestmark = pytest.mark.usefixtures("lightsail_environment")


@pytest.fixture(scope="module")
def api_url(model_dir, tmp_path_factory):
    """La API real servida por gunicorn en 127.0.0.1 (hace de «URL pública» del servicio)."""
    folder = tmp_path_factory.mktemp("lightsail-smoke")
    # model_dir: la versión publicada en MODEL_DIR (se entrena si falta), la que sirve gunicorn.
    with running_gunicorn(folder, env={"PIDFILE": str(folder / "gunicorn.pid")}) as (base_url, _process):
        yield base_url


@pytest.mark.server
def test_happy_path_create_push_deploy_smoke_destroy(aws, docker, capsys, api_url, card):
    run = Run(aws, capsys)

    queue_create(aws)
    code, out, err = run("create")
    assert code == 0, err
    assert "nano × 1 nodo(s) = 7,50 USD/mes (precios en vivo de GetContainerServicePowers)" in out
    assert "AVISO: el servicio factura" in out
    assert "PENDING (CREATING_SYSTEM_RESOURCES)" in out and "Servicio listo (READY)" in out
    assert run.sleeps == [10]

    queue_push(aws)
    code, out, err = run("push")
    assert code == 0, err
    assert f"Imagen registrada en «{SERVICE}»: {IMAGE}" in out
    assert docker.commands == [
        (["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", LOCAL_IMAGE], None),
        (["login", "--username", "AWS", "--password-stdin", REGISTRY], "secreto-temporal"),
        (["tag", LOCAL_IMAGE, PUSH_TAG], None),
        (["push", PUSH_TAG], None),
        (["image", "rm", PUSH_TAG], None),
        (["logout", REGISTRY], None),
    ]

    queue_deploy(aws, url=api_url + "/")
    code, out, err = run("deploy")
    assert code == 0, err
    assert f"Desplegando {IMAGE}" in out  # la imagen registrada más reciente, no la anterior
    assert "el despliegue 1 termine: ACTIVATING" in out and "el despliegue 1 termine: ACTIVE" in out
    assert f"Despliegue 1 ACTIVO. URL pública: {api_url}/" in out

    aws.service("RUNNING", url=api_url + "/")
    code, out, err = run("smoke")
    assert code == 0, err
    assert f"GET {HEALTH_PATH} → 200" in out
    assert f"Modelo desplegado: {card['version']}" in out
    assert any(cls["label"] in out for cls in card["classes"])
    assert "Prueba de humo superada." in out

    queue_destroy(aws)
    code, out, err = run("destroy", "--yes")
    assert code == 0, err
    assert "DELETING" in out and f"Servicio «{SERVICE}» borrado: ya no factura." in out

    aws.stub.assert_no_pending_responses()
    assert aws.recorder.operations == [
        "GetContainerServices", "GetContainerServicePowers", "CreateContainerService", "GetContainerServices",
        "GetContainerServices",
        "GetContainerServices", "CreateContainerServiceRegistryLogin", "RegisterContainerImage",
        "GetContainerImages", "CreateContainerServiceDeployment", "GetContainerServiceDeployments",
        "GetContainerServiceDeployments", "GetContainerServices",
        "GetContainerServices",
        "GetContainerServices", "DeleteContainerService", "GetContainerServices", "GetContainerServices",
    ]


def test_failed_deployment_prints_the_last_log_lines_and_exits_nonzero(aws, capsys):
    queue_deploy(aws, final_state="FAILED")
    code, out, err = Run(aws, capsys)("deploy")
    assert code == 1
    assert "exec format error" in out
    assert "línea 13\n" in out and "línea 12\n" not in out  # las últimas 30 líneas
    assert "API_KEY=****" in out and KEY not in out + err  # el registro del contenedor, con la clave oculta
    assert "terminó en FAILED" in err and "Traceback" not in err
    aws.stub.assert_no_pending_responses()


def test_smoke_fails_with_a_clear_message_when_the_url_does_not_answer(capsys):
    run = Run(None, capsys)
    code, out, err = run("smoke", "--url", f"http://127.0.0.1:{free_port()}")
    assert code == 1
    assert "[6/6]" in out and "no respondió 200 tras 6 intentos" in err
    assert run.sleeps == [10] * 5  # espera entre intentos (acotada), no después del último


def test_smoke_rejects_a_url_without_scheme(capsys):
    code, _, err = Run(None, capsys)("smoke", "--url", "127.0.0.1:9")
    assert code == 2 and "debe empezar por http:// o https://" in err


def test_create_waits_bounded_and_gives_up_with_a_timeout_code(aws, capsys):
    aws.missing()
    aws.powers()
    aws.respond("create_container_service", {"containerService": service("PENDING")},
                {"serviceName": SERVICE, "power": "micro", "scale": 2})
    for _ in range(3):
        aws.service("PENDING", power="micro", scale=2)
    run = Run(aws, capsys)
    code, out, err = run("create", "--power", "micro", "--scale", "2", "--timeout", "30")
    assert code == 8
    assert "[3/3]" in out and "Tiempo agotado" in err
    assert run.sleeps == [10, 10]
    aws.stub.assert_no_pending_responses()


def test_scale_sends_only_what_changes_and_waits_for_the_new_capacity(aws, capsys):
    aws.service("RUNNING")
    aws.respond("update_container_service", {"containerService": service("UPDATING")},
                {"serviceName": SERVICE, "scale": 3})
    aws.service("RUNNING")  # aún la capacidad anterior: hay que seguir esperando
    aws.service("UPDATING", scale=3)
    aws.service("RUNNING", scale=3)
    aws.powers()
    run = Run(aws, capsys)
    code, out, err = run("scale", "--scale", "3")
    assert code == 0, err
    assert "nano × 1 → nano × 3" in out and "nano × 3 nodo(s) = 22,50 USD/mes" in out
    assert run.sleeps == [10, 10]
    aws.stub.assert_no_pending_responses()


def test_status_shows_state_deployments_and_metrics(aws, capsys):
    aws.service("RUNNING", currentDeployment=deployment(2, "ACTIVE"))
    for metric, average in (("CPUUtilization", 12.5), ("MemoryUtilization", 40.0)):
        aws.respond("get_container_service_metric_data", {"metricName": metric, "metricData": [
            {"average": average, "maximum": average * 2, "timestamp": NOW, "unit": "Percent"}]}, {
            "serviceName": SERVICE, "metricName": metric, "startTime": NOW.replace(hour=11), "endTime": NOW,
            "period": 300, "statistics": ["Average", "Maximum"]})
    code, out, err = Run(aws, capsys)("status")
    assert code == 0, err
    assert "Estado:    RUNNING" in out and f"versión 2 (ACTIVE) con {IMAGE}" in out
    assert "CPUUtilization: media 12,5 %, máximo 25,0 %" in out
    assert "MemoryUtilization: media 40,0 %" in out
    aws.stub.assert_no_pending_responses()


def test_logs_prints_the_requested_number_of_lines(aws, capsys):
    aws.respond("get_container_log", {"logEvents": [{"createdAt": NOW, "message": f"petición {n}"} for n in range(5)]},
                {"serviceName": SERVICE, "containerName": "diabetes-api"})
    code, out, _ = Run(aws, capsys)("logs", "--lines", "2")
    assert code == 0
    assert "petición 3" in out and "petición 4" in out and "petición 2" not in out


def test_url_prints_only_the_public_url(aws, capsys):
    aws.service("RUNNING", url="https://taller-diabetes.abc123.us-east-1.cs.amazonlightsail.com/")
    code, out, _ = Run(aws, capsys)("url")
    assert code == 0
    assert out == "https://taller-diabetes.abc123.us-east-1.cs.amazonlightsail.com/\n"
