"""Las cifras del formulario de la app, escritas como las escribe una persona.

Chromium con el idioma «es-ES» y el teclado de verdad (`press_sequentially`, tecla a tecla, no
`fill`): «85,5» y «85.5» son la misma cifra en cada casilla, con conexión (lo que se envía a la API)
y en el dispositivo (lo que calcula onnxruntime-web), y el resultado es el de la API para esa cifra.
«1.234,5» (¿mil doscientos o uno con algo?) y otras cosas que no son una cifra se rechazan con un
mensaje en español que nombra la casilla, sin enviar ni calcular nada.

Antes, con `type="number"`, Chromium en español tiraba la coma: «85,5» de insulina llegaba a la API
como 855, sin un aviso.
"""

import csv
import json
import subprocess
import sys

import pytest
import requests

from support import ROOT, have, need, running_gunicorn

WEB = ROOT / "mobile_client" / "web"
VENDOR = WEB / "vendor"
SAMPLES = ROOT / "mobile_client" / "pacientes.csv"
INVALID = "Los datos de la paciente no son válidos: revisa los campos indicados."
SETTLED = "#offline-status:not([data-state=preparing]):not([data-state=off])"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def api_url(served_model_dir, tmp_path_factory):
    """La API con la app en /app/ y el motor de `make web` (lo instala si falta y hay Node)."""
    if not (VENDOR / "vendor.json").exists() and have("node"):
        result = subprocess.run([sys.executable, "-m", "mobile_client.web_build"], cwd=ROOT, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
    need((VENDOR / "vendor.json").exists(), "falta el motor de la app web en mobile_client/web/vendor/ (make web)")
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off",
           "WEB_DIR": str(WEB), "API_KEY": ""}
    with running_gunicorn(tmp_path_factory.mktemp("api-decimales"), env=env) as (url, _process):
        yield url


