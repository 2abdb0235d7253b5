"""Prometheus de Debian en 127.0.0.1 para la etapa 05: arrancarlo, preguntarle y pararlo.

    with running([f"127.0.0.1:{api_port}"], rule_files=["05_mantenimiento/alertas.yml"]) as prom:
        wait_for_targets(prom.url)
        for labels, value in query(prom.url, "sum by (model_version) (diabetes_api_answers_total)"):
            ...

`running` escribe una configuración (raspa cada segundo los destinos dados), guarda los datos en una
carpeta temporal, espera a que Prometheus esté listo y, al salir (también si algo falla), lo para por
su PID y borra la carpeta. `query` hace una consulta instantánea a su API HTTP (/api/v1/query).
"""

import json
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workshop.processes import LOCALHOST, free_port, http_ok, start, stop, wait_until


class PrometheusError(RuntimeError):
    """Prometheus no arrancó, no respondió o rechazó una consulta (mensaje en español)."""


@dataclass(frozen=True)
class Prometheus:
    """Un Prometheus en marcha: su URL base (http://127.0.0.1:PUERTO), su proceso y su carpeta."""

    url: str
    port: int
    process: object
    folder: Path


def binary():
    """La ruta del ejecutable `prometheus` (el paquete de Debian) o None si no está instalado."""
    return shutil.which("prometheus")


def config(targets, rule_files=(), scrape_interval="1s", job="diabetes_api"):
    """La configuración de Prometheus (un dict; se escribe como JSON, que también es YAML válido).

    `targets`: «host:puerto» o URL completas («http://127.0.0.1:8000/metrics»); todas con la misma ruta.
    """
    hosts, paths = [], set()
    for target in targets:
        parsed = urllib.parse.urlsplit(target if "//" in target else f"//{target}")
        if not parsed.hostname or not parsed.port:
            raise PrometheusError(f"Destino no válido: «{target}» (se espera host:puerto o una URL con puerto).")
        hosts.append(f"{parsed.hostname}:{parsed.port}")
        paths.add(parsed.path or "/metrics")
    if len(paths) > 1:
        raise PrometheusError(f"Todos los destinos deben tener la misma ruta de métricas; hay {sorted(paths)}.")
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval,
                   "scrape_timeout": scrape_interval},
        "rule_files": [str(Path(path).resolve()) for path in rule_files],
        "scrape_configs": [{"job_name": job, "metrics_path": paths.pop() if paths else "/metrics",
                            "static_configs": [{"targets": hosts}]}],
    }


@contextmanager
def running(targets, rule_files=(), scrape_interval="1s", timeout=30.0, port=None):
    """Arranca Prometheus en 127.0.0.1 (puerto libre si no se da) y lo devuelve ya listo; lo para al salir."""
    executable = binary()
    if executable is None:
        raise PrometheusError("No encuentro `prometheus`: instálalo con `sudo apt-get install prometheus`.")
    folder = Path(tempfile.mkdtemp(prefix="prometheus-taller-"))
    process = None
    try:
        config_path = folder / "prometheus.yml"
        config_path.write_text(json.dumps(config(targets, rule_files, scrape_interval), indent=2))
        port = port or free_port()
        process = start([executable, f"--config.file={config_path}", f"--storage.tsdb.path={folder / 'datos'}",
                         f"--web.listen-address={LOCALHOST}:{port}", "--log.level=warn"],
                        log_path=folder / "prometheus.log")
        url = f"http://{LOCALHOST}:{port}"
        try:
            wait_until(lambda: http_ok(f"{url}/-/ready"), timeout, process=process, what="Prometheus")
        except RuntimeError as error:
            raise PrometheusError(str(error)) from None
        yield Prometheus(url=url, port=port, process=process, folder=folder)
    finally:
        if process is not None:
            stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _get(base_url, path, params, timeout):
    url = f"{base_url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:  # 400/422: Prometheus explica el error en el cuerpo
        try:
            body = json.load(error)
        except ValueError:
            raise PrometheusError(f"Prometheus respondió {error.code} a {path}.") from None
    except (OSError, ValueError) as error:
        raise PrometheusError(f"No puedo preguntar a Prometheus en {base_url}: {error}") from None
    if body.get("status") != "success":
        raise PrometheusError(f"Prometheus rechazó la consulta: {body.get('error', body)}")
    return body["data"]


def query(base_url, promql, time=None, timeout=10.0):
    """Consulta instantánea: lista de (etiquetas, valor). Un escalar da [({}, valor)].

    `time`: segundos de época (float) o None (ahora). Los valores NaN o infinitos se devuelven tal cual.
    """
    params = {"query": promql}
    if time is not None:
        params["time"] = f"{float(time):.3f}"
    data = _get(base_url, "/api/v1/query", params, timeout)
    if data["resultType"] in ("scalar", "string"):
        return [({}, float(data["result"][1]))]
    if data["resultType"] == "matrix":
        raise PrometheusError("La consulta devuelve una serie de rango: usa una consulta instantánea.")
    return [(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]


def value(base_url, promql, time=None, default=None):
    """El único valor de una consulta (p. ej. una suma), o `default` si no hay ninguno."""
    result = query(base_url, promql, time)
    if len(result) > 1:
        raise PrometheusError(f"La consulta da {len(result)} series y se esperaba una: {promql}")
    return result[0][1] if result else default


def targets_up(base_url):
    """True si Prometheus ya raspó todos sus destinos con éxito (up == 1 en todos)."""
    try:
        states = query(base_url, "up")
    except PrometheusError:
        return False
    return bool(states) and all(state == 1 for _, state in states)


def wait_for_targets(base_url, timeout=15.0):
    """Espera (acotada) a que todos los destinos estén raspados; PrometheusError si no."""
    try:
        wait_until(lambda: targets_up(base_url), timeout, what="Prometheus", interval=0.2,
                   message=f"Prometheus no raspó sus destinos en {timeout:.0f} s (mira {base_url}/targets).")
    except RuntimeError as error:
        raise PrometheusError(str(error)) from None


def wait_for_sample(base_url, promql, condition, timeout=20.0):
    """Repite la consulta hasta que `condition(resultado)` sea verdadero y devuelve el resultado."""
    last = []

    def ready():
        last[:] = [query(base_url, promql)]
        return condition(last[0])

    try:
        wait_until(ready, timeout, what="Prometheus", interval=0.2,
                   message=f"Prometheus no llegó a la condición en {timeout:.0f} s con: {promql}")
    except PrometheusError:
        raise
    except RuntimeError as error:
        raise PrometheusError(str(error)) from None
    return last[0]


def alerts(base_url, timeout=10.0):
    """Las alertas activas (pendientes o disparadas): lista de dicts con labels, annotations y state."""
    return _get(base_url, "/api/v1/alerts", {}, timeout)["alerts"]
