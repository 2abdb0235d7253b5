"""La app web como PWA en Chromium sin interfaz (Playwright), contra la API real (gunicorn):
instalable, sin conexión con el modelo ONNX en el dispositivo (onnxruntime-web), la huella sha256
del modelo, la validación antes de calcular y la clave de la API.

Necesita el motor en mobile_client/web/vendor/ (`make web`): si falta y hay Node 18 o posterior,
la prueba lo instala; si no se puede, se salta (con CI=true, falla).

Las cifras de la app (latencia en el navegador frente a la API, lo que se descarga en la primera
visita y en las siguientes) las escribe `test_measurements` en test-artifacts/pwa-medidas.txt:

    CI=true .venv/bin/python -m pytest tests/test_mobile_client_pwa.py -k measurements -s
"""

import csv
import hashlib
import json
import random
import statistics
import subprocess
import sys
import time

import pytest
import requests

from support import CHROMIUM, IN_CI, ROOT, have, need, running_gunicorn
from support import CHROMIUM_ARGS as BASE_CHROMIUM_ARGS

WEB = ROOT / "mobile_client" / "web"
VENDOR = WEB / "vendor"
ARTIFACTS = ROOT / "test-artifacts"
SAMPLES = ROOT / "mobile_client" / "pacientes.csv"
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [*BASE_CHROMIUM_ARGS,
                 # «Otro equipo de la red»: un nombre que no es localhost, servido por http (no es un contexto seguro).
                 "--host-resolver-rules=MAP portatil.test 127.0.0.1"]
API_KEY = "clave-de-prueba-pwa"
NOT_INSTALLED = "El modo sin conexión no está instalado (make web)."
INVALID = "Los datos de la paciente no son válidos: revisa los campos indicados."
READY = "#offline-status[data-state=ready]"
SETTLED = "#offline-status:not([data-state=preparing]):not([data-state=off])"

pytestmark = pytest.mark.browser


# ------------------------------------------------------------------ Fixtures

@pytest.fixture(scope="module")
def vendor():
    """El motor de la app en web/vendor/: lo instala `mobile_client.web_build` si falta y hay Node."""
    if not (VENDOR / "vendor.json").exists() and have("node"):
        result = subprocess.run([sys.executable, "-m", "mobile_client.web_build"], cwd=ROOT, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
    need((VENDOR / "vendor.json").exists(), "falta el motor de la app web en mobile_client/web/vendor/ (make web, "
         "necesita Node 18 o posterior)")
    return json.loads((VENDOR / "vendor.json").read_text(encoding="utf-8"))


def serve(served_model_dir, folder, **extra):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off",
           "WEB_DIR": str(WEB), **extra}  # como `make app`: la API sirve la app en /app/
    return running_gunicorn(folder, env=env)


@pytest.fixture(scope="module")
def api_url(vendor, served_model_dir, tmp_path_factory):
    with serve(served_model_dir, tmp_path_factory.mktemp("api-pwa")) as (url, _process):
        yield url


@pytest.fixture(scope="module")
def keyed_api_url(vendor, served_model_dir, tmp_path_factory):
    with serve(served_model_dir, tmp_path_factory.mktemp("api-pwa-clave"), API_KEY=API_KEY) as (url, _process):
        yield url


@pytest.fixture
def context(browser):
    """Un perfil nuevo (sin service worker, cachés ni localStorage de otras pruebas)."""
    context = browser.new_context(viewport=PHONE, locale="es-ES")
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"errores de JavaScript en la página: {errors}"


# ------------------------------------------------------------------ Ayudas

def samples(card):
    with SAMPLES.open(encoding="utf-8") as handle:
        return [{f["name"]: float(row[f["name"]]) for f in card["features"]} for row in csv.DictReader(handle)]


def random_patients(card, count, seed=20261202):
    """Pacientes al azar dentro de los rangos de la ficha (y algún 0 = «no medido»)."""
    rng = random.Random(seed)
    patients = []
    for _ in range(count):
        patient = {}
        for feature in card["features"]:
            if feature["zero_means_missing"] and rng.random() < 0.2:
                patient[feature["name"]] = 0
            elif feature["type"] == "integer":
                patient[feature["name"]] = rng.randint(feature["min"], feature["max"])
            else:
                patient[feature["name"]] = round(rng.uniform(feature["min"], feature["max"]), 3)
        patients.append(patient)
    return patients


