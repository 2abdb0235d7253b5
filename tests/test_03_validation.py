"""Etapa 03: lo que Stubber no comprueba (enumeraciones, máximos, patrones, rangos de la comprobación de salud)
se rechaza con un mensaje en español ANTES de cualquier llamada a AWS; y los errores de AWS se explican."""

import json

import pytest

from lightsail import deployment_config, settings
from support import HEALTH_PATH, SHARED
from test_03_support import (  # noqa: F401 (las *_fixture e isolated_environment son fixtures)
    SERVICE,
    Run,
    aws_fixture,
    docker_fixture,
    isolated_environment,
    queue_destroy,
    service,
)


def assert_rejected_before_any_call(aws, result, *fragments):
    code, out, err = result
    assert code == 2, (out, err)
    assert "Configuración no válida" in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    assert aws.recorder.operations == []  # ni una llamada (y el Stubber no tenía respuestas en cola)
    aws.stub.assert_no_pending_responses()


@pytest.mark.parametrize(("argv", "fragment"), [
    (["create", "--power", "tiny"], "La potencia «tiny» no es válida. Opciones: nano, micro, small"),
    (["create", "--power", "NANO"], "La potencia «NANO»"),
    (["create", "--scale", "21"], "entre 1 y 20"),
    (["create", "--scale", "0"], "entre 1 y 20"),
    (["scale", "--scale=-1"], "entre 1 y 20"),
    (["create", "--service", "Mi_Servicio"], "El nombre de servicio «Mi_Servicio» no es válido"),
    (["create", "--service=-taller"], "sin guion al principio ni al final"),
    (["create", "--service", "taller-"], "sin guion al principio ni al final"),
    (["status", "--service", "x" * 64], "1–63 caracteres"),
    (["status", "--region", "us-east-9"], "La región de Lightsail «us-east-9» no es válida"),
    (["status", "--region", "eu-south-1"], "us-east-1, us-east-2"),  # región de AWS sin Lightsail
])
def test_invalid_options_are_rejected_before_any_call(aws, capsys, argv, fragment):
    assert_rejected_before_any_call(aws, Run(aws, capsys)(*argv), fragment)


def test_valid_edge_values_are_accepted(aws, capsys):
    aws.fail("get_container_services", "NotFoundException", "no existe", {"serviceName": "a1"})
    code, _, err = Run(aws, capsys)("status", "--service", "a1", "--region", "sa-east-1")
    assert code == 4 and "«a1» no existe en la región sa-east-1" in err


def test_options_also_come_from_the_environment(aws, capsys, monkeypatch):
    monkeypatch.setenv("LIGHTSAIL_POWER", "huge")
    assert_rejected_before_any_call(aws, Run(aws, capsys)("create"), "La potencia «huge»")
    monkeypatch.setenv("LIGHTSAIL_POWER", "nano")
    monkeypatch.setenv("LIGHTSAIL_SCALE", "muchos")
    code, _, err = Run(aws, capsys)("create")
    assert code == 2 and "LIGHTSAIL_SCALE «muchos» no es un número entero" in err
    assert aws.recorder.operations == []


def test_logs_needs_at_least_one_line(aws, capsys):
    code, _, err = Run(aws, capsys)("logs", "--lines", "0")
    assert code == 2 and "--lines debe ser al menos 1" in err
    assert aws.recorder.operations == []


def test_scale_needs_something_to_change(aws, capsys):
    code, _, err = Run(aws, capsys)("scale")
    assert code == 2 and "--power, --scale o ambos" in err
    assert aws.recorder.operations == []


def test_argparse_errors_are_in_spanish(capsys):
    with pytest.raises(SystemExit) as exit_info:
        Run(None, capsys)("create", "--scale", "dos")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no es un número entero" in err and "uso:" in err


