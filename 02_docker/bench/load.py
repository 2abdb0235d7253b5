"""Genera carga con wrk (Debian, escrito en C) y lee su resultado en JSON.

Por qué wrk y no locust: wrk es un único proceso en C con bucle de eventos; con 2 hilos
genera miles de peticiones por segundo gastando poca CPU y mide la latencia con un
histograma exacto (percentiles p50/p95/p99). El generador de locust es Python: en una
máquina de 2 núcleos competiría por la misma CPU que el servidor y mediríamos a locust.
"""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("post.lua")
MARKER = "BENCH_JSON "


class LoadError(RuntimeError):
    """wrk no está o no devolvió un resultado legible."""


@dataclass(frozen=True)
class LoadSettings:
    seconds: int = 5
    threads: int = 2
    connections: int = 16
    timeout: str = "5s"


def wrk_path():
    path = shutil.which("wrk")
    if not path:
        raise LoadError("No encuentro wrk. En Debian o Ubuntu: sudo apt-get install wrk")
    return path


def wrk_version():
    # `wrk -v` imprime la versión y termina con código 1: no se comprueba el código.
    result = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, timeout=10)
    return (result.stdout or result.stderr).splitlines()[0].split(" Copyright")[0].strip()


def run_wrk(url, settings, bodies=None, seconds=None):
    """Lanza wrk contra `url` y devuelve el diccionario que imprime `post.lua`."""
    seconds = seconds or settings.seconds
    command = [wrk_path(), "--latency", "-t", str(settings.threads), "-c", str(settings.connections),
               "-d", f"{seconds}s", "--timeout", settings.timeout, "-s", str(SCRIPT), url]
    env = {**os.environ, "BENCH_THREADS": str(settings.threads), "BENCH_BODIES": str(bodies or "")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise LoadError(f"wrk no devolvió resultados (código {result.returncode}):\n{result.stdout}\n{result.stderr}")


def summarize(raw, items_per_request=1):
    """Reduce la salida de wrk a lo que va en la tabla: por segundo, milisegundos y errores."""
    seconds = raw["duration_us"] / 1e6
    errors = raw["errors"]
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds,
        "items_per_s": raw["requests"] * items_per_request / seconds,
        "p50_ms": raw["latency_us"]["p50"] / 1000,
        "p95_ms": raw["latency_us"]["p95"] / 1000,
        "p99_ms": raw["latency_us"]["p99"] / 1000,
        "errors": errors["connect"] + errors["read"] + errors["write"] + errors["timeout"] + raw["responses"]["bad"],
        "cache_hit": raw["responses"]["cache_hit"],
        "cache_miss": raw["responses"]["cache_miss"],
    }