def text(value):
    """El número tal cual lo escribiría una persona, sin perder precisión (repr de Python)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def api_answer(api_url, patient, headers=None):
    response = requests.post(api_url + "/v1/predict", json=patient, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def open_app(page, api_url):
    page.goto(api_url + "/app/")
    page.locator("#patient-form").wait_for(state="visible")


def wait_offline_ready(page):
    """El modelo comprobado y el motor, guardados; el service worker, activo y al mando de la página."""
    # Un estado asentado (listo o error), leído en el mismo instante: la app puede volver a prepararse
    # (p. ej. al guardar la clave) y entre dos lecturas separadas el estado ya sería otro.
    state = page.wait_for_function(
        "() => { const s = document.querySelector('#offline-status')?.dataset.state;"
        " return s === 'ready' || s === 'error' ? s : null; }", timeout=120_000).json_value()
    assert state == "ready", page.text_content("#offline-status")
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => Boolean(r.active))")
    deadline = time.monotonic() + 10
    while not page.evaluate("Boolean(navigator.serviceWorker.controller)"):
        assert time.monotonic() < deadline, "el service worker no tomó el control de la página"
        time.sleep(0.1)


def choose_where(page, where):
    page.evaluate("document.getElementById('settings').open = true")
    page.check(f"input[name=where][value={where}]")


def submit(page, patient):
    """Rellena el formulario, lo envía y espera el resultado o el aviso (lo que aparezca)."""
    for name, value in patient.items():
        page.fill(f"#f-{name}", text(value))
    page.evaluate("document.getElementById('result').hidden = true; document.getElementById('alert').hidden = true")
    page.click("#submit")
    page.locator("#result:not([hidden]), #alert:not([hidden])").first.wait_for(state="visible")


def shown_result(page):
    section = page.locator("#result")
    assert section.is_visible(), f"no hay resultado; aviso: {page.text_content('#alert')!r}"
    return {"probability": float(section.get_attribute("data-probability")),
            "prediction": int(section.get_attribute("data-prediction")),
            "where": section.get_attribute("data-where"), "label": page.inner_text("#result-label"),
            "model": page.inner_text("#result-model")}


def assert_same_as_api(shown, expected, where):
    assert shown["where"] == where
    # Los dos redondean a 6 decimales un float32 que puede diferir en el último bit (otro motor):
    # como mucho, una unidad del sexto decimal (1e-6, más el error de representar los decimales).
    assert abs(shown["probability"] - expected["probability"]) <= 1e-6 + 1e-12, (shown, expected)
    assert shown["prediction"] == expected["prediction"] and shown["label"] == expected["label"]
    place = "Calculado en este dispositivo" if where == "device" else "Calculado en el servidor"
    assert place in shown["model"] and expected["model_version"] in shown["model"]


def tampered_model(served_model_dir, card):
    """Un ONNX válido del MISMO tamaño con otros coeficientes: cargaría y daría otra probabilidad."""
    import onnx

    version_dir = served_model_dir / "versions" / card["version"]
    model = onnx.load_from_string((version_dir / "model.onnx").read_bytes())
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name == "coefficients" and attribute.floats:
                changed = [value * 3 for value in attribute.floats]
                del attribute.floats[:]
                attribute.floats.extend(changed)  # floats empaquetados: 4 bytes cada uno, el mismo tamaño
                return model.SerializeToString()
    raise AssertionError("el modelo no tiene coeficientes que alterar")


# ------------------------------------------------------------------ Instalable

def test_chromium_reports_the_app_installable(playwright, api_url, tmp_path):
    manifest = requests.get(api_url + "/app/manifest.webmanifest", timeout=10).json()
    assert manifest["start_url"] == manifest["scope"] == "/app/" and manifest["display"] == "standalone"
    assert manifest["name"] == "Diabetes Prediction" and manifest["lang"] == "es"
    from PIL import Image

    sizes = set()
    for icon in manifest["icons"]:
        if icon["type"] == "image/png":
            with Image.open(WEB / icon["src"]) as image:
                assert f"{image.width}x{image.height}" == icon["sizes"]
            sizes.add((icon["sizes"], icon["purpose"]))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes

    # Un perfil persistente: en uno de incógnito (el de new_context) Chromium responde «in-incognito».
    context = playwright.chromium.launch_persistent_context(str(tmp_path / "perfil"), executable_path=str(CHROMIUM),
                                                            args=CHROMIUM_ARGS, viewport=PHONE, locale="es-ES")
    try:
        page = context.new_page()
        open_app(page, api_url)
        wait_offline_ready(page)
        cdp = context.new_cdp_session(page)
        assert cdp.send("Page.getAppManifest")["errors"] == []
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    finally:
        context.close()


# ------------------------------------------------------------------ Sin conexión

def test_without_network_every_patient_is_answered_on_the_device_like_the_api(page, context, api_url, card):
    patients = samples(card) + random_patients(card, 10)
    expected = [api_answer(api_url, patient) for patient in patients]
    open_app(page, api_url)
    wait_offline_ready(page)

    context.set_offline(True)  # sin red: la app sale del service worker y calcula en el dispositivo
    page.reload()
    page.locator("#patient-form").wait_for(state="visible")
    assert f"Sin conexión con {api_url}" in page.inner_text("#status")
    for patient, answer in zip(patients, expected, strict=True):
        submit(page, patient)
        assert_same_as_api(shown_result(page), answer, "device")


def test_auto_falls_back_to_the_device_when_the_api_does_not_answer(page, api_url, card):
    patient = samples(card)[1]
    expected = api_answer(api_url, patient)
    open_app(page, api_url)
    wait_offline_ready(page)
    submit(page, patient)
    assert_same_as_api(shown_result(page), expected, "server")

    page.route("**/v1/predict", lambda route: route.abort("connectionrefused"))  # la API cae
    submit(page, patient)
    assert_same_as_api(shown_result(page), expected, "device")

    choose_where(page, "api")  # «solo en el servidor»: sin API, un aviso y ningún resultado
    submit(page, patient)
    assert page.locator("#result").is_hidden() and "No se puede conectar con la API" in page.inner_text("#alert")


# ------------------------------------------------------------------ La huella del modelo

def test_a_model_that_does_not_match_its_sha256_is_refused(page, api_url, card, served_model_dir):
    genuine = (served_model_dir / "versions" / card["version"] / "model.onnx").read_bytes()
    fake = tampered_model(served_model_dir, card)
    assert len(fake) == len(genuine) and hashlib.sha256(fake).hexdigest() != hashlib.sha256(genuine).hexdigest()
    page.route("**/v1/model.onnx", lambda route: route.fulfill(status=200, body=fake,
                                                                content_type="application/octet-stream"))
    open_app(page, api_url)
    page.locator(SETTLED).wait_for(state="attached", timeout=120_000)
    assert page.get_attribute("#offline-status", "data-state") == "error"
    assert "no coincide con la huella sha256" in page.text_content("#offline-status")
    assert page.evaluate("caches.open('diabetes-model').then((c) => c.keys()).then((k) => k.length)") == 0

    choose_where(page, "device")
    submit(page, samples(card)[0])
    assert page.locator("#result").is_hidden()
    assert "no coincide con la huella sha256" in page.inner_text("#alert")


def test_a_new_published_version_replaces_the_saved_model(page, api_url, card, served_model_dir):
    import numpy as np
    import onnxruntime

    open_app(page, api_url)
    wait_offline_ready(page)
    # La API publica otra versión (aquí, emulada): otra vista y otro ONNX, con su huella correcta.
    fake = tampered_model(served_model_dir, card)
    view = {**requests.get(api_url + "/v1/model", timeout=10).json(), "version": "v-nueva"}
    view["onnx"] = {**view["onnx"], "sha256": hashlib.sha256(fake).hexdigest(), "size": len(fake)}
    page.route("**/v1/model", lambda route: route.fulfill(status=200, json=view))
    page.route("**/v1/model.onnx", lambda route: route.fulfill(status=200, body=fake,
                                                                content_type="application/octet-stream"))
    page.reload()
    page.locator(f"{READY}:has-text('v-nueva')").wait_for(state="attached")
    keys = page.evaluate("caches.open('diabetes-model').then((c) => c.keys()).then((k) => k.map((r) => r.url))")
    assert len(keys) == 1 and "version=v-nueva" in keys[0]  # la versión anterior ya no está

    patient = samples(card)[1]
    session = onnxruntime.InferenceSession(fake, providers=["CPUExecutionProvider"])
    row = np.array([[patient[f["name"]] for f in card["features"]]], dtype=np.float32)
    expected = float(session.run(["probabilities"], {session.get_inputs()[0].name: row})[0][0][1])
    choose_where(page, "device")
    submit(page, patient)
    shown = shown_result(page)
    assert "v-nueva" in shown["model"] and abs(shown["probability"] - round(expected, 6)) <= 1e-6 + 1e-12
    assert abs(shown["probability"] - api_answer(api_url, patient)["probability"]) > 1e-3  # no es el modelo viejo


# ------------------------------------------------------------------ Validación antes de calcular

@pytest.mark.parametrize("where", ["auto", "device"])
def test_invalid_values_are_rejected_before_either_path(page, api_url, card, where):
    sent = []
    page.route("**/v1/predict", lambda route: (sent.append(route.request.post_data), route.continue_()))
    open_app(page, api_url)
    wait_offline_ready(page)
    choose_where(page, where)
    page.evaluate("document.getElementById('patient-form').noValidate = true")  # que valide la app, no el navegador
    base = samples(card)[0]
    numeric = next(f for f in card["features"] if f["zero_means_missing"])
    integer = next(f for f in card["features"] if f["type"] == "integer")
    cases = [(numeric, numeric["max"] + 100), (integer, integer["min"] + 0.5)]
    for feature, value in cases:
        patient = {**base, feature["name"]: value}
        api_error = requests.post(api_url + "/v1/predict", json=patient, timeout=10).json()["error"]
        expected = next(d["message"] for d in api_error["details"] if d["field"] == feature["name"])
        submit(page, patient)
        error = page.locator(f"#f-{feature['name']}-error")
        assert error.is_visible() and error.inner_text() == expected  # el mismo texto que la API
        assert page.get_attribute(f"#f-{feature['name']}", "aria-invalid") == "true"
        assert INVALID in page.inner_text("#alert") and page.locator("#result").is_hidden()
    assert sent == [] and page.evaluate("typeof window.ort") == "undefined"  # no se calculó en ningún sitio

    submit(page, {**base, numeric["name"]: 0})  # 0 = «no medido» sí vale
    assert shown_result(page)["where"] == ("device" if where == "device" else "server")


# ------------------------------------------------------------------ La clave de la API

def test_the_api_key_is_sent_as_bearer_and_kept_across_reloads(page, keyed_api_url, card):
    seen = {}

    def record(route):
        path = route.request.url.removeprefix(keyed_api_url)
        seen.setdefault(path, set()).add(route.request.headers.get("authorization"))
        route.continue_()

    page.route("**/v1/**", record)
    open_app(page, keyed_api_url)  # la vista pública del modelo no pide clave; el modelo y las predicciones, sí
    page.locator(SETTLED).wait_for(state="attached")
    assert page.get_attribute("#offline-status", "data-state") == "error"
    assert "pide una clave" in page.text_content("#offline-status")
    patient = samples(card)[2]
    submit(page, patient)
    assert page.locator("#result").is_hidden() and "Falta la clave de la API" in page.inner_text("#alert")

    page.evaluate("document.getElementById('settings').open = true")
    page.fill("#api-key", API_KEY)
    # Cada cambio del formulario o del aviso, visto al final de su tarea: el error viejo («pide una clave»)
    # no debe quedarse junto al formulario que vuelve, o quien lo lee (y la espera de abajo) lo toma por el nuevo.
    page.evaluate("""() => {
        window.stale = [];
        const form = document.getElementById('patient-form'), note = document.getElementById('offline-status');
        new MutationObserver(() => {
            if (!form.hidden && note.dataset.state === 'error') window.stale.push(note.textContent);
        }).observe(document.body, { attributes: true, subtree: true, childList: true });
    }""")
    page.click("#settings-form button[type=submit]")
    page.locator("#patient-form").wait_for(state="visible")
    wait_offline_ready(page)  # ahora /v1/model.onnx llega con la clave
    assert page.evaluate("window.stale") == []
    submit(page, patient)
    expected = api_answer(keyed_api_url, patient, headers={"Authorization": f"Bearer {API_KEY}"})
    assert_same_as_api(shown_result(page), expected, "server")
    bearer = f"Bearer {API_KEY}"
    assert bearer in seen["/v1/model.onnx"] and bearer in seen["/v1/predict"]

    page.reload()  # la misma pestaña conserva la clave (sessionStorage; más en tests/test_mobile_client_key.py)
    page.locator("#patient-form").wait_for(state="visible")
    assert page.input_value("#api-key") == API_KEY and page.get_attribute("#api-key", "type") == "password"
    seen.clear()
    submit(page, patient)
    assert_same_as_api(shown_result(page), expected, "server")
    assert seen["/v1/predict"] == {bearer}


# ------------------------------------------------------------------ Sin motor o fuera de un contexto seguro

def test_without_make_web_the_app_works_online_and_says_offline_mode_is_missing(page, api_url, card):
    page.route("**/app/vendor/**", lambda route: route.fulfill(status=404, body="no"))
    open_app(page, api_url)
    page.locator(SETTLED).wait_for(state="attached")
    assert page.get_attribute("#offline-status", "data-state") == "missing"
    assert page.text_content("#offline-status") == NOT_INSTALLED
    patient = samples(card)[3]
    submit(page, patient)
    assert_same_as_api(shown_result(page), api_answer(api_url, patient), "server")


@pytest.mark.parametrize("how", ["archivo", "http desde otro equipo"])
def test_outside_a_secure_context_it_stays_an_online_page_and_says_why(page, api_url, card, how):
    if how == "archivo":
        page.goto((WEB / "index.html").as_uri())
    else:
        open_app(page, api_url.replace("127.0.0.1", "portatil.test"))
        assert page.evaluate("window.isSecureContext") is False
        patient = samples(card)[4]
        submit(page, patient)  # con conexión, la API responde
        assert_same_as_api(shown_result(page), api_answer(api_url, patient), "server")
        assert page.evaluate("navigator.serviceWorker === undefined")
    assert page.get_attribute("#offline-status", "data-state") == "insecure"
    message = page.text_content("#offline-status")
    assert "contexto seguro" in message and message.endswith(".") and ". " not in message  # una frase


# ------------------------------------------------------------------ Cifras

def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def network_bytes(context, action):
    """Bytes que llegan por la red (cuerpo tal como viaja, comprimido o no, más cabeceras), por archivo."""
    downloaded = {}

    def finished(request):
        response = request.response()
        if response is None or response.from_service_worker:
            return  # servido por el service worker desde su caché: nada por la red
        sizes = request.sizes()
        name = request.url.split("://", 1)[1].split("/", 1)[1].split("?")[0]
        downloaded[name] = downloaded.get(name, 0) + sizes["responseBodySize"] + sizes["responseHeadersSize"]

    pending = set()

    def started(request):
        pending.add(request)

    def done(request):
        pending.discard(request)
        if request.failure is None:
            finished(request)

    context.on("request", started)
    context.on("requestfinished", done)
    context.on("requestfailed", done)
    try:
        action()
        for page in context.pages:  # lo que termine justo después (iconos del manifiesto)
            page.wait_for_load_state("networkidle")
        deadline = time.monotonic() + 10
        while pending:  # cada espera de Playwright entrega los eventos pendientes
            assert time.monotonic() < deadline, f"peticiones sin terminar: {[r.url for r in pending]}"
            context.pages[0].wait_for_timeout(50)
    finally:
        for event, listener in (("request", started), ("requestfinished", done), ("requestfailed", done)):
            context.remove_listener(event, listener)
    return downloaded


APP_LOOP = """async ({ rows, names, where }) => {
    // Desde el clic en «Calcular riesgo» hasta que se ve el resultado, dentro de la página (sin Playwright).
    document.querySelector(`input[name=where][value=${where}]`).click();
    const result = document.getElementById('result');
    const times = [];
    for (const row of rows) {
      names.forEach((name, i) => { document.getElementById(`f-${name}`).value = String(row[i]); });
      result.hidden = true;
      const shown = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(document.getElementById('alert').textContent)), 10000);
        const observer = new MutationObserver(() => {
          if (!result.hidden) { observer.disconnect(); clearTimeout(timer); resolve(); }
        });
        observer.observe(result, { attributes: true, attributeFilter: ['hidden'] });
      });
      const start = performance.now();
      document.getElementById('submit').click();
      await shown;
      times.push(performance.now() - start);
      if (result.dataset.where !== (where === 'device' ? 'device' : 'server')) throw new Error(result.dataset.where);
    }
    return times.slice(1);
}"""

ENGINE_LOOP = """async (rows) => {
    // Solo el motor: la sesión de onnxruntime-web con el modelo guardado, como la usa la app.
    const cache = await caches.open('diabetes-model');
    const [key] = await cache.keys();
    const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const times = [];
    const all = performance.now();
    for (const row of rows) {
      const start = performance.now();
      const input = new ort.Tensor('float32', Float32Array.from(row), [1, row.length]);
      const out = await session.run({ [session.inputNames[0]]: input });
      Number(Number(out.probabilities.data[1]).toFixed(6));
      times.push(performance.now() - start);
    }
    return { times: times.slice(1), mean: (performance.now() - all) / rows.length };
}"""

FETCH_LOOP = """async ({ rows, names }) => {
    // La petición REST sola, desde la misma página: fetch + JSON.
    const times = [];
    for (const row of rows) {
      const body = JSON.stringify(Object.fromEntries(names.map((name, i) => [name, row[i]])));
      const start = performance.now();
      const response = await fetch('/v1/predict', { method: 'POST', body,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' } });
      await response.json();
      times.push(performance.now() - start);
    }
    return times.slice(1);
}"""


def ms(values):
    return f"p50 {statistics.median(values):.2f} ms, p99 {percentile(values, 0.99):.2f} ms"


def test_measurements(context, api_url, card):
    """Latencia en el navegador (200 predicciones tras la primera) frente a la API desde la misma página,
    y lo que descargan la primera visita y las siguientes. Escribe test-artifacts/pwa-medidas.txt."""
    page = context.new_page()
    first = network_bytes(context, lambda: (open_app(page, api_url), wait_offline_ready(page)))
    names = [f["name"] for f in card["features"]]
    rows = [[p[name] for name in names] for p in random_patients(card, 201, seed=7)]
    app_device = page.evaluate(APP_LOOP, {"rows": rows, "names": names, "where": "device"})
    app_server = page.evaluate(APP_LOOP, {"rows": rows, "names": names, "where": "api"})
    page.evaluate("document.querySelector('input[name=where][value=auto]').click()")  # el ajuste se guarda
    engine = page.evaluate(ENGINE_LOOP, rows)
    rest = page.evaluate(FETCH_LOOP, {"rows": rows, "names": names})
    page.close()
    later_page = context.new_page()
    later = network_bytes(context, lambda: (open_app(later_page, api_url), wait_offline_ready(later_page)))

    context.set_offline(True)
    later_page.reload()
    later_page.locator("#patient-form").wait_for(state="visible")
    golden = samples(card)
    answered = 0
    for patient in golden:
        submit(later_page, patient)
        answered += shown_result(later_page)["where"] == "device"

    def table(downloaded):
        return "\n".join(f"    {name}: {size / 1000:.1f} KB" for name, size in sorted(downloaded.items()))

    lines = [
        f"Fecha: {time.strftime('%Y-%m-%d')} · Chromium {context.browser.version} sin interfaz · "
        f"{len(app_device)} predicciones tras la primera",
        f"App, del clic al resultado, en el dispositivo: {ms(app_device)}",
        f"App, del clic al resultado, en el servidor (127.0.0.1): {ms(app_server)}",
        f"Solo el motor (onnxruntime-web, WASM, 1 hilo): media {engine['mean']:.3f} ms, "
        f"p99 {percentile(engine['times'], 0.99):.2f} ms (p50 {statistics.median(engine['times']):.2f} ms; "
        "performance.now() tiene una resolución de 0,1 ms sin aislamiento entre orígenes)",
        f"Solo la petición REST (fetch + JSON) desde la misma página: {ms(rest)}",
        f"Primera visita: {sum(first.values()) / 1e6:.2f} MB por la red (cuerpos tal como viajan + cabeceras)\n"
        f"{table(first)}",
        f"Visita siguiente: {sum(later.values()) / 1000:.1f} KB por la red\n{table(later)}",
        f"Sin red: {answered} de {len(golden)} pacientes de ejemplo respondidas en el dispositivo",
    ]
    report = "\n".join(lines)
    print("\n" + report)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "pwa-medidas.txt").write_text(report + "\n", encoding="utf-8")
    assert answered == len(golden)
    assert sum(first.values()) <= 4.5e6  # ligera en el teléfono: el .wasm viaja comprimido
    assert "app/vendor/ort-wasm-simd-threaded.wasm" not in later  # la visita siguiente no lo vuelve a bajar
    if IN_CI:
        assert statistics.median(app_device) < 100