def write_config(tmp_path, change):
    config = json.loads(settings.DEPLOYMENT_FILE.read_text(encoding="utf-8"))
    change(config)
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def set_health(**values):
    return lambda config: config["publicEndpoint"]["healthCheck"].update(values)


def set_ports(ports):
    return lambda config: config["containers"]["diabetes-api"].update(ports=ports)


def rename_container(name):
    return lambda config: config.update(containers={name: config["containers"].pop("diabetes-api")})


@pytest.mark.parametrize(("change", "fragments"), [
    (set_health(intervalSeconds=4), ["healthCheck.intervalSeconds debe ser un entero entre 5 y 300"]),
    (set_health(intervalSeconds=301, timeoutSeconds=61), ["intervalSeconds", "healthCheck.timeoutSeconds"]),
    (set_health(timeoutSeconds=1, healthyThreshold=1, unhealthyThreshold=11),
     ["timeoutSeconds debe ser un entero entre 2 y 60", "healthyThreshold debe ser un entero entre 2 y 10",
      "unhealthyThreshold debe ser un entero entre 2 y 10"]),
    (set_health(successCodes="600"), ["successCodes «600» no es válido"]),
    (set_health(successCodes="299-200"), ["successCodes «299-200»"]),
    (set_health(successCodes="200-"), ["successCodes «200-»"]),
    (set_health(path="health"), ["healthCheck.path «health» debe empezar por «/»"]),
    (set_ports({"${PORT}": "HTTPX"}), ["El protocolo del puerto", "«HTTPX» no es válida. Opciones: HTTP, HTTPS, TCP"]),
    (set_ports({"99999": "HTTP"}), ["«99999» no es un puerto", "publicEndpoint.containerPort"]),
    (set_ports({"${PORT}": "UDP"}), ["debe ser un puerto HTTP o HTTPS"]),
    (rename_container("Diabetes_API"), ["El nombre de contenedor «Diabetes_API» no es válido",
                                        "publicEndpoint.containerName «diabetes-api» no está en containers"]),
    (lambda config: config.update(imageLabel="v1.0"), ["imageLabel «v1.0» no es válido"]),
    (lambda config: config.update(containers={}), ["containers debe tener al menos un contenedor"]),
])
def test_deployment_config_is_checked_before_any_call(aws, capsys, tmp_path, change, fragments):
    config = write_config(tmp_path, change)
    assert_rejected_before_any_call(aws, Run(aws, capsys)("deploy", "--config", config), *fragments)


def test_unknown_placeholder_and_broken_json_are_explained(aws, capsys, tmp_path):
    config = write_config(tmp_path, lambda c: c["containers"]["diabetes-api"]["environment"].update(X="${PUERTO}"))
    code, _, err = Run(aws, capsys)("deploy", "--config", config)
    assert code == 2 and "Marcador desconocido en «${PUERTO}»" in err
    broken = tmp_path / "roto.json"
    broken.write_text("{", encoding="utf-8")
    code, _, err = Run(aws, capsys)("push", "--config", str(broken))
    assert code == 2 and "no es JSON válido" in err
    assert aws.recorder.operations == []


def test_port_and_health_path_come_from_workshop_env():
    raw = settings.DEPLOYMENT_FILE.read_text(encoding="utf-8")
    assert SHARED["PORT"] not in raw and HEALTH_PATH not in raw  # una sola definición: workshop.env
    request = deployment_config.load().request
    assert request["publicEndpoint"]["containerPort"] == int(SHARED["PORT"])
    assert request["publicEndpoint"]["healthCheck"]["path"] == HEALTH_PATH
    assert request["containers"]["diabetes-api"]["ports"] == {SHARED["PORT"]: "HTTP"}


def test_name_taken_is_a_conflict(aws, capsys):
    aws.service("RUNNING")
    code, _, err = Run(aws, capsys)("create")
    assert code == 5 and f"El nombre «{SERVICE}» ya está en uso en us-east-1 (estado RUNNING)" in err
    assert aws.recorder.operations == ["GetContainerServices"]


