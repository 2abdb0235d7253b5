"""Las réplicas con Docker Compose, sin motor Docker: el archivo es coherente con el resto.

`02_docker/docker-compose.replicas.yml` pone N réplicas de la API detrás de nginx. Su
comportamiento (parar una réplica sin perder peticiones) se prueba en test_07_replicas.py con la
misma plantilla de nginx; aquí se comprueba que Compose la usa y que la API es la de la etapa 02.
"""

import yaml

from support import ROOT

FOLDER = ROOT / "02_docker"
REPLICAS = yaml.safe_load((FOLDER / "docker-compose.replicas.yml").read_text(encoding="utf-8"))["services"]
BASE = yaml.safe_load((FOLDER / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["api"]


def test_api_replicas_are_the_stage_02_service_without_host_ports():
    api = REPLICAS["api"]
    for key in ("build", "image", "healthcheck", "mem_limit", "read_only", "restart"):
        assert api[key] == BASE[key], f"«{key}» debe ser igual que en docker-compose.yml"
    assert "ports" not in api  # varias réplicas no pueden publicar el mismo puerto del anfitrión
    assert api["deploy"]["replicas"] >= 2


def test_nginx_uses_the_tested_template_and_publishes_the_workshop_port():
    nginx = REPLICAS["nginx"]
    source, target = nginx["volumes"][0].split(":")[:2]
    assert (FOLDER / source).resolve() == FOLDER / "nginx" / "api.conf.template"
    assert target.startswith("/etc/nginx/templates/") and target.endswith(".conf.template")
    assert nginx["environment"]["API_UPSTREAM"] == "api:${PORT}"  # el servicio, no una réplica concreta
    assert nginx["ports"] == [f"${{PORT}}:{nginx['environment']['NGINX_LISTEN']}"]
    assert nginx["depends_on"]["api"]["condition"] == "service_healthy"


def test_template_retries_on_another_replica_and_marks_failed_ones():
    text = (FOLDER / "nginx" / "api.conf.template").read_text(encoding="utf-8")
    assert "proxy_next_upstream error timeout http_502 http_503" in text
    assert "max_fails=1 fail_timeout=2s" in text
