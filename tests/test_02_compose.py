"""Etapa 02, Docker Compose sin motor Docker: los dos archivos son coherentes entre sí y con el resto.

`docker-compose.yml` es la API sola; `docker-compose.replicas.yml` pone N réplicas detrás de nginx.
El comportamiento de las réplicas (parar una sin perder peticiones) se prueba en test_02_replicas.py
con la misma plantilla de nginx; aquí se comprueba que Compose la usa y que la API es la de la etapa 02.
"""

import yaml

from support import ROOT

FOLDER = ROOT / "02_docker"
BASE = yaml.safe_load((FOLDER / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["api"]
REPLICAS = yaml.safe_load((FOLDER / "docker-compose.replicas.yml").read_text(encoding="utf-8"))["services"]


def test_api_service_has_healthcheck_restart_memory_limit_and_read_only_root():
    assert (FOLDER / BASE["build"]["context"]).resolve() == ROOT  # contexto = raíz (y su .dockerignore)
    assert BASE["build"]["dockerfile"] == "02_docker/Dockerfile"
    assert BASE["build"]["args"]["PORT"].startswith("${PORT")  # el puerto llega de workshop.env
    assert BASE["ports"] == ["${HOST:-127.0.0.1}:${PORT}:${PORT}"]  # solo este equipo, salvo HOST=0.0.0.0
    assert BASE["healthcheck"]["test"] == ["CMD", "python", "-m", "diabetes_api.healthcheck"]
    assert BASE["restart"] in {"always", "unless-stopped", "on-failure"}
    assert BASE["mem_limit"] and BASE["read_only"] is True and "/tmp" in BASE["tmpfs"]


def test_api_replicas_are_the_stage_02_service_without_host_ports():
    api = REPLICAS["api"]
    for key in ("build", "image", "healthcheck", "mem_limit", "read_only", "tmpfs", "restart", "stop_grace_period"):
        assert api[key] == BASE[key], f"«{key}» debe ser igual que en docker-compose.yml"
    assert "ports" not in api  # varias réplicas no pueden publicar el mismo puerto del anfitrión
    assert api["deploy"]["replicas"] >= 2


def test_nginx_uses_the_tested_template_and_publishes_the_workshop_port():
    nginx = REPLICAS["nginx"]
    source, target = nginx["volumes"][0].split(":")[:2]
    assert (FOLDER / source).resolve() == FOLDER / "nginx" / "api.conf.template"
    assert target.startswith("/etc/nginx/templates/") and target.endswith(".conf.template")
    assert nginx["environment"]["API_UPSTREAM"] == "api:${PORT}"  # el servicio, no una réplica concreta
    assert nginx["ports"] == [f"${{HOST:-127.0.0.1}}:${{PORT}}:{nginx['environment']['NGINX_LISTEN']}"]
    assert nginx["depends_on"]["api"]["condition"] == "service_healthy"


def test_template_retries_on_another_replica_and_marks_failed_ones():
    text = (FOLDER / "nginx" / "api.conf.template").read_text(encoding="utf-8")
    assert "proxy_next_upstream error timeout http_502 http_503" in text
    assert "max_fails=1 fail_timeout=2s" in text


def test_docker_run_publishes_only_on_this_machine_unless_host_says_otherwise(tmp_path):
    """Con la red puente de Docker, -p 127.0.0.1:…: desde la wifi del congreso nadie llega; HOST=0.0.0.0 abre."""
    import subprocess

    fake = tmp_path / "docker"  # un docker que dice que la red puente existe (y nada más)
    fake.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    fake.chmod(0o755)

    def dry_run(*extra):
        return subprocess.run(["make", "--no-print-directory", "-n", "docker-run", f"DOCKER={fake}", *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=60).stdout

    assert "-p 127.0.0.1:8000:8000" in dry_run()
    assert "-p 0.0.0.0:8000:8000" in dry_run("HOST=0.0.0.0")


def test_make_app_listens_only_on_this_machine_by_default(monkeypatch):
    from mobile_client.serve_api import listen_host

    monkeypatch.delenv("HOST", raising=False)
    assert listen_host() == "127.0.0.1"
    monkeypatch.setenv("HOST", "0.0.0.0")
    assert listen_host() == "0.0.0.0"
