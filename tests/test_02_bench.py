"""El benchmark (`make bench`): formato español y su variante corta de verdad.

La variante corta arranca servidores reales en 127.0.0.1 (gunicorn tal cual y la referencia
FastAPI), los carga con wrk 1 s por medida y los para por su PID. No comprueba tiempos (eso es
lo que el benchmark informa): comprueba que el informe tiene sus filas, sin errores hasta 16
conexiones, con fallo de caché de verdad, con el recuento por código y la latencia de las 2xx a
256 conexiones, y con números en formato español.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from bench.report import latency
from support import ROOT, have, need
from workshop.spanish import number

SPANISH_NUMBER = r"\d{1,3}(?:\.\d{3})*(?:,\d+)?"
ENGLISH_NUMBER = re.compile(r"\d,\d{3}\.\d|\b\d+\.\d{1,2} ms\b|\b\d{1,3},\d{3}\b(?!,)")


def run_bench(env, timeout=300):
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-m", "bench"], cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def test_numbers_are_written_the_spanish_way():
    assert number(1234.5, 1) == "1.234,5"
    assert number(1234567, 0) == "1.234.567"
    assert number(0.81, 2) == "0,81"
    assert number(None) == "—"
    assert latency(2.1) == "2,10 ms"
    assert latency(45.34) == "45,3 ms"
    assert latency(380.4) == "380 ms"
    assert latency(1380.2) == "1,38 s"
    assert latency(None) == "—"


@pytest.mark.parametrize("env, message", [
    ({"BENCH_SECONDS": "cero"}, "BENCH_SECONDS debe ser un entero positivo"),
    ({"BENCH_CONFIGS": "gevent,rapidísimo"}, "configuraciones desconocidas en BENCH_CONFIGS: rapidísimo"),
])
def test_a_bad_setting_is_one_spanish_sentence(env, message):
    result = run_bench(env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: {message}")
    assert "Traceback" not in result.stderr


def test_without_a_published_model_it_says_so_in_one_sentence(tmp_path):
    result = run_bench({"MODEL_DIR": str(tmp_path)}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: No hay ninguna versión del modelo publicada")
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, model_dir):
    need(have("wrk"), "falta wrk (sudo apt-get install wrk, o brew install wrk)")
    output = tmp_path_factory.mktemp("bench")
    result = run_bench({"BENCH_SECONDS": "1", "BENCH_CONFIGS": "ci", "BENCH_OUTPUT": str(output)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout, output


@pytest.mark.slow
def test_short_run_measures_every_scenario_without_errors_and_with_real_cache_misses(short_run):
    _, output = short_run
    raw = json.loads((output / "bench.json").read_text(encoding="utf-8"))
    measured = {(r["config"], r["scenario"]): r for r in raw["results"]}
    every = ("health-2", "health-16", "hit-2", "hit-16", "miss-2", "miss-16", "batch-16", "miss-256")
    assert {("gevent", s) for s in every} <= set(measured)
    assert {("fastapi", s) for s in ("health-2", "health-16", "miss-2", "miss-16")} <= set(measured)
    for result in raw["results"]:
        assert result["requests"] > 0 and sum(result["statuses"].values()) == result["requests"], result
        if result["connections"] <= 16:  # la configuración tal cual nunca descarta a 16 conexiones
            assert result["errors"] == 0 and set(result["statuses"]) == {"200"}, result
    flood = measured[("gevent", "miss-256")]  # 256 conexiones: solo 200 o 503 (descarte), y siempre respuesta
    assert flood["socket_errors"] == 0 and set(flood["statuses"]) <= {"200", "503"}, flood
    assert flood["ok"] == flood["statuses"].get("200", 0) and flood["ok_p99_ms"] > 0, flood
    for scenario in ("miss-2", "miss-16"):  # pacientes nunca vistos: ningún acierto de caché
        result = measured[("gevent", scenario)]
        assert result["cache_hit"] == 0 and result["cache_miss"] == result["requests"], result
    for scenario in ("hit-2", "hit-16"):  # la paciente repetida: sale de la caché
        assert measured[("gevent", scenario)]["cache_hit"] > 0
    shares = measured[("gevent", "miss-2")]["worker_cpu"]  # el reparto entre los 2 workers, en %
    assert len(shares) == 2 and abs(sum(shares) - 100) < 0.01
    assert set(raw["slow_clients"]["gevent"]) == {"health", "predict"}
    assert set(raw["floor_us"]["engines"]) == {"onnx", "sklearn"}
    assert (output / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_short_run_report_has_the_rows_in_spanish(short_run):
    stdout, output = short_run
    report = (output / "bench.md").read_text(encoding="utf-8")
    for heading in ("## Máquina y versiones", "## Objetivos (gunicorn.conf.py tal cual)", "## Resultados",
                    "## ONNX frente a scikit-learn, en el mismo servidor", "## Clientes lentos",
                    "## Dónde se va el tiempo (dentro del proceso)", "## 256 conexiones: descartar o encolar"):
        assert heading in report
    assert re.search(r"\| núcleos \| \d+ \|", report)
    assert re.search(rf"\| gevent \| /v1/predict, fallo de caché, 2 conexiones \| {SPANISH_NUMBER} \|", report)
    assert re.search(rf"\| fastapi \| /v1/predict, fallo de caché, 16 conexiones \| {SPANISH_NUMBER} \|", report)
    assert re.search(rf"p99 de /v1/predict, 2 conexiones ≤ 2,00 ms \| {SPANISH_NUMBER} ms \| (sí|\*\*no\*\*) \|",
                     report)
    verdict = r"(sí|\*\*no\*\*)"
    assert re.search(rf"fallo de caché ÷ acierto de caché, 2 conexiones ≥ 0,90 \| {SPANISH_NUMBER} \| {verdict} \|",
                     report)
    assert re.search(r"ninguna respuesta no 2xx ni sin respuesta a 16 conexiones [^|]*\| 0 \| sí \|", report)
    assert re.search(rf"\| gevent \| 0 \| 64 \| {SPANISH_NUMBER} \| {SPANISH_NUMBER} \| {SPANISH_NUMBER} % \|",
                     report)
    assert re.search(rf"\| ONNX Runtime \(grafo ONNX\) \| {SPANISH_NUMBER} \| {SPANISH_NUMBER} \|", report)
    assert re.search(rf"\| gevent \| ({SPANISH_NUMBER} ms|> 5 s \(bloqueado\)) \|", report)
    for text in (report, stdout):
        assert not ENGLISH_NUMBER.search(text), ENGLISH_NUMBER.search(text)
    assert re.search(rf"== /v1/predict, fallo de caché, 16 conexiones\n  gevent +{SPANISH_NUMBER} pet/s  "
                     rf"p50 {SPANISH_NUMBER} ms", stdout)
