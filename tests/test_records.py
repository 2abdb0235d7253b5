"""Toda cifra de los README sale de un registro (docs/cifras/*.json).

Un registro por orden que produce cifras: fecha (ISO), máquina (núcleos, CPU, sistema, Python), la
orden y las cifras (nombre → número, con la unidad al final del nombre). El texto cita una cifra con
una marca invisible en el Markdown:

    <!--c bench.gevent.miss-2.rps-->3.049<!--/c-->          3.049 peticiones/s
    <!--c bench.gevent.miss-256.p99_ms /1000-->1,47<!--/c--> s   (el registro en ms, el texto en s)
    <!--c bench.date-->2026-12-02<!--/c-->                 la fecha de la ejecución

La primera palabra es el registro (docs/cifras/bench.json); el resto, la cifra. La prueba formatea el
número del registro a la española, con los mismos decimales que el texto, y falla si no coincide.
Ver CONTRIBUTING.md, «Cifras registradas».
"""

import json
import re
from datetime import datetime

import pytest

from bench.record import results_of
from bench.report import chart_from_record
from support import ROOT
from workshop.spanish import number

RECORDS = ROOT / "docs" / "cifras"
MARK = re.compile(r"<!--c (?P<record>[\w-]+)\.(?P<key>[^\s>]+?)(?: /(?P<divisor>\d+))?-->(?P<text>.*?)<!--/c-->")
SKIP = {".venv", "node_modules", "results", "wheels", "test-artifacts", ".git"}
MAIN_README = ROOT / "README.es.md"
# Números con unidad de rendimiento (o «×», «veces»): en README.es.md, cada uno con su marca.
MEASURE = re.compile(r"(?<![\w.,])(?:×\s?\d[\d.,]*\d|\d[\d.,]*\s?(?:peticiones(?: nuevas)?/s|predicciones nuevas/s|"
                     r"respuestas de salud/s|pet/s|req/s|/s|ms|µs|KiB|KB|MiB|MB|GB|s|min|veces)(?![\w/]))")
# Ajustes, límites y duraciones aproximadas de una orden: no son medidas. Cada entrada, con su motivo.
NOT_MEASURED = {
    "(1–2 min)": "lo que tarda `make demo-4`, redondeado",
    "2 ms de coste": "el coste simulado por evento de la ráfaga: un ajuste de la demo",
}


def records():
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(RECORDS.glob("*.json"))}


def markdown_files():
    return [path for path in sorted(ROOT.rglob("*.md")) if not SKIP & set(path.relative_to(ROOT).parts)]


def quotes():
    """Cada cifra citada: (archivo:línea, registro, clave, divisor, texto)."""
    found = []
    for path in markdown_files():
        text = re.sub(r"```.*?```", lambda block: "\n" * block.group(0).count("\n"), path.read_text(encoding="utf-8"),
                      flags=re.S)  # los ejemplos de marca en bloques de código no son citas
        for number_, line in enumerate(text.splitlines(), 1):
            for m in MARK.finditer(line):
                found.append((f"{path.relative_to(ROOT)}:{number_}", m["record"], m["key"], int(m["divisor"] or 1),
                              m["text"]))
    return found


def spanish_like(value, text):
    """`value` escrito como `text`: punto de miles, coma decimal, los mismos decimales (o exponente)."""
    shape = re.fullmatch(r"\d[\d.]*(?:,(\d+))?(?:e[-+]\d+)?", text)
    if not shape:
        return None
    decimals = len(shape[1] or "")
    if "e" in text:
        return f"{value:.{decimals}e}".replace(".", ",")
    return number(value, decimals)


def test_every_record_has_date_machine_command_and_figures():
    found = records()
    assert found, f"no hay registros en {RECORDS}"
    for name, record in found.items():
        assert isinstance(record.get("date"), str), f"{name}.json: falta la fecha"
        datetime.fromisoformat(record["date"])  # ISO 8601, o ValueError
        machine = record.get("machine") or {}
        missing = {"cores", "cpu", "os", "python"} - set(machine)
        assert not missing, f"{name}.json: a la máquina le falta {sorted(missing)}"
        assert isinstance(machine["cores"], int) and machine["cores"] > 0, f"{name}.json: núcleos"
        assert str(record.get("command", "")).strip(), f"{name}.json: falta la orden que produjo las cifras"
        figures = record.get("figures") or {}
        assert figures, f"{name}.json: sin cifras"
        wrong = [key for key, value in figures.items() if isinstance(value, bool) or not isinstance(value, int | float)]
        assert not wrong, f"{name}.json: cifras que no son números: {wrong}"