@pytest.fixture(params=["api", "device"])
def app(request, browser, api_url):
    """La app en un perfil nuevo en español, con el cálculo en el servidor o en el dispositivo."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-ES")
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors, sent = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/v1/predict") else None)
    page.goto(api_url + "/app/")
    page.locator("#patient-form").wait_for(state="visible")
    assert page.evaluate("navigator.language") == "es-ES"
    page.evaluate("document.getElementById('settings').open = true")
    page.check(f"input[name=where][value={request.param}]")
    if request.param == "device":
        page.locator(SETTLED).wait_for(state="attached", timeout=120_000)
        assert page.get_attribute("#offline-status", "data-state") == "ready", page.text_content("#offline-status")
    yield page, request.param, sent
    context.close()
    assert not errors, f"errores de JavaScript en la página: {errors}"


# ------------------------------------------------------------------ Ayudas

def base_patient(card):
    with SAMPLES.open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    return {f["name"]: int(row[f["name"]]) if f["type"] == "integer" else float(row[f["name"]])
            for f in card["features"]}


def meant_value(feature):
    """Una cifra con decimales dentro del rango: quitarle la coma la saca del rango o la cambia."""
    low, high = feature["min"], feature["max"]
    value = round(low + (high - low) * 0.27, 1 if high - low >= 10 else 3)
    return value + 0.5 if float(value).is_integer() else value


def written(value, mark):
    """La cifra como la escribe una persona, con `mark` («,» o «.») como separador decimal."""
    return (str(int(value)) if float(value).is_integer() else repr(float(value))).replace(".", mark)


def type_into(page, name, text):
    """Vacía la casilla y escribe `text` tecla a tecla, como con el teclado."""
    field = page.locator(f"#f-{name}")
    field.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    field.press_sequentially(text)
    assert field.input_value() == text  # la casilla guarda lo que se escribió, coma incluida


def submit(page):
    """Pulsa «Calcular riesgo» y espera el resultado, el aviso o el bloqueo del propio navegador."""
    page.evaluate("document.getElementById('result').hidden = true; document.getElementById('alert').hidden = true")
    page.click("#submit")
    page.wait_for_function("""() => !document.getElementById('result').hidden ||
        !document.getElementById('alert').hidden || !document.getElementById('patient-form').checkValidity()""")
    blocked = page.evaluate("""[...document.querySelectorAll('#fields input')].filter((i) => !i.checkValidity())
        .map((i) => `${i.name}: ${i.validationMessage}`)""")
    assert not blocked, f"el navegador no deja enviar el formulario: {blocked}"


def api_answer(api_url, patient):
    response = requests.post(api_url + "/v1/predict", json=patient, timeout=10)
    response.raise_for_status()
    return response.json()


def api_message(api_url, patient, name):
    details = requests.post(api_url + "/v1/predict", json=patient, timeout=10).json()["error"]["details"]
    return next(detail["message"] for detail in details if detail["field"] == name)


# ------------------------------------------------------------------ Coma o punto: la misma cifra

def test_every_field_reads_a_decimal_comma_and_point_as_the_same_number(app, api_url, card):
    page, where, sent = app
    for mark in (",", "."):
        check_every_field(page, where, sent, api_url, card, mark)
    assert where == "api" or sent == []  # «solo en este dispositivo»: nada salió hacia la API


def check_every_field(page, where, sent, api_url, card, mark):
    base = base_patient(card)
    for name, value in base.items():
        type_into(page, name, written(value, mark))
    for feature in card["features"]:
        name = feature["name"]
        if feature["type"] == "integer":  # «35,0» es 35; «2,5», «Debe ser un número entero.» como en la API
            meant, text = base[name], f"{base[name]}{mark}0"
        else:
            meant = meant_value(feature)
            text = written(meant, mark)
        patient = {**base, name: meant}
        expected = api_answer(api_url, patient)
        type_into(page, name, text)
        submit(page)
        assert page.locator("#result").is_visible(), f"{name}={text!r}: {page.inner_text('#alert')!r}"
        shown = float(page.get_attribute("#result", "data-probability"))
        assert abs(shown - expected["probability"]) <= 1e-6 + 1e-12, (name, text, shown, expected)
        assert page.inner_text("#result-label") == expected["label"]
        assert page.get_attribute("#result", "data-where") == ("device" if where == "device" else "server")
        if where == "api":
            assert sent[-1] == patient  # lo que se quiso decir, no 855 por 85,5
        if feature["type"] == "integer":
            type_into(page, name, f"2{mark}5")
            submit(page)
            expected_error = api_message(api_url, {**base, name: 2.5}, name)
            assert page.inner_text(f"#f-{name}-error") == expected_error == "Debe ser un número entero."
        type_into(page, name, written(base[name], mark))


# ------------------------------------------------------------------ Lo que no es una cifra

def test_an_ambiguous_or_garbled_number_is_refused_naming_the_field(app, api_url, card):
    page, where, sent = app
    base = base_patient(card)
    for name, value in base.items():
        type_into(page, name, written(value, ","))
    for feature in card["features"]:
        name, label = feature["name"], feature["label"]
        type_into(page, name, "1.234,5")
        submit(page)
        error = page.locator(f"#f-{name}-error")
        assert error.is_visible(), f"{name}: sin mensaje; resultado visible: {page.locator('#result').is_visible()}"
        assert error.inner_text().startswith(f"«1.234,5» no es un número válido para {label}: ")
        assert "separador de miles" in error.inner_text() or "puntos de miles" in error.inner_text()
        assert page.get_attribute(f"#f-{name}", "aria-invalid") == "true"
        assert INVALID in page.inner_text("#alert") and page.locator("#result").is_hidden()
        type_into(page, name, written(base[name], ","))
    measured = next(f for f in card["features"] if f["type"] != "integer" and f["zero_means_missing"])
    garbage = ["85,5,1", "85.5.1", "1e3", "85 5", "doce", "85,", ",5", "NaN", "Infinity"]
    for text in garbage if where == "api" else garbage[:2]:  # el mismo lector en los dos caminos
        type_into(page, measured["name"], text)
        submit(page)
        message = page.inner_text(f"#f-{measured['name']}-error")
        assert message.startswith(f"«{text}» no es un número válido para {measured['label']}: "), (text, message)
    assert sent == [] and page.evaluate("typeof window.ort") == "undefined"  # ni la API ni el motor

    # Los rangos, como antes y con el texto de la API: «1234,5» es una cifra, pero fuera de rango.
    type_into(page, measured["name"], "1234,5")
    submit(page)
    expected = api_message(api_url, {**base, measured["name"]: 1234.5}, measured["name"])
    assert page.inner_text(f"#f-{measured['name']}-error") == expected
    assert sent == []
