"""GET /docs (diabetes_api/docs_page.py): la API para probar en el navegador, en español.

Dentro del proceso (cliente de pruebas de Flask): la página y los archivos de Swagger UI que copia
`make web` (los mismos bytes que vendor.json, comprimidos, con su cupo), la política de contenido, el
mensaje en español si falta `make web` y el esquema «bearer» del contrato solo con API_KEY.

En Chromium con `locale=es-ES` contra Gunicorn real en 127.0.0.1: sin clave, «Probar» → el ejemplo →
«Ejecutar» → 200 con la probabilidad, ni una violación de la CSP ni una petición fuera de 127.0.0.1;
con clave, primero «Autorizar». La captura queda en test-artifacts/api-docs.png (la de docs/img/ la
hace `make pictures`).
"""

import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys

import pytest
import requests
from openapi_spec_validator import validate

from diabetes_api import create_app
from diabetes_api.docs_page import DOCS_DIR
from diabetes_api.security import DOCS_CSP
from diabetes_model.patients import example_patient
from support import ROOT, have, need, running_gunicorn

VENDOR = DOCS_DIR / "vendor"
BUNDLE = "vendor/swagger-ui-bundle.js"
KEY = "clave-de-la-prueba-docs"
GZIP = {"Accept-Encoding": "gzip"}
ARTIFACTS = ROOT / "test-artifacts"
# Lo que se ve tras «Ejecutar» («Probar» ya es «Cancelar»), y lo que no debe quedar en inglés.
SPANISH = ("Cancelar", "Ejecutar", "Limpiar", "Parámetros", "Cuerpo de la petición", "Respuestas",
           "Respuesta del servidor", "Cuerpo de la respuesta", "Cabeceras de la respuesta", "Código")
ENGLISH = ("Try it out", "Cancel", "Execute", "Clear", "Parameters", "Request body", "Responses", "Server response",
           "Response body", "Authorize", "Example Value", "Schema", "Controls")