def test_quoted_figures_match_their_records():
    found, problems = records(), []
    cited = quotes()
    assert len(cited) > 100, f"solo {len(cited)} cifras con marca: ¿cambió la sintaxis <!--c registro.clave-->?"
    for where, name, key, divisor, text in cited:
        record = found.get(name)
        if record is None:
            problems.append(f"{where}: no existe el registro docs/cifras/{name}.json")
        elif key == "date":
            if not record["date"].replace("T", " ").startswith(text):
                problems.append(f"{where}: la fecha «{text}» no es la de {name}.json ({record['date']})")
        elif key not in record["figures"]:
            problems.append(f"{where}: {name}.json no tiene la cifra «{key}»")
        else:
            expected = spanish_like(record["figures"][key] / divisor, text)
            if expected != text:
                problems.append(f"{where}: el texto dice «{text}» y {name}.json ({key}) dice «{expected}»")
    assert not problems, "cifras que no coinciden con su registro:\n" + "\n".join(problems)


def test_every_record_is_quoted():
    cited = {name for _where, name, *_rest in quotes()}
    orphans = sorted(set(records()) - cited)
    assert not orphans, f"registros que ningún README cita: {orphans}"


def unmarked_measures(text):
    """Los números con unidad de rendimiento que no están dentro de una marca (ni en código)."""
    text = re.sub(r"```.*?```|<!--.*?-->", lambda block: "\n" * block.group(0).count("\n"), MARK.sub("§", text),
                  flags=re.S)  # sin código ni comentarios, con las mismas líneas
    for phrase in NOT_MEASURED:
        text = text.replace(phrase, " ")
    return [(line_no, m.group(0), line.strip()) for line_no, line in enumerate(text.splitlines(), 1)
            for m in MEASURE.finditer(line)]


def test_main_readme_measures_carry_a_marker():
    text = MAIN_README.read_text(encoding="utf-8")
    stale = [phrase for phrase in NOT_MEASURED if phrase not in text]
    assert not stale, f"NOT_MEASURED tiene frases que ya no están en README.es.md: {stale}"
    loose = unmarked_measures(text)
    assert not loose, ("README.es.md: cifras con unidad de rendimiento sin marca <!--c registro.clave-->…<!--/c--> "
                       "(si es un ajuste o un límite, añádelo a NOT_MEASURED con su motivo):\n"
                       + "\n".join(f"  línea {n}: «{figure}» en: {line[:110]}" for n, figure, line in loose))


def test_measure_heuristic_sees_the_figures_that_drifted():
    """La heurística reconoce las cifras sin registro que había antes (y no un ajuste con marca)."""
    before = ("con 16 conexiones, 2.893 peticiones/s con p99 de 20,6 ms, 3,16 veces FastAPI (917/s); "
              "(791 frente a 784 peticiones/s); ×1,54; 445 MB; 36 s")
    seen = [figure for _n, figure, _line in unmarked_measures(before)]
    assert seen == ["2.893 peticiones/s", "20,6 ms", "3,16 veces", "917/s", "784 peticiones/s", "×1,54",
                    "445 MB", "36 s"]
    assert unmarked_measures("<!--c bench.gevent.miss-2.rps-->3.049<!--/c--> peticiones/s") == []


@pytest.mark.parametrize(("value", "text", "expected"), [
    (3049.3, "3.049", "3.049"), (0.6332, "0,63", "0,63"), (5.7e-07, "5,7e-07", "5,7e-07"),
    (1.47, "1,47", "1,47"), (12.74, "12,7", "12,7"), (1768, "1.768", "1.768"), (0, "0", "0")])
def test_spanish_format_of_a_record(value, text, expected):
    assert spanish_like(value, text) == expected


def test_bench_chart_is_drawn_from_the_record_shipped_configuration_first(tmp_path):
    record = json.loads((RECORDS / "bench.json").read_text(encoding="utf-8"))
    results, _floor = results_of(record["figures"])
    assert results[0]["config"] == "gevent", "la configuración servida va primero en el gráfico"
    png = chart_from_record(RECORDS / "bench.json", tmp_path / "bench.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
