"""Etapa 03, la configuración comprobada antes de llamar (lightsail/config.py y options.py) y los errores de AWS
explicados en español (conflictos, servicio inexistente, reintentos, permisos, destroy, Docker).

Solo AWS y la CLI de Docker se simulan (tests/lightsail_support.py: clientes reales de boto3 con
botocore.stub.Stubber); lo demás es real.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from botocore.retries.standard import ExponentialBackoff

from lightsail import config
from lightsail_support import SERVICE, Run, assert_rejected_before_any_call, queue_destroy, service, write_config
from support import HEALTH_PATH, SHARED

pytestmark = pytest.mark.usefixtures("lightsail_environment")


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
