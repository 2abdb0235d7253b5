"""Ayudas de las pruebas de la etapa 03 (sin pruebas propias): clientes reales de boto3 con Stubber,
respuestas de Lightsail con la forma del modelo, un Docker falso y los escenarios del ciclo de vida.

Solo AWS y la CLI de Docker se simulan; la prueba de humo habla HTTP con la API real en 127.0.0.1.
Las fixtures se importan en cada módulo de prueba con su nombre de función (aws_fixture, …); pytest las
registra con su nombre corto (aws, docker).
"""

import subprocess
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

import deploy
from lightsail import docker_cli
from support import HEALTH_PATH, SHARED

SERVICE = "taller-diabetes"
REGION = "us-east-1"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DIGEST = "sha256:" + "ab" * 32
IMAGE = f":{SERVICE}.diabetes-api.1"
POWERS = [  # la forma de GetContainerServicePowers, con precios distintos de la tabla documentada
    {"powerId": f"{name}-1", "name": name, "price": price, "cpuCount": cpu, "ramSizeInGb": ram, "isActive": True}
    for name, price, cpu, ram in [("nano", 7.5, 0.25, 0.5), ("micro", 10.5, 0.25, 1.0), ("small", 15.5, 0.5, 1.0),
                                  ("medium", 40.5, 1.0, 2.0), ("large", 80.5, 2.0, 4.0), ("xlarge", 160.5, 4.0, 8.0)]
]


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """Credenciales falsas, sin ficheros de ~/.aws, sin metadatos de EC2 (nada de red) y sin LIGHTSAIL_*."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "LIGHTSAIL_REGION", "LIGHTSAIL_SERVICE", "LIGHTSAIL_POWER", "LIGHTSAIL_SCALE", "IMAGE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def without_credentials(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


class Recorder:
    """Anota cada operación que el código intenta llamar (antes de que el Stubber responda o falle)."""

    def __init__(self, client):
        self.operations = []
        client.meta.events.register("provide-client-params.lightsail.*", self.record)

    def record(self, model, **_):
        self.operations.append(model.name)


class Aws:
    """Un cliente real de Lightsail (credenciales falsas) con Stubber activo y registro de llamadas."""

    def __init__(self):
        self.client = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION).client("lightsail")
        self.stub = Stubber(self.client)
        self.recorder = Recorder(self.client)
        self.stub.activate()

    def respond(self, method, response, params):
        self.stub.add_response(method, response, params)

    def fail(self, method, code, message, params, status=400):
        self.stub.add_client_error(method, code, message, http_status_code=status, expected_params=params)

    # Respuestas habituales, con los parámetros exactos que debe enviar el script.
    def service(self, state="READY", **fields):
        self.respond("get_container_services", {"containerServices": [service(state, **fields)]},
                     {"serviceName": SERVICE})

    def missing(self):
        self.fail("get_container_services", "NotFoundException", "No container service found", {"serviceName": SERVICE})

    def powers(self):
        self.respond("get_container_service_powers", {"powers": POWERS}, {})


def expected_request(image=IMAGE):
    """La petición de despliegue que debe salir de deployment.json y workshop.env (escrita a mano)."""
    port = SHARED["PORT"]
    return {
        "containers": {"diabetes-api": {"image": image, "environment": {"PORT": port, "LOG_LEVEL": "INFO"},
                                        "ports": {port: "HTTP"}}},
        "publicEndpoint": {"containerName": "diabetes-api", "containerPort": int(port), "healthCheck": {
            "path": HEALTH_PATH, "intervalSeconds": 10, "timeoutSeconds": 5, "healthyThreshold": 2,
            "unhealthyThreshold": 3, "successCodes": "200"}},
    }


def service(state="READY", power="nano", scale=1, url="https://example.invalid/", **fields):
    """Un ContainerService con la forma de la respuesta de Lightsail."""
    return {"containerServiceName": SERVICE, "state": state, "power": power, "scale": scale, "url": url,
            "createdAt": NOW, "location": {"regionName": REGION}, "resourceType": "ContainerService", **fields}


def deployment(version, state, image=IMAGE):
    return {"version": version, "state": state, "createdAt": NOW, "containers": {"diabetes-api": {"image": image}}}


class FakeDocker:
    """Sustituye a docker_cli.run_docker: anota las órdenes y responde como la CLI real."""

    def __init__(self, platform="linux/amd64"):
        self.commands = []
        self.platform = platform
        self.failing = set()  # órdenes (push, login…) que deben fallar

    def __call__(self, args, input_text=None):
        self.commands.append((list(args), input_text))
        if args[0] in self.failing:
            return subprocess.CompletedProcess(["docker", *args], 1, "", "denied: no autorizado\n")
        stdout = {"image": f"{self.platform}\n", "push": f"sr: digest: {DIGEST} size: 2204\n"}.get(args[0], "")
        if args[:2] == ["image", "rm"]:
            stdout = "Untagged\n"
        return subprocess.CompletedProcess(["docker", *args], 0, stdout, "")


@pytest.fixture(name="aws")
def aws_fixture():
    fake = Aws()
    yield fake
    fake.stub.deactivate()


@pytest.fixture(name="docker")
def docker_fixture(monkeypatch):
    fake = FakeDocker()
    monkeypatch.setattr(docker_cli, "run_docker", fake)
    return fake


class Run:
    """Ejecuta deploy.main con el cliente simulado; sleep anota las esperas en vez de esperar."""

    def __init__(self, aws, capsys, answers=(), client=None):
        self.client = aws.client if aws else client  # None: deploy.py crea el cliente real (credenciales)
        self.capsys, self.sleeps, self.answers = capsys, [], list(answers)

    def __call__(self, *argv):
        code = deploy.main(list(argv), client=self.client, sleep=self.sleeps.append,
                           now=lambda: NOW, ask=lambda prompt: self.answers.pop(0))
        out, err = self.capsys.readouterr()
        return code, out, err


# ------------------------------------------------------------------ escenarios (respuestas en cola)

def queue_create(aws, power="nano", scale=1):
    aws.missing()
    aws.powers()
    aws.respond("create_container_service", {"containerService": service("PENDING", power, scale)},
                {"serviceName": SERVICE, "power": power, "scale": scale})
    aws.service("PENDING", power=power, scale=scale, stateDetail={"code": "CREATING_SYSTEM_RESOURCES"})
    aws.service("READY", power=power, scale=scale)


def queue_push(aws):
    aws.service("READY")
    aws.respond("create_container_service_registry_login", {"registryLogin": {
        "username": "AWS", "password": "secreto-temporal", "registry": REGISTRY, "expiresAt": NOW}}, {})
    aws.respond("register_container_image", {"containerImage": {"image": IMAGE, "digest": DIGEST, "createdAt": NOW}},
                {"serviceName": SERVICE, "label": "diabetes-api", "digest": DIGEST})


def queue_deploy(aws, final_state="ACTIVE", url="https://example.invalid/"):
    aws.respond("get_container_images", {"containerImages": [
        {"image": f":{SERVICE}.diabetes-api.0", "digest": "sha256:" + "cd" * 32, "createdAt": NOW.replace(hour=9)},
        {"image": IMAGE, "digest": DIGEST, "createdAt": NOW}]}, {"serviceName": SERVICE})
    aws.respond("create_container_service_deployment",
                {"containerService": service("DEPLOYING", nextDeployment=deployment(1, "ACTIVATING"))},
                {"serviceName": SERVICE, **expected_request()})
    aws.respond("get_container_service_deployments", {"deployments": [deployment(1, "ACTIVATING")]},
                {"serviceName": SERVICE})
    aws.respond("get_container_service_deployments", {"deployments": [deployment(1, final_state)]},
                {"serviceName": SERVICE})
    if final_state == "ACTIVE":
        aws.service("RUNNING", url=url)
    else:
        aws.respond("get_container_log", {"logEvents": [
            {"createdAt": NOW, "message": f"línea {n}"} for n in range(1, 41)] + [
            {"createdAt": NOW, "message": "exec /usr/local/bin/gunicorn: exec format error"}]},
            {"serviceName": SERVICE, "containerName": "diabetes-api"})


def queue_destroy(aws):
    aws.service("RUNNING")
    aws.respond("delete_container_service", {}, {"serviceName": SERVICE})
    aws.service("DELETING")
    aws.missing()