def test_name_taken_reported_by_create_is_a_conflict_too(aws, capsys):
    aws.fail("get_container_services", "NotFoundException", "no existe", {"serviceName": SERVICE})
    aws.powers()
    aws.fail("create_container_service", "InvalidInputException", "The name is already in use",
             {"serviceName": SERVICE, "power": "nano", "scale": 1})
    code, _, err = Run(aws, capsys)("create")
    assert code == 5 and "ya está en uso" in err


def test_service_not_found_is_explained(aws, capsys):
    aws.missing()
    code, _, err = Run(aws, capsys)("status")
    assert code == 4
    assert f"El servicio «{SERVICE}» no existe en la región us-east-1" in err and "Traceback" not in err


def test_throttling_is_retried_with_backoff(aws, capsys):
    for _ in range(2):
        aws.fail("get_container_services", "ThrottlingException", "Rate exceeded", {"serviceName": SERVICE})
    aws.respond("get_container_services", {"containerServices": [service("RUNNING", url="https://x.invalid/")]},
                {"serviceName": SERVICE})
    run = Run(aws, capsys)
    code, out, err = run("url")
    assert code == 0, err
    assert run.sleeps == [1, 2]
    assert "AWS limita la frecuencia de llamadas (GetContainerServices); reintento 2/4" in out


def test_throttling_gives_up_after_a_bounded_number_of_attempts(aws, capsys):
    for _ in range(5):
        aws.fail("get_container_services", "ThrottlingException", "Rate exceeded", {"serviceName": SERVICE})
    run = Run(aws, capsys)
    code, _, err = run("status")
    assert code == 6 and "tras 5 intentos" in err
    assert run.sleeps == [1, 2, 4, 8]
    aws.stub.assert_no_pending_responses()


def test_access_denied_points_to_the_iam_policy(aws, capsys):
    aws.fail("get_container_services", "AccessDeniedException", "not authorized", {"serviceName": SERVICE}, 403)
    code, _, err = Run(aws, capsys)("status")
    assert code == 3 and "iam-policy.json" in err


def test_destroy_asks_for_the_service_name_and_cancels_on_a_wrong_answer(aws, capsys):
    aws.service("RUNNING")
    run = Run(aws, capsys, answers=["si"])
    code, out, err = run("destroy")
    assert code == 1 and "Borrado cancelado" in err and "Se va a BORRAR" in out
    assert "DeleteContainerService" not in aws.recorder.operations


def test_destroy_with_the_right_answer_deletes_and_checks_it_is_gone(aws, capsys):
    queue_destroy(aws)
    code, out, err = Run(aws, capsys, answers=[SERVICE])("destroy")
    assert code == 0, err
    assert "ya no existe" in out and "ya no factura" in out
    aws.stub.assert_no_pending_responses()


def test_destroy_of_a_missing_service_lists_what_exists(aws, capsys):
    aws.missing()
    other = service("RUNNING") | {"containerServiceName": "otro-servicio"}
    aws.respond("get_container_services", {"containerServices": [other]}, {})
    code, out, _ = Run(aws, capsys)("destroy", "--yes")
    assert code == 0
    assert "no hay nada que borrar" in out and "Servicios en us-east-1: otro-servicio." in out


def test_an_arm64_image_is_refused_before_logging_in_to_the_registry(aws, docker, capsys):
    docker.platform = "linux/arm64"
    aws.service("READY")
    code, _, err = Run(aws, capsys)("push")
    assert code == 7 and "linux/arm64" in err and "exec format error" in err and "--platform linux/amd64" in err
    assert aws.recorder.operations == ["GetContainerServices"]


def test_missing_docker_is_explained(aws, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # la run_docker real no encuentra «docker»
    aws.service("READY")
    code, _, err = Run(aws, capsys)("push")
    assert code == 7 and "No se encuentra la orden «docker»" in err and "Traceback" not in err