@pytest.fixture(scope="module")
def installed():
    """Swagger UI en docs_files/vendor/ (`make web`; si falta y hay Node, lo instala)."""
    if not (VENDOR / "vendor.json").exists() and have("node"):
        result = subprocess.run([sys.executable, "-m", "mobile_client.web_build"], cwd=ROOT, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
    need((VENDOR / "vendor.json").exists(), "falta Swagger UI en diabetes_api/docs_files/vendor/ (make web, "
         "necesita Node 18 o posterior)")
    return json.loads((VENDOR / "vendor.json").read_text(encoding="utf-8"))


def make_client(served_model_dir, **config):
    return create_app({"MODEL_DIR": served_model_dir, "TESTING": True, **config}).test_client()


# ------------------------------------------------------------------ Dentro del proceso

def test_the_page_loads_only_files_of_this_origin_with_no_inline_code(installed, served_model_dir):
    client = make_client(served_model_dir)
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<script src="/docs/vendor/swagger-ui-bundle.js"></script>' in html
    assert '<script src="/docs/docs.js"></script>' in html
    assert html.count("<script") == 2 and "style=" not in html and "<style" not in html  # nada en línea
    assert "http://" not in html and "https://" not in html and "//cdn" not in html  # nada de fuera
    assert page.headers["Content-Security-Policy"] == DOCS_CSP
    for directive in ("script-src 'self';", "style-src 'self';", "connect-src 'self';"):
        assert directive in DOCS_CSP  # ni 'unsafe-inline' ni 'unsafe-eval'
    assert client.get("/docs/docs.js").headers["Content-Security-Policy"] == DOCS_CSP
    assert client.get("/openapi.json").headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_swagger_ui_travels_gzip_with_the_bytes_of_vendor_json(installed, served_model_dir):
    assert installed["package"] == "swagger-ui-dist" and set(installed["files"]) >= {"swagger-ui-bundle.js",
                                                                                    "swagger-ui.css"}
    assert {path.name for path in VENDOR.iterdir()} <= {"vendor.json", *installed["files"],
                                                        *(f"{name}.gz" for name in installed["files"])}
    client = make_client(served_model_dir)
    for name, info in installed["files"].items():
        response = client.get(f"/docs/vendor/{name}", headers=GZIP)
        assert response.status_code == 200, name
        data = response.get_data()
        if response.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        assert hashlib.sha256(data).hexdigest() == info["sha256"], name
    bundle = client.get(f"/docs/{BUNDLE}", headers=GZIP)
    assert bundle.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in bundle.headers["Vary"]
    assert client.get(f"/docs/{BUNDLE}", headers={"If-None-Match": bundle.headers["ETag"], **GZIP}).status_code == 304
    refused = client.get(f"/docs/{BUNDLE}", headers={"Accept-Encoding": "identity"})
    assert refused.status_code == 406 and "gzip" in refused.get_json()["error"]["message"]
    assert client.get("/docs/../docs_page.py").status_code == 404
    assert client.get("/docs/%2e%2e/docs_page.py").status_code == 404


def test_large_files_share_the_byte_budget_and_the_page_needs_no_key_nor_counts(installed, served_model_dir):
    size = (VENDOR / "swagger-ui-bundle.js.gz").stat().st_size
    client = make_client(served_model_dir, WEB_BUDGET_MB=1.5 * size / 1_000_000, WEB_CONCURRENCY=1,
                         API_KEYS=[KEY], RATE_LIMIT="2/minute")
    assert client.get(f"/docs/{BUNDLE}", headers=GZIP).status_code == 200
    again = client.get(f"/docs/{BUNDLE}", headers=GZIP)
    assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1
    assert "/docs" in again.get_json()["error"]["message"]
    for _ in range(4):  # sin clave y por encima de RATE_LIMIT: la página y sus archivos pequeños no cuentan
        assert client.get("/docs").status_code == 200
        assert client.get("/docs/docs.js").status_code == 200
    assert client.post("/v1/predict", json={}).status_code == 401  # lo que se ejecuta desde ella, sí


def test_without_make_web_the_page_says_so_in_spanish(installed, served_model_dir, tmp_path):
    folder = tmp_path / "docs_files"
    shutil.copytree(DOCS_DIR, folder, ignore=shutil.ignore_patterns("vendor"))
    client = make_client(served_model_dir, DOCS_DIR=folder)
    page = client.get("/docs")
    assert page.status_code == 404 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "make web" in text and "Node 18" in text and 'lang="es"' in text and "/openapi.json" in text
    assert client.get(f"/docs/{BUNDLE}").status_code == 404


def test_the_contract_declares_the_bearer_key_only_when_the_server_has_one(served_model_dir):
    open_doc = make_client(served_model_dir).get("/openapi.json").get_json()
    keyed_doc = make_client(served_model_dir, API_KEYS=[KEY]).get("/openapi.json").get_json()
    validate(open_doc)
    validate(keyed_doc)
    assert "securitySchemes" not in open_doc["components"] and "'security'" not in str(open_doc["paths"])
    assert keyed_doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "La clave de la API (API_KEY) del servidor."}
    assert keyed_doc["paths"]["/v1/predict"]["post"]["security"] == [{"bearer": []}, {}]


# ------------------------------------------------------------------ En Chromium, en español

def api_env(folder, **extra):
    return {"MODEL_DIR": str(folder), "WEB_CONCURRENCY": "1", "GUNICORN_ACCESSLOG": "off", "ACCESS_LOG": "0",
            **extra}


@pytest.fixture(scope="module")
def open_api(installed, served_model_dir, tmp_path_factory):
    with running_gunicorn(tmp_path_factory.mktemp("api-docs"), env=api_env(served_model_dir)) as (url, _process):
        yield url


@pytest.fixture(scope="module")
def keyed_api(installed, served_model_dir, tmp_path_factory):
    env = api_env(served_model_dir, API_KEY=KEY)
    with running_gunicorn(tmp_path_factory.mktemp("api-docs-clave"), env=env) as (url, _process):
        yield url


