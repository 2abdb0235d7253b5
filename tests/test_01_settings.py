"""diabetes_api.settings: ajustes por variables de entorno (o workshop.env), errores de arranque en español,
y que servir con ONNX no necesita pandas ni scikit-learn."""

import subprocess
import sys

import click
import pytest

from diabetes_api import StartupError, create_app
from diabetes_api.settings import SettingsError, load_settings, shared
from support import ROOT, SHARED
from workshop.modelfiles import ModelError
from workshop.patients import example_patient

API_VARIABLES = ("MODEL_DIR", "HEALTH_PATH", "MODEL_RUNTIME", "CACHE_SIZE", "MAX_BATCH", "MAX_BODY_BYTES",
                 "LOG_LEVEL", "ACCESS_LOG", "WEB_DIR")


def test_defaults(monkeypatch):
    for name in API_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings["MODEL_DIR"] == ROOT / SHARED["MODEL_DIR"]
    assert settings["HEALTH_PATH"] == SHARED["HEALTH_PATH"]
    assert settings["MODEL_RUNTIME"] == "onnx"
    assert (settings["CACHE_SIZE"], settings["MAX_BATCH"], settings["MAX_CONTENT_LENGTH"]) == (1024, 1000, 1 << 20)
    assert (settings["LOG_LEVEL"], settings["ACCESS_LOG"]) == ("INFO", True)
    assert settings["WEB_DIR"] is None  # la API no sabe dónde vive la app: lo dicen la imagen y `make app`


def test_an_environment_variable_wins_over_workshop_env(monkeypatch):
    monkeypatch.setenv("PORT", "9123")
    assert shared("PORT") == "9123"
    monkeypatch.delenv("PORT")
    assert shared("PORT") == SHARED["PORT"]


def test_a_missing_shared_value_is_a_spanish_message():
    with pytest.raises(SettingsError, match="Falta el ajuste NO_EXISTE: defínelo en workshop.env"):
        shared("NO_EXISTE")


def test_environment_variables_change_the_app(monkeypatch, served_model_dir, card):
    monkeypatch.setenv("MODEL_DIR", str(served_model_dir))
    monkeypatch.setenv("HEALTH_PATH", "/salud")
    monkeypatch.setenv("CACHE_SIZE", "0")
    monkeypatch.setenv("MAX_BATCH", "2")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.org, https://b.org")
    app = create_app()
    client = app.test_client()
    assert client.get("/salud").status_code == 200
    assert app.extensions["diabetes_api"].model.cache.maxsize == 0
    assert client.post("/v1/predict", json={"instances": [example_patient(card)] * 3}).status_code == 413
    allowed = client.get("/salud", headers={"Origin": "https://b.org"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.org"


def test_body_limit_from_the_environment(monkeypatch, served_model_dir, card):
    monkeypatch.setenv("MAX_BODY_BYTES", "100")
    client = create_app({"MODEL_DIR": served_model_dir}).test_client()
    assert client.post("/v1/predict", json=example_patient(card)).status_code == 413


def test_the_sklearn_runtime_is_chosen_from_the_environment(monkeypatch, served_model_dir):
    monkeypatch.setenv("MODEL_RUNTIME", "SKLEARN")
    client = create_app({"MODEL_DIR": served_model_dir}).test_client()
    assert client.get(SHARED["HEALTH_PATH"]).get_json()["runtime"] == "sklearn"


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("CACHE_SIZE", "-1", "CACHE_SIZE=-1 no es válido: debe ser 0 o más."),
    ("CACHE_SIZE", "mucho", "CACHE_SIZE='mucho' no es un número entero."),
    ("MAX_BATCH", "0", "MAX_BATCH=0 no es válido: debe ser 1 o más."),
    ("MAX_BODY_BYTES", "1.5", "MAX_BODY_BYTES='1.5' no es un número entero."),
    ("LOG_LEVEL", "ruidoso", "LOG_LEVEL='RUIDOSO' no es un nivel de log (DEBUG, INFO, WARNING, ERROR)."),
    ("MODEL_RUNTIME", "tensorflow", "MODEL_RUNTIME='tensorflow' no es válido: usa onnx o sklearn."),
])
def test_impossible_values_stop_with_one_spanish_sentence(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == expected


def test_startup_errors_print_as_one_line_in_gunicorn_and_in_flask():
    """gunicorn muestra «Error: <mensaje>» para un RuntimeError; click (flask run), para un ClickException."""
    for error in (SettingsError, ModelError):
        assert issubclass(error, StartupError)
        assert issubclass(error, RuntimeError) and issubclass(error, click.ClickException)


def test_serving_needs_neither_pandas_nor_scikit_learn(served_model_dir, card):
    """Como en la imagen Docker, donde no están instalados: aquí se impide importarlos."""
    code = (
        "import sys\n"
        "class SinEstos:  # `import pandas` o `import sklearn` fallan, como si no estuvieran instalados\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'pandas', 'sklearn', 'scipy', 'joblib'}:\n"
        "            raise ImportError(f'{name} no está instalado')\n"
        "sys.meta_path.insert(0, SinEstos())\n"
        "from diabetes_api import create_app\n"
        f"client = create_app({{'MODEL_DIR': {str(served_model_dir)!r}}}).test_client()\n"
        f"response = client.post('/v1/predict', json={example_patient(card)!r})\n"
        "print(response.status_code, sorted({'pandas', 'sklearn', 'scipy', 'joblib'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200 []"
