"""Cliente de línea de órdenes contra la API real (gunicorn en 127.0.0.1), ejecutado como proceso.

Se ejecuta como archivo (`python mobile_client/cliente.py`, como en el Makefile) y como módulo
(`python -m mobile_client.cliente`). Las pruebas de ayuda y errores de uso no necesitan la API.
"""

import csv
import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from support import ROOT, free_port, running_gunicorn

# Arranca servidores reales en 127.0.0.1: fuera de `make test-fast`.
pytestmark = pytest.mark.server

CLIENT = ROOT / "mobile_client" / "cliente.py"
SAMPLES = ROOT / "mobile_client" / "pacientes.csv"


@pytest.fixture(scope="module")
def api_url(served_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("api-cliente")
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off",
           "PIDFILE": str(folder / "gunicorn.pid")}  # cada servidor de prueba, su archivo de PID
    with running_gunicorn(folder, env=env) as (url, _process):
        yield url


def run_client(*args, stdin=None):
    env = {key: value for key, value in os.environ.items() if key != "DIABETES_API_URL"}
    return subprocess.run([sys.executable, str(CLIENT), *args], input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=env)


def samples(card):
    """Las pacientes de ejemplo como diccionarios de números, en el orden de la ficha."""
    with SAMPLES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [(row["paciente"], {f["name"]: float(row[f["name"]]) for f in card["features"]}) for row in rows]


def api_predict(api_url, patient):
    response = requests.post(api_url + "/v1/predict", json=patient, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def as_flags(patient):
    return [arg for name, value in patient.items() for arg in ("--dato", f"{name}={value:g}")]


def assert_clean(result):
    assert "Traceback" not in result.stdout + result.stderr


def test_demo_prints_a_risk_for_every_sample_patient(api_url, card):
    result = run_client("--url", api_url, "--demo")
    assert result.returncode == 0, result.stderr
    version = requests.get(api_url + "/v1/model", timeout=10).json()["version"]
    for name, patient in samples(card):
        line = next(line for line in result.stdout.splitlines() if name in line)
        answer = api_predict(api_url, patient)
        assert answer["label"] in line
        assert f"{answer['probability'] * 100:.1f}".replace(".", ",") + " %" in line
    assert f"Modelo: {version}" in result.stdout


def test_demo_json_matches_the_api(api_url, card):
    result = run_client("--url", api_url, "--demo", "--json")
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    for answer, (name, patient) in zip(answers, samples(card), strict=True):
        expected = api_predict(api_url, patient)
        assert answer["paciente"] == name
        assert (answer["prediction"], answer["probability"]) == (expected["prediction"], expected["probability"])


def test_flags_mode_gives_the_api_answer_in_spanish(api_url, card):
    _name, patient = samples(card)[1]
    expected = api_predict(api_url, patient)
    result = run_client("--url", api_url, *as_flags(patient))
    assert result.returncode == 0, result.stderr
    assert f"Resultado: {expected['label']}" in result.stdout
    assert "Probabilidad de diabetes: " + f"{expected['probability'] * 100:.1f}".replace(".", ",") in result.stdout
    assert expected["model_version"] in result.stdout


def test_interactive_mode_asks_each_feature_and_reasks_bad_answers(api_url, card):
    _name, patient = samples(card)[0]
    first = card["features"][0]
    answers = ["no sé", str(first["max"] + 1)]  # un texto y un valor fuera de rango: se vuelve a preguntar
    answers += [f"{value:g}".replace(".", ",") for value in patient.values()]  # coma decimal, como en España
    result = run_client("--url", api_url, "--json", stdin="\n".join(answers) + "\n")
    assert result.returncode == 0, result.stderr
    for feature in card["features"]:
        assert f"{feature['label']} (" in result.stderr and feature["unit"] in result.stderr
    assert result.stderr.count("Prueba otra vez") == 2
    assert "0 = no medido" in result.stderr
    assert json.loads(result.stdout)["probability"] == api_predict(api_url, patient)["probability"]


def test_batch_writes_one_prediction_per_row(api_url, card, tmp_path):
    target = tmp_path / "salida.csv"
    result = run_client("--url", api_url, "--lote", str(SAMPLES), "--salida", str(target))
    assert result.returncode == 0, result.stderr
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = samples(card)
    assert len(rows) == len(expected) and f"{len(rows)} predicciones" in result.stdout
    for row, (name, patient) in zip(rows, expected, strict=True):
        answer = api_predict(api_url, patient)
        assert row["paciente"] == name
        assert (int(row["prediction"]), float(row["probability"])) == (answer["prediction"], answer["probability"])
        assert row["model_version"] == answer["model_version"]


def test_batch_with_wrong_columns_names_them(api_url, card, tmp_path):
    missing = card["features"][1]["name"]
    source = tmp_path / "mal.csv"
    with SAMPLES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, [column for column in rows[0] if column != missing])
        writer.writeheader()
        writer.writerows({k: v for k, v in row.items() if k != missing} for row in rows)
    result = run_client("--url", api_url, "--lote", str(source), "--salida", str(tmp_path / "out.csv"))
    assert result.returncode == 1
    assert "faltan las columnas" in result.stderr and missing in result.stderr
    assert not (tmp_path / "out.csv").exists()
    assert_clean(result)


