"""El cliente en R (`mobile_client/cliente.R`, httr + jsonlite) contra la API real, con Rscript.

Sus respuestas deben ser las de la API: cada prueba pregunta lo mismo desde Python y compara.
Cada servidor es un gunicorn propio en 127.0.0.1 (puerto libre, su archivo de PID) que se para al
acabar, también si falla. Sin Rscript (o sin httr y jsonlite) se salta; con CI=true falla.
"""

import csv
import json
import os
import shutil
import subprocess

import pytest
import requests

from diabetes_model.patients import random_patients
from support import ROOT, free_port, need, running_gunicorn

# Arranca servidores reales en 127.0.0.1: fuera de `make test-fast`.
pytestmark = pytest.mark.server

CLIENT = ROOT / "mobile_client" / "cliente.R"
SAMPLES = ROOT / "mobile_client" / "pacientes.csv"
KEYS = "clave-r-uno,clave-r-dos"  # dos claves a la vez, como al rotarlas
INSTALL_R = "falta R con httr y jsonlite (sudo apt-get install r-base-core r-cran-httr r-cran-jsonlite)"
RESULT_COLUMNS = ["prediction", "label", "probability", "model_version"]


@pytest.fixture(scope="module")
def rscript():
    found = shutil.which("Rscript")
    need(found is not None, INSTALL_R)
    check = subprocess.run([found, "-e", 'quit(status = !all(sapply(c("httr", "jsonlite"), requireNamespace, '
                                         'quietly = TRUE)))'], capture_output=True, timeout=60)
    need(check.returncode == 0, INSTALL_R)
    return found


def serve(served_model_dir, folder, **extra):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off",
           "PIDFILE": str(folder / "gunicorn.pid"), "API_KEY": "", **extra}
    return running_gunicorn(folder, env=env)


@pytest.fixture(scope="module")
def api_url(served_model_dir, tmp_path_factory):
    with serve(served_model_dir, tmp_path_factory.mktemp("api-r")) as (url, _process):
        yield url


@pytest.fixture(scope="module")
def keyed_api_url(served_model_dir, tmp_path_factory):
    with serve(served_model_dir, tmp_path_factory.mktemp("api-r-clave"), API_KEY=KEYS) as (url, _process):
        yield url


