"""Fixtures comunes: la versión publicada del modelo, su ficha, la app de Flask y carpetas privadas
del modelo (MODEL_DIR con live.json + versions/) para los servidores reales."""

import json

import pytest

from support import CHROMIUM, CHROMIUM_ARGS, ROOT, SHARED, model_home, need

MODEL_DIR = ROOT / SHARED["MODEL_DIR"]


@pytest.fixture(scope="session")
def model_dir():
    """La carpeta de la versión publicada del taller (MODEL_DIR/versions/<versión>, con model.json,
    model.onnx, model.joblib y metrics.json). Si no hay ninguna publicada, entrena y publica la de
    referencia (como `make model`)."""
    from diabetes_model import train, versions

    if versions.live_version(MODEL_DIR) is None:
        train.train(output_dir=MODEL_DIR, publish=True, log=lambda *_: None)
    return versions.version_dir(MODEL_DIR, versions.live_version(MODEL_DIR))


@pytest.fixture(scope="session")
def card(model_dir):
    """La ficha del modelo (`model.json`) como diccionario."""
    return json.loads((model_dir / "model.json").read_text(encoding="utf-8"))


@pytest.fixture()
def app(served_model_dir):
    """La aplicación Flask de la etapa 01 con el modelo del taller (como en el tutorial de Flask)."""
    from diabetes_api import create_app

    return create_app({"MODEL_DIR": served_model_dir, "TESTING": True})


@pytest.fixture()
def client(app):
    """Cliente HTTP de pruebas de Flask: peticiones reales a la app, sin abrir un puerto."""
    return app.test_client()


@pytest.fixture(scope="session")
def served_model_dir(model_dir, tmp_path_factory):
    """Un MODEL_DIR privado con la versión del taller publicada, para la app y los servidores reales. NO se modifica:
    las pruebas no dependen de lo que otra persona (o `make model`) publique a la vez en 00_intro/model."""
    return model_home(model_dir, tmp_path_factory.mktemp("modelo-servido"))


@pytest.fixture()
def fresh_model_dir(model_dir, tmp_path):
    """Un MODEL_DIR privado solo para esta prueba: se puede dañar, borrar o republicar."""
    return model_home(model_dir, tmp_path / "modelo")


@pytest.fixture(scope="module")
def playwright():
    """Playwright con el Chromium de Debian (nunca descarga un navegador); sin él, salta (falla en CI)."""
    need(CHROMIUM.exists(), f"falta Chromium en {CHROMIUM} (sudo apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as session:
        yield session


@pytest.fixture(scope="module")
def browser(playwright, request):
    """Chromium sin interfaz; un módulo de pruebas puede añadir opciones con su propio CHROMIUM_ARGS."""
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                          args=getattr(request.module, "CHROMIUM_ARGS", CHROMIUM_ARGS))
    try:
        yield chromium
    finally:
        chromium.close()



# ------------------------------------------------------------------ Etapa 03: AWS simulado (tests/lightsail_support.py)
# Las pruebas de deploy.py (tests/test_03_*.py) piden `lightsail_environment` en su `pytestmark`.


@pytest.fixture()
def lightsail_environment(monkeypatch, tmp_path):
    """Credenciales falsas, sin ficheros de ~/.aws, sin metadatos de EC2 (nada de red) y sin LIGHTSAIL_*."""
    from lightsail import keys
    from lightsail_support import KEY

    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "LIGHTSAIL_REGION", "LIGHTSAIL_SERVICE", "LIGHTSAIL_POWER", "LIGHTSAIL_SCALE", "IMAGE",
                 "LIGHTSAIL_RATE_LIMIT", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    # La clave de cada prueba en su carpeta temporal (nunca 03_lightsail/.api-key), ya creada con KEY.
    monkeypatch.setenv(keys.KEY_FILE_ENV, str(tmp_path / "api-key"))
    keys.save({"current": KEY, "previous": None})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.fixture()
def aws():
    """Un cliente real de boto3 para Lightsail con Stubber: cada respuesta en cola, con sus parámetros esperados."""
    from lightsail_support import Aws

    fake = Aws()
    yield fake
    fake.stub.deactivate()
    assert fake.recorder.problems == []  # cada llamada enviada cumple también lo que Stubber no mira


@pytest.fixture()
def docker(monkeypatch):
    """La CLI de Docker de deploy.py, simulada (anota las órdenes y responde como Docker)."""
    from lightsail import releases
    from lightsail_support import FakeDocker

    fake = FakeDocker()
    monkeypatch.setattr(releases, "run_docker", fake)
    return fake