def test_server_down_explains_what_to_check():
    url = f"http://127.0.0.1:{free_port()}"
    result = run_client("--url", url, "--demo")
    assert result.returncode == 3
    assert result.stdout == ""
    assert f"No se puede conectar con la API en {url}" in result.stderr
    assert "make api-dev" in result.stderr and "--url" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert_clean(result)


def test_422_lists_the_fields_to_fix(api_url, card):
    _name, patient = samples(card)[0]
    too_high, dropped = card["features"][1], card["features"][-1]
    patient = {**patient, too_high["name"]: too_high["max"] + 100}
    del patient[dropped["name"]]
    result = run_client("--url", api_url, *as_flags(patient))
    assert result.returncode == 1
    fields = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert fields[0].startswith(f"  - {too_high['label']} ({too_high['name']}): ")
    assert fields[1] == f"  - {dropped['label']} ({dropped['name']}): Falta este campo."
    assert len(fields) == 2
    assert_clean(result)


def test_ctrl_c_ends_without_traceback(api_url):
    env = {key: value for key, value in os.environ.items() if key != "DIABETES_API_URL"}
    process = subprocess.Popen([sys.executable, str(CLIENT), "--url", api_url], cwd=ROOT, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert "modelo" in process.stdout.readline()  # ya leyó la ficha y espera la primera respuesta
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 130
    assert "Cancelado." in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e999"])
def test_non_finite_values_are_data_to_fix(api_url, card, text):
    _name, patient = samples(card)[0]
    feature = card["features"][1]
    others = as_flags({name: value for name, value in patient.items() if name != feature["name"]})
    result = run_client("--url", api_url, *others, "--dato", f"{feature['name']}={text}")
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"«{text}» no es un número válido para {feature['label']} ({feature['name']})" in result.stderr
    assert_clean(result)


def test_non_finite_value_in_a_batch_names_row_and_field(api_url, card, tmp_path):
    feature = card["features"][-2]
    source, target = tmp_path / "nan.csv", tmp_path / "out.csv"
    with SAMPLES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[2][feature["name"]] = "NaN"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = run_client("--url", api_url, "--lote", str(source), "--salida", str(target))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"Fila 4 de «{source}»: «NaN» no es un número válido para {feature['label']} "
                                    f"({feature['name']})")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not target.exists()
    assert_clean(result)


