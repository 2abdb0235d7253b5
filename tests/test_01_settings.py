"""Ajustes por variables de entorno, y que servir no necesita pandas."""

import subprocess
import sys

import pytest
from test_01_predict import valid_patient

from diabetes_api import create_app
from diabetes_api.settings import SettingsError, load_settings
from support import ROOT, SHARED


def test_defaults(monkeypatch):
    for name in ("MODEL_DIR", "HEALTH_PATH", "CACHE_SIZE", "MAX_BATCH", "MAX_BODY_BYTES", "CORS_ORIGINS",
                 "LOG_LEVEL", "WEB_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings["MODEL_DIR"] == ROOT / SHARED["MODEL_DIR"]
    assert settings["HEALTH_PATH"] == SHARED["HEALTH_PATH"]
    assert (settings["CACHE_SIZE"], settings["MAX_BATCH"], settings["MAX_CONTENT_LENGTH"]) == (1024, 1000, 1 << 20)
    assert settings["CORS_ORIGINS"] == ["*"]
    assert settings["LOG_LEVEL"] == "INFO"
    assert settings["WEB_DIR"] == ROOT / "mobile_client" / "web"


def test_environment_variables_change_the_app(monkeypatch, model_dir, card):
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setenv("HEALTH_PATH", "/salud")
    monkeypatch.setenv("CACHE_SIZE", "0")
    monkeypatch.setenv("MAX_BATCH", "2")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.org, https://b.org")
    client = create_app().test_client()
    assert client.get("/salud").status_code == 200
    assert client.get("/metrics").get_json()["cache"]["maxsize"] == 0
    assert client.post("/v1/predict", json={"instances": [valid_patient(card)] * 3}).status_code == 413
    allowed = client.get("/salud", headers={"Origin": "https://b.org"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.org"


def test_body_limit_from_the_environment(monkeypatch, model_dir, card):
    monkeypatch.setenv("MAX_BODY_BYTES", "100")
    client = create_app({"MODEL_DIR": model_dir}).test_client()
    assert client.post("/v1/predict", json=valid_patient(card)).status_code == 413


@pytest.mark.parametrize(("name", "value"), [("CACHE_SIZE", "-1"), ("MAX_BATCH", "0"), ("MAX_BATCH", "mil"),
                                             ("MAX_BODY_BYTES", "1.5"), ("LOG_LEVEL", "ruidoso")])
def test_impossible_values_stop_with_a_spanish_message(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_serving_works_without_pandas(model_dir, card):
    """Como en la imagen Docker, donde pandas no está instalado: aquí se impide importarlo."""
    code = (
        "import sys\n"
        "class SinPandas:  # cualquier `import pandas` falla con ImportError, como si no estuviera\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'pandas':\n"
        "            raise ImportError('pandas no está instalado')\n"
        "sys.meta_path.insert(0, SinPandas())\n"
        "from diabetes_api import create_app\n"
        f"client = create_app({{'MODEL_DIR': {str(model_dir)!r}}}).test_client()\n"
        f"response = client.post('/v1/predict', json={valid_patient(card)!r})\n"
        "print(response.status_code, 'pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "01_flask_api", capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200 False"


def test_the_package_never_imports_pandas():
    for path in (ROOT / "01_flask_api" / "diabetes_api").glob("*.py"):
        assert "pandas" not in path.read_text(encoding="utf-8").replace("sin pandas", ""), path.name
