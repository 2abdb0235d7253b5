"""diabetes_api.create_app: qué versión sirve (la comprobada que recibe o la publicada) y cómo se niega a
arrancar con `flask --app diabetes_api run` y `make demo-1`: una línea en español."""

import sys

import pytest

from diabetes_api import create_app
from diabetes_model.store import live_version_dir, verify_version
from support import DAMAGES, HEALTH_PATH, add_version, damage, free_port, run_to_exit


def test_a_verified_version_given_to_the_app_is_served_whatever_the_disk_says(fresh_model_dir, monkeypatch):
    given = verify_version(add_version(fresh_model_dir, "v-del-maestro"))
    damage(fresh_model_dir, "pointer")  # lo que haya en disco ya no importa
    monkeypatch.setenv("MODEL_DIR", str(fresh_model_dir))
    assert create_app(verified=given).test_client().get(HEALTH_PATH).get_json()["model_version"] == "v-del-maestro"


def test_without_a_verified_version_the_published_one_is_verified_here(fresh_model_dir, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(fresh_model_dir))
    expected = verify_version(live_version_dir(fresh_model_dir)).version
    assert create_app().test_client().get(HEALTH_PATH).get_json()["model_version"] == expected


def one_error_line(code, out, err):
    """La salida de una orden que se negó a arrancar: código != 0 y una sola línea «Error: …», sin traza."""
    assert code not in (0, None), (code, out, err)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), out + err
    assert "Traceback" not in out + err
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(DAMAGES))
def test_flask_run_refuses_a_broken_model_with_one_spanish_line(fresh_model_dir, kind):
    damage(fresh_model_dir, kind)
    flask = [sys.executable, "-m", "flask", "--app", "diabetes_api", "run", "--port", str(free_port())]
    line = one_error_line(*run_to_exit(flask, env={"MODEL_DIR": str(fresh_model_dir)}, timeout=60))
    assert DAMAGES[kind] in line


@pytest.mark.slow
def test_make_demo_1_refuses_a_broken_model_with_one_spanish_line(fresh_model_dir):
    damage(fresh_model_dir, "sha256")
    demo = [sys.executable, "-m", "diabetes_api.demo", "--port", str(free_port())]
    line = one_error_line(*run_to_exit(demo, env={"MODEL_DIR": str(fresh_model_dir)}, timeout=60))
    assert DAMAGES["sha256"] in line and "`make rollback`" in line
