"""Ayudas de las pruebas de la etapa 03 (deploy.py en el mismo proceso): AWS simulado con
botocore.stub.Stubber, un Docker falso y escenarios en cola. Las usan tests/test_03_*.py; sus fixtures
(`lightsail_environment`, `aws`, `docker`) están en tests/conftest.py.

Cada respuesta en cola lleva expected_params: si el script envía otro parámetro, la prueba falla; y Recorder
comprueba en cada llamada lo que Stubber no mira (enumeraciones, máximos y patrones del modelo real).
"""

import copy
import json
import re
import subprocess
from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from lightsail import cli, config
from support import HEALTH_PATH, SHARED

# ----------------------------------- ayudas: AWS simulado con Stubber, un Docker falso y escenarios

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
KEY = "clave-de-prueba-" + "k" * 27  # la que ya está en el fichero de la clave (cada prueba tiene el suyo)


def without_credentials(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


class Recorder:
    """Anota cada operación que el código intenta llamar (antes de que el Stubber responda o falle) y lo que
    Stubber no comprueba de sus parámetros: enumeraciones, máximos y patrones del modelo real de la API."""

    def __init__(self, client):
        self.operations, self.problems, self.params = [], [], []
        client.meta.events.register("provide-client-params.lightsail.*", self.record)

    def record(self, model, params, **_):
        self.operations.append(model.name)
        self.params.append((model.name, copy.deepcopy(params)))
        self.problems += beyond_stubber(model.input_shape, params, model.name)


def beyond_stubber(shape, value, path):
    """Los parámetros que incumplen una enumeración, un máximo o un patrón del modelo (recorre todo el árbol)."""
    if shape.type_name == "structure":
        return [p for name, v in value.items() for p in beyond_stubber(shape.members[name], v, f"{path}.{name}")]
    if shape.type_name == "map":
        return [p for k, v in value.items() for p in beyond_stubber(shape.key, k, f"{path}[{k!r}]")
                + beyond_stubber(shape.value, v, f"{path}[{k!r}]")]
    if shape.type_name == "list":
        return [p for i, v in enumerate(value) for p in beyond_stubber(shape.member, v, f"{path}[{i}]")]
    meta, size = shape.metadata, len(value) if isinstance(value, str) else value
    pattern = meta.get("pattern", "").removeprefix("^").removesuffix("$")
    return [f"{path}={value!r}" for broken in (
        "enum" in meta and value not in meta["enum"],
        "max" in meta and isinstance(size, int) and size > meta["max"],
        pattern and isinstance(value, str) and not re.fullmatch(f"(?:{pattern})", value)) if broken]


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


def expected_request(image=IMAGE, api_key=KEY, rate_limit="1200/minute"):
    """La petición de despliegue que debe salir de deployment.json, workshop.env y el fichero de la clave
    (escrita a mano); api_key=None: sin clave (--public)."""
    port = SHARED["PORT"]
    environment = {"PORT": port, "LOG_LEVEL": "INFO", **({} if api_key is None else {"API_KEY": api_key}),
                   "RATE_LIMIT": rate_limit, "PROXY_HOPS": "1", "RATE_LIMIT_STORAGE": "memory://",
                   "MAX_LAG_MS": "15", "GUNICORN_WORKER_CONNECTIONS": "2048", "CORS_ORIGINS": "",
                   "EXPOSE_CACHE_HEADER": "0"}  # sin X-Cache en una URL pública
    return {
        "containers": {"diabetes-api": {"image": image, "environment": environment, "ports": {port: "HTTP"}}},
        "publicEndpoint": {"containerName": "diabetes-api", "containerPort": int(port), "healthCheck": {
            "path": HEALTH_PATH, "intervalSeconds": 10, "timeoutSeconds": 5, "healthyThreshold": 2,
            "unhealthyThreshold": 3, "successCodes": "200"}},
    }


def service(state="READY", power="nano", scale=1, url="https://example.invalid/", **fields):
    """Un ContainerService con la forma de la respuesta de Lightsail."""
    return {"containerServiceName": SERVICE, "state": state, "power": power, "scale": scale, "url": url,
            "createdAt": NOW, "location": {"regionName": REGION}, "resourceType": "ContainerService", **fields}


def deployment(version, state, image=IMAGE, hour=12, api_key=KEY):
    """Un ContainerServiceDeployment: lo que Lightsail guarda de cada despliegue (contenedores y punto público,
    con el entorno tal cual: también la clave)."""
    return {"version": version, "state": state, "createdAt": NOW.replace(hour=hour),
            **expected_request(image, api_key)}


def queue_deployments(aws, *deployments):
    aws.respond("get_container_service_deployments", {"deployments": list(deployments)}, {"serviceName": SERVICE})


def queue_rollback(aws, image, new_version, final_state="ACTIVE", api_key=KEY):
    """Lo que sigue a elegir el despliegue: el nuevo, con sus contenedores y su punto público, y la espera."""
    aws.respond("create_container_service_deployment",
                {"containerService": service("DEPLOYING", nextDeployment=deployment(new_version, "ACTIVATING", image))},
                {"serviceName": SERVICE, **expected_request(image, api_key)})
    queue_deployments(aws, deployment(new_version, "ACTIVATING", image))
    queue_deployments(aws, deployment(new_version, final_state, image))
    if final_state == "ACTIVE":
        aws.service("RUNNING")


class FakeDocker:
    """Sustituye a releases.run_docker: anota las órdenes y responde como la CLI real."""

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


class Run:
    """Ejecuta cli.main (lo que hace deploy.py) con el cliente simulado; sleep anota las esperas en vez de esperar."""

    def __init__(self, aws, capsys, answers=(), client=None):
        self.client = aws.client if aws else client  # None: deploy.py crea el cliente real (credenciales)
        self.capsys, self.sleeps, self.answers = capsys, [], list(answers)

    def __call__(self, *argv):
        code = cli.main(list(argv), client=self.client, sleep=self.sleeps.append,
                           now=lambda: NOW, ask=lambda prompt: self.answers.pop(0))
        out, err = self.capsys.readouterr()
        return code, out, err


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


def queue_deploy(aws, final_state="ACTIVE", url="https://example.invalid/", api_key=KEY, images=True):
    """api_key: la clave que debe llevar la petición (ANY: cualquiera; None: sin clave)."""
    shown = api_key if isinstance(api_key, str) or api_key is None else "otra"  # la respuesta no admite ANY
    if images:
        aws.respond("get_container_images", {"containerImages": [
            {"image": f":{SERVICE}.diabetes-api.0", "digest": "sha256:" + "cd" * 32, "createdAt": NOW.replace(hour=9)},
            {"image": IMAGE, "digest": DIGEST, "createdAt": NOW}]}, {"serviceName": SERVICE})
    aws.respond("create_container_service_deployment",
                {"containerService": service("DEPLOYING", nextDeployment=deployment(1, "ACTIVATING", api_key=shown))},
                {"serviceName": SERVICE, **expected_request(api_key=api_key)})
    aws.respond("get_container_service_deployments", {"deployments": [deployment(1, "ACTIVATING", api_key=shown)]},
                {"serviceName": SERVICE})
    aws.respond("get_container_service_deployments", {"deployments": [deployment(1, final_state, api_key=shown)]},
                {"serviceName": SERVICE})
    if final_state == "ACTIVE":
        aws.service("RUNNING", url=url)
    else:
        aws.respond("get_container_log", {"logEvents": [
            {"createdAt": NOW, "message": f"línea {n}"} for n in range(1, 41)] + [
            {"createdAt": NOW, "message": "exec /usr/local/bin/gunicorn: exec format error"},
            {"createdAt": NOW, "message": f"API_KEY={shown}"}]},  # una app que escribiera la clave: sale ****
            {"serviceName": SERVICE, "containerName": "diabetes-api"})


def queue_destroy(aws):
    aws.service("RUNNING")
    aws.respond("delete_container_service", {}, {"serviceName": SERVICE})
    aws.service("DELETING")
    aws.missing()


# ------------------------------------------------------------------------------------ ciclo de vida

LOCAL_IMAGE = "diabetes-api:latest"
PUSH_TAG = f"{REGISTRY}/sr:diabetes-api-20261125120000"



# ------------------------------------------------------ validación antes de llamar y errores de AWS

def assert_rejected_before_any_call(aws, result, *fragments):
    code, out, err = result
    assert code == 2, (out, err)
    assert "Configuración no válida" in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    assert aws.recorder.operations == []  # ni una llamada (y el Stubber no tenía respuestas en cola)
    aws.stub.assert_no_pending_responses()


def write_config(tmp_path, change):
    raw = json.loads(config.DEPLOYMENT_FILE.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return str(path)


# Las imágenes de tres versiones registradas.
V1, V2, V3 = (f":{SERVICE}.diabetes-api.{n}" for n in (1, 2, 3))
