"""La clave de la API en la app, en Chromium contra Gunicorn.

- Viaja solo a la API (el origen) para la que se escribió y solo en las rutas que la piden
  (POST /v1/predict y GET /v1/model.onnx): nunca a la vista pública GET /v1/model, ni a los
  archivos de la app, ni a otra API a la que se cambie la URL.
- Se guarda en sessionStorage (se olvida al cerrar la pestaña); en localStorage solo si se marca
  «Recordar la clave en este dispositivo». La clave sola de versiones anteriores (en localStorage,
  sin su origen) se borra.

Cada petición se registra con page.on("request") y se miran sus cabeceras.
"""

import csv
import json
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from support import ROOT, have, need, running_gunicorn

WEB = ROOT / "mobile_client" / "web"
VENDOR = WEB / "vendor"
SAMPLES = ROOT / "mobile_client" / "pacientes.csv"
API_KEY = "clave-de-prueba-origen"
BEARER = f"Bearer {API_KEY}"
NEEDS_KEY = {"/v1/predict", "/v1/model.onnx"}
READY = "#offline-status[data-state=ready]"
STORAGE_KEY = "diabetes-api-key"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def serve(served_model_dir, folder, **extra):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off",
           "WEB_DIR": str(WEB), "API_KEY": "", **extra}
    return running_gunicorn(folder, env=env)


