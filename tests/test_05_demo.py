"""Etapa 05: la historia de `make demo-5` con servidores de verdad, una sola vez para todo el archivo.

Gunicorn sirve una copia privada del modelo, Prometheus (el de Debian) la raspa cada segundo y un cliente
real envía carga constante mientras el juez decide. Se cuentan cosas (peticiones fallidas, decisiones,
quién respondió), nunca milisegundos: ninguna afirmación depende de una latencia absoluta.

(a) una candidata que pasa la ficha pero da ≈ 0,99 a todas → retirada, 0 fallidas, la viva sigue;
(b) una reentrenada → sombra, 5 %, 25 % y promovida, 0 fallidas, y en cada paso responde la parte que
    dice su peso (un reparto que ignora el peso no pasa);
(c) el simulacro de deriva → alerta en las variables que cambiaron y en ninguna otra.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from support import need

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def story(served_model_dir, tmp_path_factory):
    """Ejecuta `python -m maintenance demo` sobre una copia privada del modelo y devuelve sus cifras."""
    need(shutil.which("prometheus"), "falta prometheus (apt-get install prometheus)")
    folder = tmp_path_factory.mktemp("mantenimiento")
    model_dir = folder / "publicado"
    shutil.copytree(served_model_dir, model_dir)
    env = {**os.environ, "MODEL_DIR": str(model_dir), "MAINTENANCE_RECORD": "0"}
    done = subprocess.run([sys.executable, "-m", "maintenance", "demo", "--folder", str(folder / "demo")],
                          env=env, capture_output=True, text=True, timeout=400)
    output = done.stdout + done.stderr
    assert (folder / "demo" / "mantenimiento.json").is_file(), output[-3000:]
    record = json.loads((folder / "demo" / "mantenimiento.json").read_text(encoding="utf-8"))
    return {"record": record, "output": output, "code": done.returncode, "published": model_dir,
            "before": json.loads((model_dir / "live.json").read_text())["version"]}


def test_a_bad_candidate_is_rolled_back_with_0_failed_and_the_live_version_keeps_serving(story):
    a = story["record"]["stories"]["a"]
    assert a["final"] == "retirar", story["output"][-3000:]
    assert "cambios de decisión" in a["timeline"][-1]["tripped"]
    assert a["sent"] > 500 and a["failed"] == 0, a
    assert a["live_after"] != a["version"]
    assert "RETIRA la candidata" in story["output"] and "máx. 10,0 %" in story["output"]


def test_a_retrained_candidate_is_promoted_to_100_with_0_failed(story):
    b = story["record"]["stories"]["b"]
    assert b["final"] == "promover", story["output"][-3000:]
    assert [step["weight"] for step in b["timeline"]] == [0.0, 0.05, 0.25]
    assert b["live_after"] == b["version"] and b["sent"] > 1000 and b["failed"] == 0, story["record"]["first_errors"]
    for step in b["timeline"][1:]:  # el reparto sigue al peso (con ≥ 500 respuestas de la candidata)
        assert step["weight"] / 2 <= step["candidate_share"] <= step["weight"] * 1.6, step
    assert story["record"]["figures"]["failed"] == 0 and story["code"] == 0


def test_the_drill_alerts_on_the_shifted_features_and_no_others(story):
    drill = story["record"]["drill"]
    assert drill and all(batch["ok"] for batch in drill.values()), json.dumps(drill, ensure_ascii=False)[:2000]
    older = drill["mayores"]
    assert older["expected"] == ["Age"] and any(flagged == ["Age"] for flagged in older["flagged"].values())
    assert all(flagged == [] for flagged in drill["referencia"]["flagged"].values())


def test_the_published_model_of_the_attendee_is_not_touched(story):
    assert json.loads((story["published"] / "live.json").read_text())["version"] == story["before"]
    assert not (story["published"] / "candidate.json").exists()
