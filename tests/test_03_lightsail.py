"""Etapa 03, deploy.py en el mismo proceso: clientes reales de boto3 con botocore.stub.Stubber, sin cuenta ni
red de AWS.

Cada respuesta en cola lleva expected_params: si el script envía otro parámetro, la prueba falla; y Recorder
comprueba en cada llamada lo que Stubber no mira (enumeraciones, máximos y patrones del modelo real). Solo AWS
y la CLI de Docker se simulan: la prueba de humo habla HTTP con la API real (gunicorn) en 127.0.0.1, y los
reintentos de botocore se prueban contra un «Lightsail» falso, también en 127.0.0.1.
"""

import copy
import json
import os
import re
import stat
import subprocess
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import boto3
import pytest
from botocore.retries.standard import ExponentialBackoff
from botocore.stub import ANY, Stubber

from lightsail import aws, cli, config, keys, releases
from support import HEALTH_PATH, ROOT, SHARED, free_port, have, need, running_gunicorn

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


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """Credenciales falsas, sin ficheros de ~/.aws, sin metadatos de EC2 (nada de red) y sin LIGHTSAIL_*."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "LIGHTSAIL_REGION", "LIGHTSAIL_SERVICE", "LIGHTSAIL_POWER", "LIGHTSAIL_SCALE", "IMAGE",
                 "LIGHTSAIL_RATE_LIMIT", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    # La clave de cada prueba en su carpeta temporal (nunca 03_lightsail/.api-key), ya creada con KEY.
    monkeypatch.setenv(keys.KEY_FILE_ENV, str(tmp_path / "api-key"))
    keys.save({"current": KEY, "previous": None})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


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


@pytest.fixture(name="aws")
def aws_fixture():
    fake = Aws()
    yield fake
    fake.stub.deactivate()
    assert fake.recorder.problems == []  # cada llamada enviada cumple también lo que Stubber no mira


@pytest.fixture(name="docker")
def docker_fixture(monkeypatch):
    fake = FakeDocker()
    monkeypatch.setattr(releases, "run_docker", fake)
    return fake


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


@pytest.fixture(scope="module")
def api_url(model_dir, tmp_path_factory):
    """La API real servida por gunicorn en 127.0.0.1 (hace de «URL pública» del servicio)."""
    folder = tmp_path_factory.mktemp("lightsail-smoke")
    # model_dir: la versión publicada en MODEL_DIR (se entrena si falta), la que sirve gunicorn.
    with running_gunicorn(folder, env={"PIDFILE": str(folder / "gunicorn.pid")}) as (base_url, _process):
        yield base_url


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


V1, V2, V3 = (f":{SERVICE}.diabetes-api.{n}" for n in (1, 2, 3))


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



# ------------------------------------------------------ validación antes de llamar y errores de AWS

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


def write_config(tmp_path, change):
    raw = json.loads(config.DEPLOYMENT_FILE.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
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
     ["timeoutSeconds debe ser un entero entre 2 y 60", "healthCheck.healthyThreshold debe ser un entero entre 2 y 10",
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
    (lambda raw: raw.update(imageLabel="v1.0"), ["imageLabel «v1.0» no es válido"]),
    (lambda raw: raw.update(containers={}), ["containers debe tener al menos un contenedor"]),
])
def test_deployment_config_is_checked_before_any_call(aws, capsys, tmp_path, change, fragments):
    path = write_config(tmp_path, change)
    assert_rejected_before_any_call(aws, Run(aws, capsys)("deploy", "--config", path), *fragments)


def test_unknown_placeholder_and_broken_json_are_explained(aws, capsys, tmp_path):
    path = write_config(tmp_path, lambda c: c["containers"]["diabetes-api"]["environment"].update(X="${PUERTO}"))
    code, _, err = Run(aws, capsys)("deploy", "--config", path)
    assert code == 2 and "Marcador desconocido en «${PUERTO}»" in err and "Se admiten: ${IMAGE}, ${PORT}" in err
    path = write_config(tmp_path, lambda c: c["containers"]["diabetes-api"]["environment"].update(X="5 $"))
    code, _, err = Run(aws, capsys)("deploy", "--config", path)
    assert code == 2 and "tiene un «$» que no es un marcador" in err and "«$$»" in err
    broken = tmp_path / "roto.json"
    broken.write_text("{", encoding="utf-8")
    code, _, err = Run(aws, capsys)("push", "--config", str(broken))
    assert code == 2 and "no es JSON válido" in err
    assert aws.recorder.operations == []


def test_port_and_health_path_come_from_workshop_env():
    raw = config.DEPLOYMENT_FILE.read_text(encoding="utf-8")
    assert SHARED["PORT"] not in raw and HEALTH_PATH not in raw  # una sola definición: workshop.env
    deployment = config.load_deployment()
    assert deployment.endpoint["containerPort"] == int(SHARED["PORT"])
    assert deployment.endpoint["healthCheck"]["path"] == HEALTH_PATH
    assert deployment.containers["diabetes-api"]["ports"] == {SHARED["PORT"]: "HTTP"}


def test_keys_starting_with_an_underscore_are_comments(tmp_path):
    path = write_config(tmp_path, lambda raw: raw["containers"]["diabetes-api"].update(_nota="no se envía"))
    assert "_nota" not in config.load_deployment(path).containers["diabetes-api"]


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


@pytest.fixture()
def lightsail_endpoint(monkeypatch):
    """Un «Lightsail» en 127.0.0.1 (protocolo JSON de AWS) que responde lo que la prueba pone en cola.

    Sirve para probar los reintentos de botocore, que Stubber se salta. La espera aleatoria de botocore
    se anota y se pone a 0 para no alargar la prueba.
    """
    fake = SimpleNamespace(replies=[], operations=[], delays=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            fake.operations.append(self.headers["X-Amz-Target"].rsplit(".", 1)[-1])
            status, body = fake.replies.pop(0)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_):
            pass

    original = ExponentialBackoff.delay_amount
    monkeypatch.setattr(ExponentialBackoff, "delay_amount",
                        lambda backoff, context: fake.delays.append(original(backoff, context)) or 0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LIGHTSAIL", f"http://127.0.0.1:{server.server_port}")
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


THROTTLED = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
RUNNING = (200, {"containerServices": [{"containerServiceName": SERVICE, "state": "RUNNING", "power": "nano",
                                        "scale": 1, "url": "https://x.invalid/"}]})


def test_throttling_is_retried_by_botocore(lightsail_endpoint, capsys):
    lightsail_endpoint.replies += [THROTTLED, THROTTLED, RUNNING]
    code, out, err = Run(None, capsys)("url")
    assert code == 0, err
    assert out == "https://x.invalid/\n"
    assert lightsail_endpoint.operations == ["GetContainerServices"] * 3
    assert len(lightsail_endpoint.delays) == 2  # una espera antes de cada reintento


def test_throttling_gives_up_after_five_attempts(lightsail_endpoint, capsys):
    lightsail_endpoint.replies += [THROTTLED] * 6
    code, _, err = Run(None, capsys)("status")
    assert code == 6 and "AWS sigue limitando las llamadas a GetContainerServices tras 5 intentos" in err
    assert lightsail_endpoint.operations == ["GetContainerServices"] * 5
    assert "Traceback" not in err


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



# ------------------------------------------------------- la clave de la API: fichero, rotación, **** y smoke

class FakeApi:
    """La API en 127.0.0.1 con lo justo para la prueba de humo: salud y vista pública abiertas, /v1/predict
    con `Authorization: Bearer <clave>` si `key` (401 si falta). Anota la cabecera Authorization de cada POST."""

    CARD = {"name": "diabetes", "version": "v-prueba", "classes": [{"value": 0, "label": "sin diabetes"}],
            "features": [{"name": "glucose", "type": "integer", "min": 40, "max": 200},
                         {"name": "bmi", "type": "number", "min": 15.0, "max": 60.0}]}

    def __init__(self, key):
        self.key, self.authorizations = key, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.reply(200, {"status": "ok"} if self.path == HEALTH_PATH else fake.CARD)

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                fake.authorizations.append(self.headers.get("Authorization"))
                if fake.key and self.headers.get("Authorization") != f"Bearer {fake.key}":
                    return self.reply(401, {"error": "unauthorized"})
                self.reply(200, {"prediction": 1, "probability": 0.75, "label": "con diabetes",
                                 "model_version": "v-prueba"})

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def sent_api_key(aws):
    """El API_KEY de la última CreateContainerServiceDeployment enviada (None si no llevaba)."""
    params = [p for name, p in aws.recorder.params if name == "CreateContainerServiceDeployment"][-1]
    return params["containers"]["diabetes-api"]["environment"].get("API_KEY")


def key_state():
    return json.loads(keys.key_file().read_text(encoding="utf-8"))


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_first_deploy_creates_the_key_file_with_mode_0600_and_deploys_with_that_key(aws, capsys):
    keys.key_file().unlink()
    queue_deploy(aws, api_key=ANY, images=False)
    code, out, err = Run(aws, capsys)("deploy", "--image-ref", IMAGE)
    assert code == 0, err
    state = key_state()
    assert mode(keys.key_file()) == 0o600 and state["previous"] is None
    assert len(state["current"]) >= 43 and sent_api_key(aws) == state["current"]  # secrets.token_urlsafe(32)
    assert f"Clave de la API nueva, guardada en {keys.shown_path()} (permisos 0600" in out and "deploy.py key" in out
    assert ("API_KEY=****, RATE_LIMIT=1200/minute, PROXY_HOPS=1, RATE_LIMIT_STORAGE=memory://, MAX_LAG_MS=15, "
            "GUNICORN_WORKER_CONNECTIONS=2048, CORS_ORIGINS=, EXPOSE_CACHE_HEADER=0") in out
    assert state["current"] not in out + err
    aws.stub.assert_no_pending_responses()


def test_the_key_never_appears_in_the_output_and_only_deploy_py_key_prints_it(aws, capsys):
    run, outputs = Run(aws, capsys), []
    outputs.append(run("plan", "--offline"))
    queue_deploy(aws)
    outputs.append(run("deploy"))
    queue_deploy(aws, final_state="FAILED", images=False)  # el registro del contenedor escribe la clave
    outputs.append(run("deploy", "--image-ref", IMAGE))
    queue_deployments(aws, deployment(2, "ACTIVE", V2), deployment(1, "INACTIVE", V1))
    outputs.append(run("deployments"))
    queue_deployments(aws, deployment(2, "ACTIVE", V2), deployment(1, "INACTIVE", V1))
    queue_rollback(aws, V1, new_version=3)
    outputs.append(run("rollback"))
    aws.respond("get_container_log", {"logEvents": [{"createdAt": NOW, "message": f"Bearer {KEY}"}]},
                {"serviceName": SERVICE, "containerName": "diabetes-api"})
    outputs.append(run("logs"))
    with FakeApi(KEY) as api:
        aws.service("RUNNING", url=api.url, currentDeployment=deployment(3, "ACTIVE"))
        outputs.append(run("smoke"))
    assert [code for code, _, _ in outputs] == [0, 0, 1, 0, 0, 0, 0], outputs
    for _, out, err in outputs:
        assert KEY not in out + err, out + err
    assert all("API_KEY=****" in out for _, out, _ in [outputs[i] for i in (0, 1, 4)])
    assert "Bearer ****" in outputs[5][1] and "Bearer ****" in outputs[6][1]
    assert run("key") == (0, KEY + "\n", "")  # la única salida con la clave, y nada más
    aws.stub.assert_no_pending_responses()


def test_deploy_py_key_without_a_key_file_says_how_to_get_one(capsys):
    keys.key_file().unlink()
    code, out, err = Run(None, capsys)("key")
    assert code == 4 and out == "" and "Aún no hay clave" in err and "deploy.py deploy" in err


def test_rotate_key_deploys_new_and_old_and_the_next_deploy_only_the_new_one(aws, capsys):
    run = Run(aws, capsys)
    queue_deploy(aws, api_key=ANY, images=False)
    code, out, err = run("rotate-key", "--image-ref", IMAGE)
    assert code == 0, err
    state = key_state()
    new = state["current"]
    assert new != KEY and state["previous"] == KEY and mode(keys.key_file()) == 0o600
    assert sent_api_key(aws) == f"{new},{KEY}"  # la API acepta las dos mientras los clientes cambian
    assert "acepta la nueva y la anterior" in out and new not in out + err and KEY not in out + err

    queue_deploy(aws, api_key=new, images=False)  # el siguiente deploy: solo la nueva (parámetros exactos)
    code, out, err = run("deploy", "--image-ref", IMAGE)
    assert code == 0, err
    assert "La clave anterior a `rotate-key` deja de valer" in out
    assert key_state()["current"] == new and key_state()["previous"] is None
    assert new not in out + err and KEY not in out + err
    aws.stub.assert_no_pending_responses()


def test_a_failed_rotation_leaves_the_old_key_in_the_file(aws, capsys):
    queue_deploy(aws, api_key=ANY, final_state="FAILED", images=False)
    code, out, err = Run(aws, capsys)("rotate-key", "--image-ref", IMAGE)
    assert code == 1 and "La rotación no se aplicó" in err
    assert key_state()["current"] == KEY and key_state()["previous"] is None  # sigue valiendo la de antes
    assert KEY not in out + err


def test_public_deploy_has_no_key_and_says_what_that_means(aws, capsys):
    queue_deploy(aws, api_key=None, images=False)
    code, out, err = Run(aws, capsys)("deploy", "--image-ref", IMAGE, "--public")
    assert code == 0, err
    assert sent_api_key(aws) is None
    assert ("Despliegue público (--public): la API no pide clave, así que cualquiera que conozca la URL puede "
            "usarla y solo la frena el límite de peticiones (RATE_LIMIT=1200/minute).") in out
    assert key_state()["current"] == KEY  # el fichero no cambia
    aws.stub.assert_no_pending_responses()


@pytest.mark.parametrize(("line", "sent"), [("0", "0"), (None, "0"), ("1", "1")])
def test_no_deployment_shows_x_cache_unless_deployment_json_asks_for_it(aws, capsys, tmp_path, line, sent):
    """Con clave o --public, el contenedor lleva EXPOSE_CACHE_HEADER=0 (sin la línea, también): en una URL
    pública un «X-Cache: HIT» le diría a un cliente que otro ya envió esos datos."""
    def change(raw):
        environment = raw["containers"]["diabetes-api"]["environment"]
        environment.pop("EXPOSE_CACHE_HEADER", None)
        if line is not None:
            environment["EXPOSE_CACHE_HEADER"] = line
    request = expected_request(api_key=None)
    request["containers"]["diabetes-api"]["environment"]["EXPOSE_CACHE_HEADER"] = sent
    aws.respond("create_container_service_deployment", {"containerService": service("DEPLOYING", nextDeployment=
                deployment(1, "ACTIVATING"))}, {"serviceName": SERVICE, **request})
    queue_deployments(aws, deployment(1, "ACTIVE"))
    aws.service("RUNNING")
    path = write_config(tmp_path, change)
    code, _, err = Run(aws, capsys)("deploy", "--image-ref", IMAGE, "--public", "--config", path)
    assert code == 0, err
    aws.stub.assert_no_pending_responses()


def test_the_rate_limit_comes_from_the_option_or_the_environment(aws, capsys, monkeypatch):
    aws.respond("create_container_service_deployment", {"containerService": service("DEPLOYING", nextDeployment=
                deployment(1, "ACTIVATING"))}, {"serviceName": SERVICE, **expected_request(rate_limit="600/minute")})
    queue_deployments(aws, deployment(1, "ACTIVE"))
    aws.service("RUNNING")
    code, _, err = Run(aws, capsys)("deploy", "--image-ref", IMAGE, "--rate-limit", "600/minute")
    assert code == 0, err
    monkeypatch.setenv("LIGHTSAIL_RATE_LIMIT", "mil por minuto")
    code, _, err = Run(aws, capsys)("deploy", "--image-ref", IMAGE)
    assert code == 2 and "El límite de peticiones «mil por minuto» no es válido" in err
    aws.stub.assert_no_pending_responses()


def test_plan_shows_the_key_as_asterisks_and_public_plan_without_it(aws, capsys):
    code, out, err = Run(aws, capsys)("plan", "--offline")
    assert code == 0, err
    assert '"API_KEY": "****"' in out and "API_KEY=****" in out and KEY not in out + err
    assert "Authorization: Bearer ****" in out
    code, out, err = Run(aws, capsys)("plan", "--offline", "--public")
    assert code == 0, err
    assert '"API_KEY"' not in out
    assert f"Entorno del contenedor: PORT={SHARED['PORT']}, LOG_LEVEL=INFO, RATE_LIMIT" in out
    assert "cualquiera que conozca la URL puede usarla" in out
    assert aws.recorder.operations == []


def test_rollback_deploys_the_key_in_force_not_the_one_the_old_deployment_had(aws, capsys):
    old = "clave-retirada-" + "r" * 28
    queue_deployments(aws, deployment(2, "ACTIVE", V2), deployment(1, "INACTIVE", V1, api_key=old))
    queue_rollback(aws, V1, new_version=3)  # expected_request(V1, KEY): la clave de hoy
    code, out, err = Run(aws, capsys)("rollback")
    assert code == 0, err
    assert sent_api_key(aws) == KEY and old not in out + err and "API_KEY=****" in out
    aws.stub.assert_no_pending_responses()


def test_smoke_sends_the_bearer_key_and_checks_that_without_it_the_api_answers_401(aws, capsys):
    with FakeApi(KEY) as api:
        aws.service("RUNNING", url=api.url, currentDeployment=deployment(1, "ACTIVE"))
        code, out, err = Run(aws, capsys)("smoke")
    assert code == 0, err
    assert api.authorizations == [None, f"Bearer {KEY}"]  # primero sin clave (401), después con ella
    assert "sin clave → 401" in out and "Bearer ****" in out and "Prueba de humo superada." in out
    assert KEY not in out + err


def test_smoke_fails_if_the_deployment_has_a_key_but_the_api_does_not_ask_for_it(aws, capsys):
    with FakeApi(None) as api:  # una API que no lee API_KEY: cualquiera predice sin clave
        aws.service("RUNNING", url=api.url, currentDeployment=deployment(1, "ACTIVE"))
        code, _, err = Run(aws, capsys)("smoke")
    assert code == 1 and "sin clave respondió 200 en vez de 401" in err


def test_smoke_of_a_public_deployment_or_a_local_url_sends_no_key(aws, capsys):
    with FakeApi(None) as api:
        aws.service("RUNNING", url=api.url, currentDeployment=deployment(1, "ACTIVE", api_key=None))
        code, out, err = Run(aws, capsys)("smoke")
        assert code == 0, err
        code, out, err = Run(None, capsys)("smoke", "--url", api.url)  # sin despliegue: lo dice la API
        assert code == 0, err
    assert api.authorizations == [None, None] and "la API no pide clave" in out


def test_smoke_with_a_url_uses_the_key_when_the_api_asks_for_it(capsys):
    with FakeApi(KEY) as api:
        code, out, err = Run(None, capsys)("smoke", "--url", api.url)
    assert code == 0, err
    assert api.authorizations == [None, f"Bearer {KEY}"] and KEY not in out + err


def test_deployment_json_never_holds_a_literal_key(aws, capsys, tmp_path):
    path = write_config(tmp_path, lambda c: c["containers"]["diabetes-api"]["environment"].update(API_KEY="secreta"))
    assert_rejected_before_any_call(aws, Run(aws, capsys)("deploy", "--config", path),
                                    "environment.API_KEY debe ser «${API_KEY}»", "--public")
    path = write_config(tmp_path, lambda c: c["containers"]["diabetes-api"]["environment"].pop("API_KEY"))
    assert_rejected_before_any_call(aws, Run(aws, capsys)("deploy", "--config", path), "API_KEY")


def test_a_key_file_readable_by_others_is_tightened_with_a_warning(capsys):
    keys.key_file().chmod(0o644)
    code, out, err = Run(None, capsys)("key")
    assert code == 0 and out == KEY + "\n"
    assert mode(keys.key_file()) == 0o600 and "ahora tiene permisos 0600" in err and "rotate-key" in err


def test_the_default_key_file_is_ignored_by_git():
    need(have("git"), "falta git")
    for name in (keys.KEY_FILE.name, keys.KEY_FILE.name + ".tmp"):  # también el temporal de save()
        path = f"{keys.KEY_FILE.parent.name}/{name}"  # 03_lightsail/.api-key, relativo a la raíz
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False).returncode == 0, path