@pytest.fixture(scope="module")
def keyed_api_url(served_model_dir, tmp_path_factory):
    """La API con clave, que sirve la app (como Lightsail con API_KEY)."""
    if not (VENDOR / "vendor.json").exists() and have("node"):
        result = subprocess.run([sys.executable, "-m", "mobile_client.web_build"], cwd=ROOT, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
    need((VENDOR / "vendor.json").exists(), "falta el motor de la app web en mobile_client/web/vendor/ (make web)")
    with serve(served_model_dir, tmp_path_factory.mktemp("api-clave"), API_KEY=API_KEY) as (url, _process):
        yield url


@pytest.fixture(scope="module")
def other_api_url(served_model_dir, tmp_path_factory):
    """Otra API (otro origen: otro puerto), sin clave: no debe recibir la de la primera."""
    with serve(served_model_dir, tmp_path_factory.mktemp("api-otra")) as (url, _process):
        yield url


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-ES")
    context.set_default_timeout(30_000)
    context.errors = []
    yield context
    context.close()
    assert not context.errors, f"errores de JavaScript en la página: {context.errors}"


class Recorder:
    """Cada petición de la página: (origen, ruta, cabecera Authorization)."""

    def __init__(self, page):
        self.seen = []
        page.on("request", lambda r: self.seen.append((f"{urlsplit(r.url).scheme}://{urlsplit(r.url).netloc}",
                                                       urlsplit(r.url).path, r.headers.get("authorization"))))

    def paths(self, origin, authorization):
        return {path for where, path, auth in self.seen if where == origin and auth == authorization}


def new_page(context):
    page = context.new_page()
    page.on("pageerror", lambda error: context.errors.append(str(error)))
    return page


def open_app(page, url):
    page.goto(url + "/app/")
    page.locator("#patient-form").wait_for(state="visible")
    page.evaluate("document.getElementById('settings').open = true")


def type_key(page, key, remember=False):
    page.locator("#api-key").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.locator("#api-key").press_sequentially(key)
    if remember:
        page.check("#api-key-remember")
    page.click("#settings-form button[type=submit]")
    page.locator("#patient-form").wait_for(state="visible")


def connect_to(page, url):
    page.fill("#api-url", url)
    page.click("#settings-form button[type=submit]")
    page.locator(f"#status:has-text('Conectado con {url}')").wait_for()


def submit(page, card):
    with SAMPLES.open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    for feature in card["features"]:
        page.fill(f"#f-{feature['name']}", row[feature["name"]])
    page.evaluate("document.getElementById('result').hidden = true; document.getElementById('alert').hidden = true")
    page.click("#submit")
    page.locator("#result:not([hidden]), #alert:not([hidden])").first.wait_for(state="visible")
    return page.inner_text("#result-label") if page.locator("#result").is_visible() else page.inner_text("#alert")


def stored(page):
    """Lo guardado con la clave en cada almacén, y si la clave aparece en algún otro valor de localStorage."""
    return page.evaluate("""(name) => ({
        session: JSON.parse(sessionStorage.getItem(name)), local: JSON.parse(localStorage.getItem(name)),
        localValues: Object.keys(localStorage).map((k) => localStorage.getItem(k)) })""", STORAGE_KEY)


# ------------------------------------------------------------------ A quién y cuándo viaja

def test_the_key_goes_only_to_its_api_and_only_where_it_is_needed(context, keyed_api_url, other_api_url, card):
    page = new_page(context)
    recorder = Recorder(page)
    open_app(page, keyed_api_url)
    type_key(page, API_KEY)
    page.locator(READY).wait_for(state="attached", timeout=120_000)  # GET /v1/model.onnx, con la clave
    assert "Riesgo" in submit(page, card) and page.get_attribute("#result", "data-where") == "server"
    assert recorder.paths(keyed_api_url, BEARER) == NEEDS_KEY  # la clave, solo en las rutas que la piden
    assert "/v1/model" in recorder.paths(keyed_api_url, None)  # la vista pública va sin ella
    assert {auth for _, path, auth in recorder.seen if path not in NEEDS_KEY} == {None}  # ni la app ni el motor

    recorder.seen.clear()
    connect_to(page, other_api_url)  # otra API: la clave de la primera no se le pasa
    assert "Riesgo" in submit(page, card)
    assert {"/v1/model", "/v1/predict"} <= recorder.paths(other_api_url, None)
    assert [seen for seen in recorder.seen if seen[2] is not None] == []
    assert page.input_value("#api-key") == ""
    assert f"La clave guardada es para {keyed_api_url}: no se envía a {other_api_url}" in page.inner_text(
        "#api-key-note")
    assert stored(page)["session"] == {"origin": keyed_api_url, "key": API_KEY}

    recorder.seen.clear()
    page.click("#api-url-reset")  # de vuelta a la API de la clave: vuelve a viajar, solo a ella
    page.locator(f"#status:has-text('Conectado con {keyed_api_url}')").wait_for()
    assert page.input_value("#api-key") == API_KEY and page.locator("#api-key-note").is_hidden()
    assert "Riesgo" in submit(page, card)
    assert "/v1/predict" in recorder.paths(keyed_api_url, BEARER)
    assert "/v1/model" in recorder.paths(keyed_api_url, None)
    assert recorder.paths(other_api_url, BEARER) == set()


# ------------------------------------------------------------------ Dónde se guarda

def test_the_key_is_forgotten_with_the_tab_unless_remembered(context, keyed_api_url, card):
    first = new_page(context)
    open_app(first, keyed_api_url)
    type_key(first, API_KEY)
    saved = stored(first)
    assert saved["session"] == {"origin": keyed_api_url, "key": API_KEY} and saved["local"] is None
    assert not [value for value in saved["localValues"] if value and API_KEY in value]
    first.reload()  # la misma pestaña la conserva
    first.locator("#patient-form").wait_for(state="visible")
    assert first.input_value("#api-key") == API_KEY and not first.is_checked("#api-key-remember")

    second = new_page(context)  # otra pestaña (o el navegador cerrado y abierto): no la tiene
    recorder = Recorder(second)
    open_app(second, keyed_api_url)
    assert second.input_value("#api-key") == ""
    assert "Falta la clave de la API" in submit(second, card)
    assert recorder.paths(keyed_api_url, None) >= {"/v1/predict"} and recorder.paths(keyed_api_url, BEARER) == set()

    first.evaluate("document.getElementById('settings').open = true")
    first.check("#api-key-remember")  # «Recordar la clave en este dispositivo»
    saved = stored(first)
    assert saved["local"] == {"origin": keyed_api_url, "key": API_KEY} and saved["session"] is None

    third = new_page(context)
    recorder = Recorder(third)
    open_app(third, keyed_api_url)
    assert third.input_value("#api-key") == API_KEY and third.is_checked("#api-key-remember")
    assert "Riesgo" in submit(third, card) and "/v1/predict" in recorder.paths(keyed_api_url, BEARER)

    third.uncheck("#api-key-remember")  # desmarcarla la borra de este dispositivo al momento
    saved = stored(third)
    assert not [value for value in saved["localValues"] if value and API_KEY in value]
    assert saved["session"] == {"origin": keyed_api_url, "key": API_KEY}


def test_a_key_saved_by_an_older_version_without_its_origin_is_dropped(context, keyed_api_url, card):
    page = new_page(context)
    open_app(page, keyed_api_url)
    page.evaluate("([name, key]) => localStorage.setItem(name, key)", [STORAGE_KEY, API_KEY])  # como antes
    recorder = Recorder(page)
    page.reload()
    page.locator("#patient-form").wait_for(state="visible")
    assert page.input_value("#api-key") == ""
    assert stored(page)["local"] is None and stored(page)["session"] is None
    assert "Falta la clave de la API" in submit(page, card)
    assert [seen for seen in recorder.seen if seen[2] is not None] == []
    assert json.dumps(recorder.seen).count("/v1/predict") == 1