def test_runs_as_a_module_too(api_url, card):
    result = subprocess.run([sys.executable, "-m", "mobile_client.cliente", "--url", api_url, "--demo", "--json"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert [answer["paciente"] for answer in json.loads(result.stdout)] == [name for name, _ in samples(card)]


ENGLISH = ["usage:", "options:", "positional arguments", "show this help message and exit", "argument ",
           "not allowed with", "invalid", "expected one argument", "unrecognized arguments", "required"]


@pytest.mark.parametrize("module", ["mobile_client.cliente", "mobile_client.serve_api"])
def test_help_is_in_spanish(module):
    result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("uso: ") and "\nopciones:\n" in result.stdout
    assert "muestra esta ayuda y termina" in result.stdout
    assert not [word for word in ENGLISH if word in result.stdout]


@pytest.mark.parametrize(("args", "expected"), [
    (["--demo", "--lote", "x.csv"], "argumento --lote: no se puede usar junto con --demo"),
    (["--timeout", "pronto"], "argumento --timeout: «pronto» no es un número de segundos mayor que 0"),
    (["--timeout", "nan"], "argumento --timeout: «nan» no es un número de segundos mayor que 0"),
    (["--url"], "argumento --url: le falta su valor"),
    (["--demo", "--sobra"], "argumentos desconocidos: --sobra"),
    (["--salida", "x.csv"], "--salida solo tiene sentido con --lote"),
])
def test_usage_errors_are_in_spanish(args, expected):
    result = run_client(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("uso: cliente.py ")
    assert result.stderr.strip().splitlines()[-1] == f"cliente.py: error: {expected}"
    assert not [word for word in ENGLISH if word in result.stderr]
    assert_clean(result)


# ------------------------------------------------------------------ Decimales: con punto o con coma

def decimal_patient(card):
    """Una paciente de ejemplo con decimales en cada variable no entera (la insulina, 85,5)."""
    _name, patient = samples(card)[0]
    return {**patient, "Insulin": 85.5, "BMI": 33.6, "DiabetesPedigreeFunction": 0.627}


def test_a_decimal_comma_and_a_decimal_point_give_the_same_answer(api_url, card):
    patient = decimal_patient(card)
    expected = api_predict(api_url, patient)
    for mark in (",", "."):
        flags = [arg for name, value in patient.items() for arg in ("--dato", f"{name}={value:g}".replace(".", mark))]
        assert mark != "," or "Insulin=85,5" in flags
        result = run_client("--url", api_url, "--json", *flags)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == expected  # 85,5 es 85,5 (no 855)


@pytest.mark.parametrize("text", ["1.234,5", "1,234.5", "85,5,1", "1e3", "1_000", "85 5", "85,"])
def test_an_ambiguous_number_is_refused_naming_the_field(api_url, card, text):
    patient = decimal_patient(card)
    flags = [arg for name, value in patient.items() if name != "Insulin" for arg in ("--dato", f"{name}={value:g}")]
    result = run_client("--url", api_url, *flags, "--dato", f"Insulin={text}")
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith(f"«{text}» no es un número válido para Insulina (Insulin): escribe una cifra "
                                    "con punto o con coma decimal (85.5 o 85,5) y sin separador de miles")
    assert_clean(result)


def test_a_batch_reads_a_quoted_decimal_comma_and_explains_an_unquoted_one(api_url, card, tmp_path):
    patient = decimal_patient(card)
    names = [feature["name"] for feature in card["features"]]
    values = [f"{patient[name]:g}".replace(".", ",") for name in names]
    quoted = tmp_path / "coma.csv"
    quoted.write_text(",".join(names) + "\n" + ",".join(f'"{v}"' for v in values) + "\n", encoding="utf-8")
    target = tmp_path / "coma-salida.csv"
    result = run_client("--url", api_url, "--lote", str(quoted), "--salida", str(target))
    assert result.returncode == 0, result.stderr
    with target.open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert row["Insulin"] == "85,5" and float(row["probability"]) == api_predict(api_url, patient)["probability"]

    unquoted = tmp_path / "sin-comillas.csv"
    unquoted.write_text(",".join(names) + "\n" + ",".join(values) + "\n", encoding="utf-8")
    result = run_client("--url", api_url, "--lote", str(unquoted), "--salida", str(target))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Fila 2 de «{unquoted}»: tiene más valores que columnas la cabecera. ¿Una coma "
                                     "decimal sin comillas? En un CSV separado por comas, la coma decimal va entre "
                                     'comillas ("85,5") o se escribe con punto (85.5).')
    semicolons = tmp_path / "punto-y-coma.csv"  # como lo guarda una hoja de cálculo en español
    semicolons.write_text(";".join(names) + "\n" + ";".join(values) + "\n", encoding="utf-8")
    result = run_client("--url", api_url, "--lote", str(semicolons), "--salida", str(target))
    assert result.returncode == 1
    assert f"«{semicolons}» separa las columnas con «;»: este cliente lee CSV separados por comas" in result.stderr
    assert_clean(result)


def test_help_says_which_decimals_it_reads():
    result = run_client("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "Cifras con punto o con coma decimal (85.5 o 85,5) y sin separador de miles" in text
    assert 'en el CSV de --lote (separado por comas), la coma decimal va entre comillas ("85,5")' in text
