"""App web móvil en Chromium sin interfaz (Playwright), a tamaño de teléfono, contra la API real.

Las capturas quedan en test-artifacts/ (ignorada por git) para revisarlas a ojo.
"""

import csv

import pytest
import requests

from support import ROOT, free_port, running_gunicorn

WEB = ROOT / "mobile_client" / "web"
ARTIFACTS = ROOT / "test-artifacts"
SAMPLES = ROOT / "mobile_client" / "pacientes.csv"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def api_url(served_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("api-web")
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off",
           "PIDFILE": str(folder / "gunicorn.pid"),  # cada servidor de prueba, su archivo de PID
           "WEB_DIR": str(WEB),  # como `make app`: la API sirve la app en /app/
           "CORS_ALLOW_FILE": "1"}  # y la app abierta como archivo (origen null), como en local
    with running_gunicorn(folder, env=env) as (url, _process):
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PHONE, locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"errores de JavaScript en la página: {errors}"


def sample(card, index):
    with SAMPLES.open(encoding="utf-8") as handle:
        row = list(csv.DictReader(handle))[index]
    return {feature["name"]: float(row[feature["name"]]) for feature in card["features"]}


def open_app(page, api_url):
    page.goto(api_url + "/app/")
    page.locator("#patient-form").wait_for(state="visible")


def fill(page, patient):
    for name, value in patient.items():
        page.fill(f"#f-{name}", f"{value:g}")


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_form_shows_every_feature_of_the_card(page, api_url, card):
    open_app(page, api_url)
    assert page.locator("#patient-form input").count() == len(card["features"])
    for feature in card["features"]:
        field = page.get_by_label(f"{feature['label']} ({feature['unit']})", exact=True)
        zero_ok = feature["zero_means_missing"]
        # Texto con teclado numérico: la app lee «85,5» y «85.5» (tests/test_mobile_client_decimals.py).
        assert field.get_attribute("type") == "text" and field.get_attribute("required") is not None
        assert field.get_attribute("inputmode") == ("numeric" if feature["type"] == "integer" else "decimal")
        hint = page.locator(f"#{field.get_attribute('aria-describedby')}").inner_text()
        assert ("0 si no se midió" in hint) == zero_ok
        if feature["max"] >= 1000:  # punto de miles, como la línea de órdenes: «1.000», no «1000»
            assert f"{int(feature['max']):,}".replace(",", ".") in hint, hint
    # Teclado: Tab pasa de un campo al siguiente, en el orden de la ficha.
    first, second = card["features"][0]["name"], card["features"][1]["name"]
    page.focus(f"#f-{first}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"f-{second}"
    # Legible a 360 px: nada se sale por la derecha.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_valid_submission_shows_the_api_result(page, api_url, card):
    patient = sample(card, 1)
    expected = requests.post(api_url + "/v1/predict", json=patient, timeout=10).json()
    open_app(page, api_url)
    fill(page, patient)
    # Registra los estados de «cargando» del botón sin depender de tiempos.
    page.evaluate("""() => { window.busy = []; new MutationObserver(() => window.busy.push(
        document.getElementById('submit').getAttribute('aria-busy') + ':' + document.getElementById('submit').disabled
      )).observe(document.getElementById('submit'), {attributes: true}); }""")
    page.click("#submit")
    result = page.locator("#result")
    result.wait_for(state="visible")
    assert float(result.get_attribute("data-probability")) == expected["probability"]
    assert result.get_attribute("data-prediction") == str(expected["prediction"])
    assert page.inner_text("#result-label") == expected["label"]
    assert expected["model_version"] in page.inner_text("#result-model")
    assert expected["label"] in page.text_content("#announce")  # lo oye quien usa lector de pantalla
    assert "true:true" in page.evaluate("window.busy")
    assert page.get_attribute("#submit", "aria-busy") == "false" and page.is_enabled("#submit")
    screenshot(page, "app-movil-resultado.png")


def test_out_of_range_value_shows_the_api_error_next_to_the_field(page, api_url, card):
    feature = card["features"][1]
    patient = {**sample(card, 0), feature["name"]: feature["max"] + 100}
    api_error = requests.post(api_url + "/v1/predict", json=patient, timeout=10).json()["error"]
    expected = next(d["message"] for d in api_error["details"] if d["field"] == feature["name"])
    open_app(page, api_url)
    fill(page, patient)
    page.evaluate("document.getElementById('patient-form').noValidate = true")  # que valide la API, no el navegador
    page.click("#submit")
    error = page.locator(f"#f-{feature['name']}-error")
    error.wait_for(state="visible")
    assert error.inner_text() == expected
    field = page.locator(f"#f-{feature['name']}")
    assert field.get_attribute("aria-invalid") == "true"
    assert f"f-{feature['name']}-error" in field.get_attribute("aria-describedby").split()
    assert page.evaluate("document.activeElement.id") == f"f-{feature['name']}"
    assert api_error["message"] in page.inner_text("#alert")
    assert page.locator("#result").is_hidden()
    screenshot(page, "app-movil-error.png")
    field.fill(f"{feature['min']:g}")  # al corregir, el aviso desaparece
    assert field.get_attribute("aria-invalid") is None and error.is_hidden()


def test_opened_as_a_file_it_uses_the_saved_url_and_explains_an_unreachable_api(page, api_url, card):
    page.goto((WEB / "index.html").as_uri())
    page.evaluate("document.getElementById('settings').open = true")
    page.fill("#api-url", api_url)
    page.click("#settings-form button[type=submit]")
    page.locator("#patient-form").wait_for(state="visible")  # CORS: el origen de file:// es «null»
    assert card["version"] in page.inner_text("#status")

    dead = f"http://127.0.0.1:{free_port()}"
    page.fill("#api-url", dead)
    page.click("#settings-form button[type=submit]")
    page.locator("#alert").wait_for(state="visible")
    message = page.inner_text("#alert")
    assert f"No se puede conectar con la API en {dead}" in message and "make app" in message
    assert page.locator("#patient-form").is_hidden() and page.is_visible("#retry")
    screenshot(page, "app-movil-sin-api.png")

    page.reload()  # la URL se recuerda en localStorage
    assert page.input_value("#api-url") == dead
    page.locator("#alert").wait_for(state="visible")
