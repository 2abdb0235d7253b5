"""diabetes_api.settings: la tabla de ajustes (una declaración por variable) y su único lector, errores de
arranque en español, la tabla del README comprobada contra la del código, y que servir con ONNX no necesita
pandas ni scikit-learn."""

import ast
import re
import subprocess
import sys

import click
import pytest

from diabetes_api import StartupError, create_app
from diabetes_api.settings import SETTINGS, SettingsError, load_settings, shared
from diabetes_model.patients import example_patient
from diabetes_model.store import ModelError
from support import ROOT, SHARED

API_VARIABLES = tuple(setting.name for setting in SETTINGS)


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


# ------------------------------------------------------------------ La tabla de ajustes

ENV_READERS = {"get", "getenv", "env_number", "shared", "shared_path", "flag"}
NOT_SETTINGS = {"WERKZEUG_RUN_MAIN"}  # la pone el recargador de Werkzeug (`flask run`), no una persona


def names_read(paths):
    """{nombre: archivo} de cada variable de entorno nombrada en el código: os.environ[…], os.environ.get(…),
    os.getenv(…), env_number(…), shared(…), flag(…) con un texto en MAYÚSCULAS como primer argumento."""
    found = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                value = node.args[0].value
                owner = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
                if function == "get" and owner != "os.environ":
                    continue  # request.environ (WSGI), config.get…: no son variables de entorno
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                function, value = "get", getattr(node.slice, "value", None)
            else:
                continue
            if function in ENV_READERS and isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", value):
                found.setdefault(value, path.relative_to(ROOT).as_posix())
    return found


def readme_settings(path, summary):
    """{variable: celda «por defecto»} de la tabla de ajustes del README, la que sigue a `summary`."""
    text = path.read_text(encoding="utf-8")
    section = text[text.index(summary):].split("</details>", 1)[0]
    return dict(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", section, flags=re.M))


def shown(default):
    """El valor por defecto como se escribe en la variable: 1/0 para sí/no, 10 para 10.0."""
    if isinstance(default, bool):
        return "1" if default else "0"
    if isinstance(default, float):
        return str(int(default)) if default.is_integer() else str(default).replace(".", ",")
    return str(default)


def check_readme_against(table, readme):
    """Los mismos nombres, y cada valor por defecto el de la tabla (los de workshop.env, citándolo)."""
    problems = [f"{name}: falta en el README" for name in sorted(set(table) - set(readme))]
    problems += [f"{name}: el README lo cita pero no está en la tabla" for name in sorted(set(readme) - set(table))]
    for name in sorted(set(table) & set(readme)):
        setting, cell = table[name], readme[name]
        first = re.search(r"`([^`]*)`", cell)
        if setting.shared:
            wrong = "workshop.env" not in cell
        elif setting.default in (None, "", ()):
            wrong = first is not None  # sin valor: el README lo dice con palabras («vacía», «sin valor»)
        else:
            wrong = first is None or first[1] != shown(setting.default)
        if wrong:
            problems.append(f"{name}: el README dice «{cell.strip()}», la tabla {setting.default!r}")
    return problems


def test_every_setting_is_declared_once_with_a_type_a_default_and_a_spanish_line():
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names))
    for setting in SETTINGS:
        assert setting.type in {"int", "float", "bool", "str", "choice", "level", "path", "list"}, setting
        assert setting.description and setting.description == setting.description.strip(), setting
        if setting.type == "choice":
            assert setting.default in setting.choices


def test_the_api_reads_only_the_variables_of_the_table():
    """Ningún módulo de la API lee una variable que no esté declarada en la tabla (la tabla lee las suyas)."""
    read = names_read(sorted((ROOT / "01_flask_api" / "diabetes_api").glob("*.py")))
    undeclared = {name: where for name, where in read.items() if name not in API_VARIABLES and name not in NOT_SETTINGS}
    assert undeclared == {}


def test_the_readme_table_of_settings_matches_the_code():
    readme = readme_settings(ROOT / "01_flask_api" / "README.md", "<summary>Ajustes (variables de entorno)</summary>")
    table = {setting.name: setting for setting in SETTINGS if not setting.internal}
    assert check_readme_against(table, readme) == []


def test_the_readme_check_catches_a_wrong_default_and_a_missing_row():
    table = {setting.name: setting for setting in SETTINGS if setting.name in {"CACHE_SIZE", "API_KEY", "PORT"}}
    readme = {"CACHE_SIZE": "`1024`", "API_KEY": "vacía (sin clave)", "PORT": "`8000` (de `workshop.env`)"}
    assert check_readme_against(table, readme) == []
    assert len(check_readme_against(table, {**readme, "CACHE_SIZE": "`1000`", "OTRA": "`1`"})) == 2
    assert len(check_readme_against(table, {"API_KEY": "`x`"})) == 3


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.type in {"int", "float", "bool", "choice", "level"}],
                         ids=lambda setting: setting.name)
def test_each_checked_setting_refuses_nonsense_naming_the_variable(monkeypatch, setting):
    monkeypatch.setenv(setting.name, "ñ-no-vale")
    with pytest.raises(SettingsError, match=rf"^{setting.name}='Ñ?ñ?-NO-VALE'|^{setting.name}='ñ-no-vale'"):
        load_settings()


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("ACCESS_LOG", "quizá", "ACCESS_LOG='quizá' no es válido: usa 1 (sí) o 0 (no)."),
    ("PROXY_HOPS", "9", "PROXY_HOPS=9 no es válido: debe ser 5 o menos."),
    ("BODY_TIMEOUT", "0,05", "BODY_TIMEOUT=0,05 no es válido: debe ser 0,10 o más."),
    ("WEB_BUDGET_MB", "-1", "WEB_BUDGET_MB=-1 no es válido: debe ser 0 o más."),
])
def test_the_settings_of_every_part_are_checked_by_the_same_loader(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == expected


def test_one_merge_rule_create_app_config_wins_over_the_environment(monkeypatch, served_model_dir):
    for name, value in {"MAX_IN_FLIGHT": "3", "RATE_LIMIT": "5/minute", "PROXY_HOPS": "1", "API_KEY": "a,b"}.items():
        monkeypatch.setenv(name, value)
    app = create_app({"MODEL_DIR": served_model_dir, "MAX_IN_FLIGHT": 7, "RATE_LIMIT": "", "API_KEYS": []})
    assert app.extensions["load_shedder"].max_in_flight == 7
    assert "limiter" not in app.extensions  # RATE_LIMIT vacío en config: sin límite, aunque el entorno lo pida
    assert app.config["PROXY_HOPS"] == 1 and app.config["API_KEYS"] == []
    assert app.test_client().get("/v1/model/card").status_code == 200  # sin clave: config ganó al entorno


def test_list_settings_tell_unset_from_empty(monkeypatch):
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    monkeypatch.setenv("API_KEY", " a , ,b ")
    assert (load_settings()["CORS_ORIGINS"], load_settings()["API_KEYS"]) == (None, ["a", "b"])
    monkeypatch.setenv("CORS_ORIGINS", "")
    assert load_settings()["CORS_ORIGINS"] == []  # con la variable vacía: solo el mismo origen
