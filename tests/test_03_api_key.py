"""Etapa 03, la clave de la API al desplegar (lightsail/keys.py con releases.py y checks.py): su fichero,
la rotación, los **** en la salida y la prueba de humo con la clave.

Solo AWS y la CLI de Docker se simulan (tests/lightsail_support.py: clientes reales de boto3 con
botocore.stub.Stubber); lo demás es real.
"""

import json
import os
import stat
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.stub import ANY

from lightsail import keys
from lightsail_support import (
    IMAGE,
    KEY,
    NOW,
    SERVICE,
    V1,
    V2,
    Run,
    assert_rejected_before_any_call,
    deployment,
    expected_request,
    queue_deploy,
    queue_deployments,
    queue_rollback,
    service,
    write_config,
)
from support import HEALTH_PATH, ROOT, SHARED, have, need

pytestmark = pytest.mark.usefixtures("lightsail_environment")


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