@pytest.fixture
def page(browser):
    """Una pestaña en español que anota errores de JavaScript, violaciones de la CSP y cada petición."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.problems, page.requests = [], []
    page.on("pageerror", lambda error: page.problems.append(f"JavaScript: {error}"))
    page.on("console", lambda message: message.type == "error" and "status of 401" not in message.text
            and page.problems.append(message.text))  # el 401 sin autorizar es el que se espera
    page.on("request", lambda request: page.requests.append(request))
    page.add_init_script("document.addEventListener('securitypolicyviolation', (event) => "
                         "console.error('CSP: ' + event.violatedDirective + ' ' + event.blockedURI));")
    yield page
    context.close()


def open_predict(page, url):
    """Abre /docs y despliega POST /v1/predict; devuelve el bloque de la ruta."""
    page.goto(url + "/docs")
    operation = page.locator(".opblock-post", has=page.locator(".opblock-summary-path", has_text="/v1/predict"))
    operation.locator(".opblock-summary-control").click()
    return operation


def execute(operation, patient):
    """«Probar», el cuerpo de la paciente, «Ejecutar»; devuelve (código, cuerpo) de la respuesta mostrada."""
    operation.get_by_role("button", name="Probar", exact=True).click()
    operation.locator("textarea.body-param__text").fill(json.dumps(patient))
    operation.get_by_role("button", name="Ejecutar", exact=True).click()
    answer = operation.locator(".live-responses-table .response")
    answer.wait_for()
    body = answer.locator(".response-col_description pre").first.text_content()
    return answer.locator(".response-col_status").inner_text().strip(), body


def assert_spanish_and_local(page, url):
    lines = {line.strip() for line in re.split(r"[\n\t]", page.locator("#swagger-ui").inner_text())}
    assert not set(SPANISH) - lines, f"faltan en /docs: {set(SPANISH) - lines}"
    assert not set(ENGLISH) & lines, f"sin traducir en /docs: {set(ENGLISH) & lines}"
    assert page.problems == [], page.problems  # ni errores ni violaciones de la CSP
    outside = [request.url for request in page.requests if not request.url.startswith(url + "/")]
    assert outside == [], f"peticiones fuera de la API: {outside}"


@pytest.mark.browser
@pytest.mark.server
def test_in_spanish_try_it_out_and_execute_predicts_a_patient(page, open_api, card):
    patient = example_patient(card)
    expected = requests.post(open_api + "/v1/predict", json=patient, timeout=10).json()
    operation = open_predict(page, open_api)
    assert page.get_by_role("button", name="Autorizar").count() == 0  # sin clave, nada que autorizar
    status, body = execute(operation, patient)
    assert status == "200", body
    assert json.loads(body)["probability"] == expected["probability"]
    assert_spanish_and_local(page, open_api)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"), full_page=False)


@pytest.mark.browser
@pytest.mark.server
def test_with_a_key_authorize_first_then_execute_sends_it(page, keyed_api, card):
    patient = example_patient(card)
    operation = open_predict(page, keyed_api)
    status, _body = execute(operation, patient)
    assert status == "401"  # sin autorizar, la API pide la clave
    page.locator(".auth-wrapper").get_by_role("button", name="Autorizar").click()
    dialog = page.locator(".dialog-ux")
    dialog.get_by_label("Clave de la API").fill(KEY)
    dialog.get_by_role("button", name="Autorizar", exact=True).click()
    dialog.get_by_role("button", name="Cerrar", exact=True).click()
    operation.get_by_role("button", name="Ejecutar", exact=True).click()
    answer = operation.locator(".live-responses-table .response .response-col_status", has_text="200")
    answer.wait_for()
    body = operation.locator(".live-responses-table .response-col_description pre").first.text_content()
    assert 0 <= json.loads(body)["probability"] <= 1
    sent = [request.headers.get("authorization") for request in page.requests if request.url.endswith("/v1/predict")]
    assert sent == [None, f"Bearer {KEY}"]
    assert_spanish_and_local(page, keyed_api)
