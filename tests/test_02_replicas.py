"""Escalabilidad y tolerancia a fallos: varias réplicas detrás de nginx.

La misma topología que `02_docker/docker-compose.replicas.yml`, en el anfitrión: tres gunicorn
en 127.0.0.1 y el nginx de Debian con la plantilla `02_docker/nginx/api.conf.template`.
Bajo carga constante y acotada se para una réplica (SIGTERM): nginx reintenta en otra y no se pierde
ninguna petición. Al arrancarla otra vez, vuelve a recibir peticiones.
"""

import os
import shutil
import subprocess
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from string import Template

import pytest

from diabetes_model.patients import example_patient
from support import ROOT, SteadyLoad, free_port, need, running_gunicorn, stop, wait_healthy, wait_until

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
TEMPLATE = ROOT / "02_docker" / "nginx" / "api.conf.template"
ENV = {"WEB_CONCURRENCY": "1", "GUNICORN_MAX_REQUESTS": "0", "ACCESS_LOG": "0"}

MAIN_CONF = """daemon off;
worker_processes 1;
$user
pid $tmp/nginx.pid;
error_log $tmp/error.log notice;
events { worker_connections 512; }
http {
    access_log $tmp/access.log;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    include $tmp/api.conf;
}
"""


# Solo en la prueba: qué réplica respondió, en una cabecera (la plantilla no la envía a los clientes).
UPSTREAM_HEADER = "add_header X-Upstream $upstream_addr always;"


def render_api_conf(addresses, listen):
    """La plantilla del repositorio con una línea `server` por réplica (como hace el DNS de Compose)."""
    lines = []
    for line in TEMPLATE.read_text(encoding="utf-8").splitlines():
        if "${API_UPSTREAM}" in line and not line.lstrip().startswith("#"):
            lines += [Template(line).safe_substitute(API_UPSTREAM=address) for address in addresses]
        else:
            lines.append(line)
        if line.strip() in ("location / {", "location @sin_replicas {"):
            lines.append("        " + UPSTREAM_HEADER)
    return Template("\n".join(lines) + "\n").safe_substitute(NGINX_LISTEN=listen)


@contextmanager
def running_nginx(tmp_path, addresses):
    """nginx en primer plano (daemon off) con todo en tmp_path; se para por su PID."""
    folder = Path(tmp_path) / "nginx"
    folder.mkdir()
    port = free_port()
    (folder / "api.conf").write_text(render_api_conf(addresses, f"127.0.0.1:{port}"), encoding="utf-8")
    # Como root, los workers de nginx serían `nobody` y no podrían entrar en la carpeta temporal.
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(Template(MAIN_CONF).substitute(tmp=folder, user=user), encoding="utf-8")
    log = open(folder / "salida.log", "wb")
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"),
                                "-e", str(folder / "error.log")], stdout=log, stderr=subprocess.STDOUT)
    process.log_path = folder / "error.log"
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(base_url, process, 30, what="nginx")
        yield base_url
    finally:
        stop(process)
        log.close()


def last_upstream(outcome):
    """La réplica que respondió: la última de X-Upstream (si hubo reintentos hay varias)."""
    return outcome.upstream.split(",")[-1].strip()


@pytest.mark.slow
def test_stopping_a_replica_loses_no_requests_and_it_rejoins(tmp_path, served_model_dir, card):
    need(NGINX is not None, "falta nginx (sudo apt-get install nginx)")
    env = {**ENV, "MODEL_DIR": str(served_model_dir)}
    ports = [free_port() for _ in range(3)]
    addresses = [f"127.0.0.1:{port}" for port in ports]
    victim = addresses[1]
    with ExitStack() as servers:
        replicas = [servers.enter_context(running_gunicorn(tmp_path, port=port, env=env))[1] for port in ports]
        base_url = servers.enter_context(running_nginx(tmp_path, addresses))

        with SteadyLoad(base_url + "/v1/predict", example_patient(card), threads=4, max_seconds=60) as load:
            # Primero, las tres réplicas reciben peticiones.
            wait_until(lambda: {last_upstream(o) for o in load.snapshot()} >= set(addresses), timeout=15,
                       message="nginx no repartió las peticiones entre las tres réplicas")

            stop(replicas[1], timeout=20)  # SIGTERM: gunicorn deja de aceptar y termina lo que tiene
            stopped_at = time.monotonic()
            load.wait_for(lambda o: o.ok, timeout=10, since=stopped_at + 1.0)
            served_while_down = sum(1 for o in load.since(stopped_at) if o.ok)

            again = tmp_path / "de-nuevo"
            again.mkdir()
            servers.enter_context(running_gunicorn(again, port=ports[1], env=env))
            restarted_at = time.monotonic()
            load.wait_for(lambda o: o.ok and last_upstream(o) == victim, timeout=20, since=restarted_at)

        report = load.report(f"réplica {victim} parada y arrancada de nuevo", event=stopped_at)
        retried = sum(1 for o in load.snapshot() if "," in o.upstream)
        print(f"\n{report}\nreintentadas por nginx en otra réplica: {retried}; "
              f"respondidas con la réplica parada: {served_while_down}")
        assert load.failures() == [], report
        assert served_while_down > 0


def test_the_template_announces_no_replica_addresses_and_no_nginx_version():
    """Para los clientes: ni X-Upstream (direcciones internas) ni la versión de nginx; plazos de cabecera y cuerpo."""
    text = "\n".join(line.split("#")[0] for line in TEMPLATE.read_text(encoding="utf-8").splitlines())
    assert "X-Upstream" not in text
    assert "server_tokens off;" in text
    assert "client_header_timeout" in text and "client_body_timeout" in text
