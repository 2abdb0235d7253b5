"""Etapa 03, imágenes y despliegues (lightsail/releases.py): deploy con una imagen dada, push, la lista de
despliegues y rollback.

Solo AWS y la CLI de Docker se simulan (tests/lightsail_support.py: clientes reales de boto3 con
botocore.stub.Stubber); lo demás es real.
"""


import pytest

from lightsail_support import (
    DIGEST,
    NOW,
    PUSH_TAG,
    REGISTRY,
    SERVICE,
    V1,
    V2,
    V3,
    Run,
    deployment,
    expected_request,
    queue_deployments,
    queue_push,
    queue_rollback,
    service,
)

pytestmark = pytest.mark.usefixtures("lightsail_environment")


def test_deploy_with_an_explicit_image_skips_the_image_lookup(aws, capsys):
    image = f":{SERVICE}.diabetes-api.7"
    aws.respond("create_container_service_deployment",
                {"containerService": service("DEPLOYING", nextDeployment=deployment(4, "ACTIVATING", image))},
                {"serviceName": SERVICE, **expected_request(image)})
    aws.respond("get_container_service_deployments", {"deployments": [deployment(3, "ACTIVE"), deployment(4, "ACTIVE",
                                                                                                        image)]},
                {"serviceName": SERVICE})
    aws.service("RUNNING")
    code, out, err = Run(aws, capsys)("deploy", "--image-ref", image)
    assert code == 0, err
    assert "Despliegue 4 ACTIVO" in out
    aws.stub.assert_no_pending_responses()


def test_push_digest_comes_from_docker_push(aws, docker, capsys):
    queue_push(aws)
    code, out, err = Run(aws, capsys)("push", "--image", "otra:1.0")
    assert code == 0, err
    assert f"Imagen subida: {DIGEST}" in out
    assert docker.commands[2][0] == ["tag", "otra:1.0", PUSH_TAG]


def test_a_failed_docker_push_cleans_up_and_registers_nothing(aws, docker, capsys):
    docker.failing = {"push"}
    aws.service("READY")
    aws.respond("create_container_service_registry_login", {"registryLogin": {
        "username": "AWS", "password": "secreto-temporal", "registry": REGISTRY, "expiresAt": NOW}}, {})
    code, _, err = Run(aws, capsys)("push")
    assert code == 7 and f"Docker falló al subir {PUSH_TAG}" in err and "denied: no autorizado" in err
    assert [args[0] for args, _ in docker.commands[-2:]] == ["image", "logout"]  # limpia aunque falle
    assert "RegisterContainerImage" not in aws.recorder.operations
    aws.stub.assert_no_pending_responses()


def test_deployments_lists_version_state_date_and_images_and_marks_the_active_one(aws, capsys):
    queue_deployments(aws, deployment(3, "FAILED", V3, hour=11), deployment(2, "ACTIVE", V2, hour=10),
                      deployment(1, "INACTIVE", V1, hour=9))
    code, out, err = Run(aws, capsys)("deployments")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[2].split() == ["3", "FAILED", "2026-11-25", "11:00", f"diabetes-api={V3}"]
    assert lines[3].split() == ["*", "2", "ACTIVE", "2026-11-25", "10:00", f"diabetes-api={V2}"]  # * = el activo
    assert lines[4].split() == ["1", "INACTIVE", "2026-11-25", "09:00", f"diabetes-api={V1}"]
    aws.stub.assert_no_pending_responses()


def test_deployments_of_a_service_without_any(aws, capsys):
    queue_deployments(aws)
    code, out, _ = Run(aws, capsys)("deployments")
    assert code == 0 and "aún no tiene despliegues" in out


def test_rollback_redeploys_the_previous_active_deployment(aws, capsys):
    queue_deployments(aws, deployment(3, "ACTIVE", V3), deployment(2, "FAILED", V2), deployment(1, "INACTIVE", V1))
    queue_rollback(aws, V1, new_version=4)  # los contenedores y el punto público de la versión 1, tal cual
    code, out, err = Run(aws, capsys)("rollback")
    assert code == 0, err
    assert "Volviendo al despliegue 1 (ahora está activo el 3)" in out and "Despliegue 4 ACTIVO" in out
    aws.stub.assert_no_pending_responses()


def test_rollback_to_a_given_version(aws, capsys):
    queue_deployments(aws, deployment(3, "ACTIVE", V3), deployment(2, "INACTIVE", V2), deployment(1, "INACTIVE", V1))
    queue_rollback(aws, V1, new_version=4)
    code, _, err = Run(aws, capsys)("rollback", "--version", "1")
    assert code == 0, err
    aws.stub.assert_no_pending_responses()


def test_a_failed_rollback_shows_the_logs_and_exits_nonzero(aws, capsys):
    queue_deployments(aws, deployment(2, "ACTIVE", V2), deployment(1, "INACTIVE", V1))
    queue_rollback(aws, V1, new_version=3, final_state="FAILED")
    aws.respond("get_container_log", {"logEvents": [{"createdAt": NOW, "message": "Traceback: ModelError"}]},
                {"serviceName": SERVICE, "containerName": "diabetes-api"})
    code, out, err = Run(aws, capsys)("rollback")
    assert code == 1 and "Traceback: ModelError" in out and "terminó en FAILED" in err
    aws.stub.assert_no_pending_responses()


@pytest.mark.parametrize(("deployments", "argv", "code", "fragment"), [
    ([deployment(1, "ACTIVE")], [], 4, "No hay un despliegue anterior al que volver: «taller-diabetes» solo tiene "
                                       "el activo (versión 1)."),
    ([], [], 4, "No hay un despliegue anterior al que volver: «taller-diabetes» no tiene ninguno activo."),
    ([deployment(2, "ACTIVE"), deployment(1, "FAILED")], [], 4, "No hay un despliegue anterior"),
    ([deployment(1, "ACTIVE")], ["--version", "7"], 4, "no tiene el despliegue 7"),
    ([deployment(2, "ACTIVE"), deployment(1, "FAILED")], ["--version", "1"], 2, "El despliegue 1 está en FAILED"),
])
def test_rollback_without_a_deployment_to_go_back_to(aws, capsys, deployments, argv, code, fragment):
    queue_deployments(aws, *deployments)
    result, _, err = Run(aws, capsys)("rollback", *argv)
    assert result == code and fragment in err and "Traceback" not in err
    assert "CreateContainerServiceDeployment" not in aws.recorder.operations
    aws.stub.assert_no_pending_responses()


def test_rollback_to_the_active_deployment_changes_nothing(aws, capsys):
    queue_deployments(aws, deployment(2, "ACTIVE"), deployment(1, "INACTIVE"))
    code, out, _ = Run(aws, capsys)("rollback", "--version", "2")
    assert code == 0 and "ya es el activo" in out
    assert aws.recorder.operations == ["GetContainerServiceDeployments"]
