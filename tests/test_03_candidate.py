"""Etapa 03: desplegar con una versión candidata (`deploy.py deploy --candidate v-… --weight 0,05`).

En Lightsail, cambiar la parte del tráfico de la candidata es un despliegue nuevo: la misma imagen (que lleva
la versión publicada y la candidata) con CANDIDATE_VERSION y CANDIDATE_WEIGHT en el entorno del contenedor.
AWS simulado con botocore.stub.Stubber y el modelo real de la API de Lightsail (tests/lightsail_support.py).
"""

import pytest

from lightsail_support import IMAGE, NOW, SERVICE, Run, deployment, expected_request, service

pytestmark = pytest.mark.usefixtures("lightsail_environment")

CANDIDATE = "v-0123456789ab"


def test_deploy_with_a_candidate_sends_both_versions_and_a_bad_weight_is_a_spanish_usage_error(aws, capsys,
                                                                                              monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    request = expected_request()
    request["containers"]["diabetes-api"]["environment"].update(
        {"CANDIDATE_VERSION": CANDIDATE, "CANDIDATE_WEIGHT": "0.05"})
    aws.respond("get_container_images", {"containerImages": [{"image": IMAGE, "digest": "sha256:" + "ab" * 32,
                                                              "createdAt": NOW}]}, {"serviceName": SERVICE})
    aws.respond("create_container_service_deployment",
                {"containerService": service("DEPLOYING", nextDeployment=deployment(2, "ACTIVATING"))},
                {"serviceName": SERVICE, **request})  # Stubber: exactamente estos parámetros
    aws.respond("get_container_service_deployments", {"deployments": [deployment(2, "ACTIVE")]},
                {"serviceName": SERVICE})
    aws.service("RUNNING")
    code, out, err = Run(aws, capsys)("deploy", "--candidate", CANDIDATE, "--weight", "0,05")
    assert code == 0, err
    aws.stub.assert_no_pending_responses()
    sent = dict(aws.recorder.params)["CreateContainerServiceDeployment"]["containers"]
    assert list(sent) == ["diabetes-api"]  # un contenedor, una imagen: la publicada (live.json) y la candidata
    assert sent["diabetes-api"]["image"] == IMAGE
    environment = sent["diabetes-api"]["environment"]
    assert (environment["CANDIDATE_VERSION"], environment["CANDIDATE_WEIGHT"]) == (CANDIDATE, "0.05")
    assert f"Versión candidata {CANDIDATE}: responde el 5,0 % de las peticiones" in out
    calls = len(aws.recorder.operations)
    for argv in (["--weight", "1,5"], ["--weight", "-0.1"], ["--weight", "cinco"], ["--candidate", "../v1"]):
        argv = ["--candidate", CANDIDATE, *argv] if argv[0] == "--weight" else [*argv, "--weight", "0.05"]
        code, out, err = Run(aws, capsys)("deploy", *argv)
        assert code == 2 and "Configuración no válida" in err and "Traceback" not in err, (argv, err)
        bad_weight = argv[1] == CANDIDATE
        assert ("--weight" in err and "debe ser un número entre 0 y 1" in err) == bad_weight, err
        assert ("no es un nombre de versión" in err) != bad_weight, err
    code, _, err = Run(aws, capsys)("deploy", "--weight", "0.05")
    assert code == 2 and "--weight necesita --candidate" in err
    assert len(aws.recorder.operations) == calls  # ningún error de uso llega a AWS
