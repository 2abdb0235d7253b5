"""serving.gunicorn_settings: la tabla de los ajustes de Gunicorn y del maestro, comprobada contra el código
que los lee (gunicorn.conf.py, serving/) y contra la tabla del README de la etapa 02. Sin servidores."""

import ast
import re

import pytest

from diabetes_api import settings as api_settings
from diabetes_api.settings import SettingsError
from serving.gunicorn_settings import FROM_API, SETTINGS, read, tuning_names
from support import ROOT, SHARED

STAGE = ROOT / "02_docker"
ENV_READERS = {"get", "getenv", "env_number", "shared", "shared_path", "flag", "read", "_setting"}


def names_read(paths):
    """{nombre: archivo} de cada variable de entorno que nombra el código (os.environ, env_number, read…)."""
    found = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                owner = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
                if function == "get" and owner != "os.environ":
                    continue  # el environ de WSGI, un dict…: no son variables de entorno
                value = node.args[0].value
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                function, value = "get", getattr(node.slice, "value", None)
            else:
                continue
            if function in ENV_READERS and isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", value):
                found.setdefault(value, path.relative_to(ROOT).as_posix())
    return found


def readme_settings():
    """{variable: celda «por defecto»} de la tabla de ajustes de gunicorn.conf.py en el README de la etapa 02."""
    text = (STAGE / "README.md").read_text(encoding="utf-8")
    section = text[text.index("<summary>Los ajustes de <code>gunicorn.conf.py</code>"):].split("</details>", 1)[0]
    return dict(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", section, flags=re.M))


def declared():
    """Lo que esta etapa puede leer: su tabla y los ajustes de la API que comparte (FROM_API)."""
    return {**{name: api_settings.BY_NAME[name] for name in FROM_API}, **{s.name: s for s in SETTINGS}}


def test_gunicorn_conf_and_serving_read_only_declared_variables():
    read_names = names_read([STAGE / "gunicorn.conf.py", *sorted((STAGE / "serving").glob("*.py"))])
    assert {name: where for name, where in read_names.items() if name not in declared()} == {}
    assert not set(FROM_API) & {setting.name for setting in SETTINGS}  # cada una, declarada una sola vez


def test_the_readme_table_has_the_same_variables_and_defaults():
    readme = readme_settings()
    table = {name: setting for name, setting in declared().items() if not setting.internal}
    assert sorted(readme) == sorted(table)
    for name, setting in table.items():
        first = re.search(r"`([^`]*)`", readme[name])
        if setting.shared:
            assert "workshop.env" in readme[name], name
        else:
            expected = {True: "1", False: "0"}.get(setting.default, setting.default)
            assert first is not None and first[1] == str(expected), (name, readme[name], setting.default)


def test_defaults_and_values_from_the_environment(monkeypatch):
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    assert (read("GUNICORN_WORKER_CLASS"), read("GUNICORN_YIELD"), read("MODEL_CHECK_TIMEOUT")) == ("gevent", True, 10)
    assert read("PIDFILE") == ROOT / SHARED["PIDFILE"]
    monkeypatch.setenv("GUNICORN_FAIR_ACCEPT", "0")
    monkeypatch.setenv("MODEL_CHECK_TIMEOUT", "2")
    assert (read("GUNICORN_FAIR_ACCEPT"), read("MODEL_CHECK_TIMEOUT")) == (False, 2)


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("GUNICORN_WORKER_CLASS", "eventlet",
     "GUNICORN_WORKER_CLASS='eventlet' no es válido: usa gevent o sync o gthread."),
    ("GUNICORN_YIELD", "2", "GUNICORN_YIELD='2' no es válido: usa 1 (sí) o 0 (no)."),
    ("MODEL_CHECK_TIMEOUT", "601", "MODEL_CHECK_TIMEOUT=601 no es válido: debe ser 600 o menos."),
    ("GUNICORN_KEEPALIVE", "-1", "GUNICORN_KEEPALIVE=-1 no es válido: debe ser 0 o más."),
])
def test_a_bad_value_is_one_spanish_sentence_naming_the_variable(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        read(name)
    assert str(refused.value) == expected


def test_the_bench_ignores_every_declared_setting_of_the_terminal_but_not_where_things_are():
    names = set(tuning_names())
    assert {"WEB_CONCURRENCY", "GUNICORN_KEEPALIVE", "API_KEY", "MODEL_CHECK_TIMEOUT"} <= names
    assert not names & {"MODEL_DIR", "HEALTH_PATH", "PORT", "PIDFILE", "DEV_PORT"}  # los de workshop.env