def run_r(rscript, *args, url, key=None, code=None):
    """Rscript con el cliente (o con `code`, tras source() del cliente); API_URL y API_KEY, solo las que se dan."""
    env = {k: v for k, v in os.environ.items() if k not in ("API_URL", "API_KEY")}
    env.update({"API_URL": url, **({"API_KEY": key} if key is not None else {})})
    command = [rscript, "-e", f'source("{CLIENT}"); {code}'] if code else [rscript, str(CLIENT), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    # Un error de R sin capturar se ve como «Error in …» o «Execution halted»: el cliente da una frase.
    assert "Error in" not in result.stderr and "halted" not in result.stderr, result.stderr
    return result


def api(url, body, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = requests.post(url + "/v1/predict", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def example_patient(rscript, url):
    """La paciente de ejemplo del cliente, tal como la manda a la API."""
    result = run_r(rscript, url=url, code='cat(toJSON(example_patient, auto_unbox = TRUE, digits = NA))')
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def spanish_decimal(value, decimals):
    return f"{value:.{decimals}f}".replace(".", ",")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def assert_csv_matches_api(output, source, expected, version):
    """El CSV del cliente: las columnas del original y, por fila, la predicción que dio la API."""
    written, original = read_csv(output), read_csv(source)
    assert list(written[0]) == list(original[0]) + RESULT_COLUMNS
    assert len(written) == len(expected) == len(original)
    for row, source_row, result in zip(written, original, expected, strict=True):
        assert {k: row[k] for k in source_row} == source_row
        assert (int(row["prediction"]), row["label"], float(row["probability"]), row["model_version"]) == \
            (result["prediction"], result["label"], result["probability"], version)


# ------------------------------------------------------------------ Una paciente: predict(data)


def test_predict_function_returns_exactly_what_the_api_returns(rscript, api_url):
    patient = example_patient(rscript, api_url)
    result = run_r(rscript, url=api_url, code="cat(toJSON(predict(example_patient), auto_unbox = TRUE, digits = NA))")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == api(api_url, patient)


def test_one_patient_from_the_command_line(rscript, api_url):
    expected = api(api_url, example_patient(rscript, api_url))
    result = run_r(rscript, url=api_url)
    assert result.returncode == 0, result.stderr
    percent = spanish_decimal(expected["probability"] * 100, 1)
    assert result.stdout.splitlines()[1:] == [
        f"Resultado: {expected['label']}",
        f"Probabilidad de diabetes: {percent} % ({spanish_decimal(expected['probability'], 6)})",
        f"Modelo: {expected['model_version']}"]


# ------------------------------------------------------------------ Un CSV por lotes


def test_sample_csv_gives_the_api_predictions(rscript, api_url, card, tmp_path):
    names = [feature["name"] for feature in card["features"]]
    instances = [{name: float(row[name]) for name in names} for row in read_csv(SAMPLES)]
    expected = api(api_url, {"instances": instances})
    output = tmp_path / "predicciones.csv"
    result = run_r(rscript, str(SAMPLES), str(output), url=api_url)
    assert result.returncode == 0, result.stderr
    assert_csv_matches_api(output, SAMPLES, expected["predictions"], expected["model_version"])
    assert f"5 predicciones escritas en «{output}» (modelo {expected['model_version']})." in result.stdout
    assert "Lucía" in result.stdout


def test_a_long_csv_goes_in_several_batches_in_order(rscript, api_url, card, tmp_path):
    patients = random_patients(card["features"], 230, seed=11)  # 3 lotes de ≤ 100
    source = tmp_path / "muchas.csv"
    write_csv(source, [{"id": str(i), **{k: str(v) for k, v in p.items()}} for i, p in enumerate(patients, 1)])
    expected = api(api_url, {"instances": patients})
    result = run_r(rscript, str(source), url=api_url)
    assert result.returncode == 0, result.stderr
    output = tmp_path / "muchas-predicciones.csv"  # el nombre por defecto, junto al original
    assert_csv_matches_api(output, source, expected["predictions"], expected["model_version"])
    assert "… y 210 más." in result.stdout


def test_an_invalid_value_names_the_csv_row_and_writes_nothing(rscript, api_url, tmp_path):
    rows = read_csv(SAMPLES)
    rows.append({**rows[0], "paciente": "Eva", "Glucose": "999"})
    source = tmp_path / "con-error.csv"
    write_csv(source, rows)
    result = run_r(rscript, str(source), url=api_url)
    assert result.returncode == 1
    assert "Fila 7, Glucose: Debe estar entre 40 y 400" in result.stderr
    assert not (tmp_path / "con-error-predicciones.csv").exists()


def test_values_travel_with_every_digit(rscript, api_url, tmp_path):
    """0,04999 está fuera del rango (mínimo 0,05): redondeado a 4 decimales (lo que hace jsonlite por
    defecto) pasaría por 0,05 y la API lo aceptaría sin decirlo."""
    rows = read_csv(SAMPLES)
    rows[0]["DiabetesPedigreeFunction"] = "0.04999"
    source = tmp_path / "decimales.csv"
    write_csv(source, rows)
    result = run_r(rscript, str(source), url=api_url)
    assert result.returncode == 1, result.stdout
    assert "Fila 2, DiabetesPedigreeFunction: Debe estar entre 0,05 y 2,5." in result.stderr


@pytest.mark.parametrize("text", ["nan", "inf", "doce", ""])
def test_a_value_that_is_not_a_number_is_refused_before_sending(rscript, api_url, tmp_path, text):
    rows = read_csv(SAMPLES)
    rows[2]["Glucose"] = text
    source = tmp_path / "no-cifra.csv"
    write_csv(source, rows)
    result = run_r(rscript, str(source), url=api_url)
    assert result.returncode == 1
    assert f"Error: Fila 4 de «{source}»: «{text}» no es un número válido para Glucose" in result.stderr


# ------------------------------------------------------------------ Decimales: con punto o con coma

DECIMAL_FORMAT = "con punto o con coma decimal (85.5 o 85,5) y sin separador de miles"


def test_a_decimal_comma_in_quotes_reads_like_a_point(rscript, api_url, card, tmp_path):
    names = [feature["name"] for feature in card["features"]]
    rows = read_csv(SAMPLES)
    rows[0]["Insulin"] = "85.5"
    meant = [{name: float(row[name]) for name in names} for row in rows]
    batch = api(api_url, {"instances": meant})
    for mark in (".", ","):
        source = tmp_path / f"decimales{mark}csv"
        write_csv(source, [{k: v.replace(".", mark) if k in names else v for k, v in row.items()} for row in rows])
        assert mark == "." or '"85,5"' in source.read_text(encoding="utf-8")  # entre comillas, como manda el CSV
        result = run_r(rscript, str(source), str(tmp_path / f"salida{mark}csv"), url=api_url)
        assert result.returncode == 0, result.stderr
        assert_csv_matches_api(tmp_path / f"salida{mark}csv", source, batch["predictions"], batch["model_version"])


def test_an_unquoted_decimal_comma_is_explained_not_shifted_into_other_columns(rscript, api_url, card, tmp_path):
    names = [feature["name"] for feature in card["features"]]
    rows = read_csv(SAMPLES)
    lines = [",".join(rows[0])] + [",".join(row.values()) for row in rows]
    lines[2] = lines[2].replace(",0,36.8,", ",85,5,36.8,")  # la segunda paciente, sin comillas
    source = tmp_path / "sin-comillas.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert names[0] in lines[0] and ",85,5," in lines[2]
    result = run_r(rscript, str(source), str(tmp_path / "salida.csv"), url=api_url)
    assert result.returncode == 1 and not (tmp_path / "salida.csv").exists()
    assert result.stderr.strip() == (f"Error: Fila 3 de «{source}»: tiene más valores que columnas la cabecera. ¿Una "
                                     "coma decimal sin comillas? En un CSV separado por comas, la coma decimal va "
                                     'entre comillas ("85,5") o se escribe con punto (85.5).')


@pytest.mark.parametrize("text", ["1.234,5", "1,234.5", "85,5,1", "1e3"])
def test_an_ambiguous_number_is_refused_naming_row_and_field(rscript, api_url, tmp_path, text):
    rows = read_csv(SAMPLES)
    rows[1]["Insulin"] = text
    source = tmp_path / "ambiguo.csv"
    write_csv(source, rows)
    result = run_r(rscript, str(source), url=api_url)
    assert result.returncode == 1
    assert f"Error: Fila 3 de «{source}»: «{text}» no es un número válido para Insulin: escribe una cifra " \
           f"{DECIMAL_FORMAT}" in result.stderr


def test_a_csv_without_the_model_columns_says_which(rscript, api_url, tmp_path):
    source = tmp_path / "otra-cosa.csv"
    source.write_text("nombre,edad\nAna,30\n", encoding="utf-8")
    result = run_r(rscript, str(source), url=api_url)
    assert result.returncode == 1
    assert f"A «{source}» le faltan las columnas: Pregnancies, Glucose" in result.stderr


# ------------------------------------------------------------------ La clave (API_KEY)


def test_with_api_key_the_client_sends_it(rscript, keyed_api_url, card, tmp_path):
    key = KEYS.split(",")[1]
    patient = example_patient(rscript, keyed_api_url)
    expected = api(keyed_api_url, patient, key=key)
    result = run_r(rscript, url=keyed_api_url, key=key)
    assert result.returncode == 0, result.stderr
    assert f"({spanish_decimal(expected['probability'], 6)})" in result.stdout
    output = tmp_path / "con-clave.csv"
    result = run_r(rscript, str(SAMPLES), str(output), url=keyed_api_url, key=key)
    assert result.returncode == 0, result.stderr
    names = [feature["name"] for feature in card["features"]]
    batch = api(keyed_api_url, {"instances": [{n: float(r[n]) for n in names} for r in read_csv(SAMPLES)]}, key=key)
    assert_csv_matches_api(output, SAMPLES, batch["predictions"], batch["model_version"])


@pytest.mark.parametrize(("key", "sentence"), [
    (None, "Error: La API pide una clave (401): defínela en la variable de entorno API_KEY"),
    ("clave-equivocada", "Error: La API rechazó la clave (401): la de API_KEY no es ninguna de las del servidor."),
])
def test_without_the_right_key_one_spanish_sentence(rscript, keyed_api_url, key, sentence):
    for args in ((), (str(SAMPLES), os.devnull)):
        result = run_r(rscript, *args, url=keyed_api_url, key=key)
        assert result.returncode == 3
        assert sentence in result.stderr, result.stderr


# ------------------------------------------------------------------ Sin API y uso


def test_unreachable_api_is_one_spanish_sentence(rscript):
    url = f"http://127.0.0.1:{free_port()}"  # nadie escucha
    result = run_r(rscript, url=url)
    assert result.returncode == 3
    assert result.stderr.startswith(f"Error: No se puede conectar con la API en {url}: ¿está en marcha?")


def test_help_and_wrong_usage(rscript):
    url = "http://127.0.0.1:9"
    result = run_r(rscript, "--help", url=url)
    assert (result.returncode, result.stdout.startswith("Uso: Rscript mobile_client/cliente.R")) == (0, True)
    assert f"cifras {DECIMAL_FORMAT}; en él, la coma decimal va entre comillas (\"85,5\")" in result.stdout
    result = run_r(rscript, "a.csv", "b.csv", "c.csv", url=url)
    assert (result.returncode, result.stderr.startswith("Uso:")) == (2, True)
