"""La carga: wrk (Debian/Homebrew, escrito en C) con post.lua, y los clientes lentos.

Por qué wrk y no locust: wrk es un único proceso en C con bucle de eventos; con 2 hilos
genera miles de peticiones por segundo gastando poca CPU y mide la latencia con un
histograma exacto (percentiles p50/p99). El generador de locust es Python: en una
máquina de 2 núcleos competiría por la misma CPU que el servidor y mediríamos a locust.
"""

import json
import os
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

SCRIPT = Path(__file__).with_name("post.lua")
MARKER = "BENCH_JSON "
# «En régimen» (solo con timing y medidas de 3 s o más): las peticiones enviadas pasado el primer segundo.
STEADY_AFTER_US = 1_000_000


class LoadError(RuntimeError):
    """wrk no está o no devolvió un resultado legible."""


@dataclass(frozen=True)
class LoadSettings:
    seconds: int = 5
    threads: int = 2
    timeout: str = "5s"


def wrk_path():
    path = shutil.which("wrk")
    if not path:
        raise LoadError("No encuentro wrk. Instálalo: sudo apt-get install wrk (Debian/Ubuntu) o brew install wrk.")
    return path


def wrk_version():
    # `wrk -v` imprime la versión y termina con código 1: no se comprueba el código.
    result = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, timeout=10)
    return (result.stdout or result.stderr).splitlines()[0].split(" Copyright")[0].strip()


def run_wrk(url, settings, connections, bodies=None, seconds=None, offset=0, api_key="", timing=False, cpus=None):
    """Lanza wrk contra `url` y devuelve el diccionario que imprime `post.lua`.

    `bodies`: archivo con un cuerpo JSON por línea (sin él, GET); `offset`: por cuál empezar;
    `api_key`: se manda como `Authorization: Bearer …`; `timing`: medir aparte la latencia de las
    respuestas 2xx (la hora de envío viaja en X-Request-ID; ver post.lua); `cpus`: los núcleos de wrk
    (taskset -c), para que no compita con un servidor fijado en otro.
    """
    seconds = seconds or settings.seconds
    threads = min(settings.threads, connections)
    command = (["taskset", "-c", cpus] if cpus else []) + [
        wrk_path(), "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
        "--timeout", settings.timeout, "-s", str(SCRIPT), url]
    env = {**os.environ, "BENCH_THREADS": str(threads), "BENCH_BODIES": str(bodies or ""),
           "BENCH_OFFSET": str(offset), "BENCH_API_KEY": api_key, "BENCH_TIMING": "1" if timing else "0",
           "BENCH_STEADY_AFTER_US": str(STEADY_AFTER_US if seconds >= 3 * STEADY_AFTER_US / 1e6 else 0)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise LoadError(f"wrk no devolvió resultados (código {result.returncode}):\n{result.stdout}\n{result.stderr}")


def raise_open_files():
    """wrk con 1.024 conexiones y el servidor que las acepta necesitan más de 1.024 descriptores: sube el
    límite blando de este proceso (lo heredan wrk y los servidores) hasta el duro. Como `ulimit -n`."""
    try:
        import resource
    except ImportError:  # Windows: no hay límite que subir
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def summarize(raw, items_per_request=1):
    """Reduce la salida de wrk a lo que va en la tabla: por segundo, milisegundos y errores.

    `requests` son todas las respuestas (también las 503); `ok` las 2xx; `errors`, los fallos de
    conexión (sin respuesta) más las respuestas que no son 2xx, y `statuses` el detalle por código.
    Las latencias p50/p99/máx. son las de wrk, de todas las respuestas y con su corrección de la
    «omisión coordinada» (post.lua). Con `timing`, post.lua mide además sin corrección: `ok_p50_ms` y
    `ok_p99_ms`, de las 2xx solas; `raw_p99_ms`, de todas; `steady_ok_p99_ms`, de las 2xx enviadas
    pasado el primer segundo (en régimen, sin la avalancha de conexiones nuevas).
    """
    seconds = raw["duration_us"] / 1e6
    errors = raw["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    ok_latency, all_latency = raw.get("ok_latency_us") or {}, raw.get("all_latency_us") or {}
    steady = raw.get("steady_ok_latency_us") or {}
    return {
        "requests": raw["requests"],
        "ok": raw["responses"]["ok"],
        "rps": raw["requests"] / seconds,
        "ok_rps": raw["responses"]["ok"] / seconds,
        "items_per_s": raw["requests"] * items_per_request / seconds,
        "p50_ms": raw["latency_us"]["p50"] / 1000,
        "p99_ms": raw["latency_us"]["p99"] / 1000,
        "max_ms": raw["latency_us"]["max"] / 1000,
        "ok_p50_ms": ok_latency["p50"] / 1000 if ok_latency else None,
        "ok_p99_ms": ok_latency["p99"] / 1000 if ok_latency else None,
        "raw_p99_ms": all_latency["p99"] / 1000 if all_latency else None,
        "steady_ok_p99_ms": steady["p99"] / 1000 if steady else None,
        "socket_errors": socket_errors,
        "unanswered": raw.get("unanswered", 0),  # con timing: enviadas hace más de 2 s y sin respuesta al terminar
        "errors": socket_errors + raw["responses"]["bad"],
        "statuses": dict(raw.get("statuses", {})),  # {"200": n, "503": m}: claves de texto, como en JSON
        "cache_hit": raw["responses"]["cache_hit"],
        "cache_miss": raw["responses"]["cache_miss"],
    }


# ------------------------------------------------------------------ Clientes lentos

# Cabeceras completas y solo el principio del cuerpo anunciado: el servidor espera el resto (lo
# que haría un móvil con mala cobertura, o un ataque «slowloris»). Con el cuerpo a medias, ni el
# keep-alive de gevent (que corta a quien no termina las CABECERAS en 2 s) libera la conexión.
PARTIAL = (b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: 200\r\n\r\n{\"Pregnancies\": ")


def slow_clients(base_url, health_path, patient, count=100, limit=5.0):
    """Con `count` conexiones que mandaron una petición a medias y se quedaron quietas, cuánto
    tardan un GET de salud y un POST /v1/predict de un cliente normal (a la vez, con límite `limit`).

    Devuelve {"health": segundos | None, "predict": segundos | None}; None = no respondió bien a
    tiempo. Las conexiones lentas se cierran siempre al acabar.
    """
    host, port = base_url.removeprefix("http://").split(":")

    def timed(method, path, body=None):
        started = time.perf_counter()
        try:
            response = requests.request(method, base_url + path, json=body, timeout=limit)
        except requests.RequestException:
            return None
        return time.perf_counter() - started if response.ok else None

    idle = []
    try:
        for _ in range(count):
            connection = socket.create_connection((host, int(port)), timeout=limit)
            connection.sendall(PARTIAL)
            idle.append(connection)
        time.sleep(0.5)  # que el servidor las acepte y se quede esperando el resto
        with ThreadPoolExecutor(2) as pool:
            health = pool.submit(timed, "GET", health_path)
            predict = pool.submit(timed, "POST", "/v1/predict", patient)
            return {"health": health.result(), "predict": predict.result()}
    finally:
        for connection in idle:
            connection.close()
