"""El paquete del modelo (etapa 00, `00_intro/diabetes_model/`): `predict(data)` con la versión publicada, una sola
lectura de «qué versión está publicada», la ficha escrita con las constantes del entrenamiento, sin scikit-learn al
importarlo; y la demo de la charla (`01_flask_api/talk_api.py`), que responde lo mismo que la API de producción."""

import ast
import csv
import importlib.util
import json
import re
import subprocess
import sys

import pytest

from diabetes_model import live_model, predict, store, versions
from diabetes_model.patients import example_patient
from diabetes_model.store import ModelError
from support import ROOT, free_port, stop, wait_until
from workshop.processes import start

TALK_API = ROOT / "01_flask_api" / "talk_api.py"
DATA = ROOT / "00_intro" / "data" / "diabetes.csv"
TRAINING_ONLY = ("sklearn", "pandas", "joblib")
QUIET = lambda *_: None  # noqa: E731


def data_patients(count=50):
    """Las primeras `count` pacientes del conjunto de datos del taller, sin la columna del diagnóstico."""
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = [row for _, row in zip(range(count), csv.DictReader(handle), strict=False)]
    return [{name: (int(value) if value.isdigit() else float(value)) for name, value in row.items()
             if name != "Outcome"} for row in rows]


def imported_after(code):
    """Qué módulos de entrenamiento quedan importados en un Python nuevo tras ejecutar `code`."""
    probe = f"import sys\n{code}\nprint(sorted(m for m in {TRAINING_ONLY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().replace("'", '"'))


def same_answers(batch, singles):
    """Un lote da las mismas respuestas que una a una; el grafo calcula en float32, y en lote la probabilidad
    redondeada a 6 decimales puede moverse en el último (0,33617 frente a 0,336169)."""
    assert len(batch) == len(singles)
    for ours, theirs in zip(batch, singles, strict=True):
        assert ours["probability"] == pytest.approx(theirs["probability"], abs=2e-6)
        assert {**ours, "probability": None} == {**theirs, "probability": None}
    return True


# ------------------------------------------------------------------ predict(data)

def test_predict_gives_label_probability_and_the_card_threshold(served_model_dir, card):
    result = predict(example_patient(card), model_dir=served_model_dir)
    assert result["threshold"] == card["threshold"] and result["version"] == card["version"]
    assert 0.0 <= result["probability"] <= 1.0
    assert result["prediction"] == int(result["probability"] >= card["threshold"])
    assert result["label"] == card["classes"][result["prediction"]]["label"]


def test_a_list_of_patients_gives_a_list_and_the_model_is_loaded_once(served_model_dir):
    patients = data_patients(10)
    one_by_one = [predict(patient, model_dir=served_model_dir) for patient in patients]
    assert same_answers(predict(patients, model_dir=served_model_dir), one_by_one)
    assert live_model(served_model_dir) is live_model(served_model_dir)
    assert len({result["probability"] for result in one_by_one}) > 1  # pacientes distintas, respuestas distintas


@pytest.mark.parametrize(("change", "message"), [
    (lambda patient: patient.pop("Glucose"), "faltan variables: Glucose"),
    (lambda patient: patient.update(Age="cuarenta"), "la variable Age no es un número finito"),
    (lambda patient: patient.update(BMI=float("nan")), "la variable BMI no es un número finito"),
])
def test_bad_data_is_a_spanish_value_error(served_model_dir, card, change, message):
    patient = example_patient(card)
    change(patient)
    with pytest.raises(ValueError, match=message):
        predict(patient, model_dir=served_model_dir)


def test_importing_the_package_store_and_engines_loads_no_training_library():
    assert imported_after("import diabetes_model, diabetes_model.store, diabetes_model.engines, "
                          "diabetes_model.versions, diabetes_model.summary, diabetes_model.patients\n"
                          "from diabetes_model import predict; predict({'Pregnancies': 1, 'Glucose': 120, "
                          "'BloodPressure': 70, 'SkinThickness': 20, 'Insulin': 80, 'BMI': 30.0, "
                          "'DiabetesPedigreeFunction': 0.4, 'Age': 33})") == []
    # El motor de scikit-learn sí la carga, y solo él (cuando se pide).
    assert "sklearn" in imported_after("from diabetes_model import store\n"
                                       "store.verify_version(store.live_version_dir(), 'sklearn')")


# ------------------------------------------------------------------ Una sola lectura de live.json

def pointer_uses():
    """(archivo, función) de cada uso en el código de POINTER o del literal "live.json" (fuera de docstrings)."""
    folders = [path for path in ROOT.iterdir() if path.is_dir() and re.match(r"0\d_|workshop|mobile_client|tools",
                                                                            path.name)]
    found = set()
    for path in (file for folder in folders for file in folder.rglob("*.py")):
        found |= {(path.name, function) for function in _pointer_uses(ast.parse(path.read_text(encoding="utf-8")))}
    return found


def _pointer_uses(node, function="<módulo>"):
    """Las funciones (la más interior) que nombran POINTER o "live.json" dentro de `node`."""
    body = node.body[1:] if isinstance(node, ast.Module | ast.FunctionDef) and ast.get_docstring(node) else None
    for child in body if body is not None else ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef):
            yield from _pointer_uses(child, child.name)
            continue
        if (isinstance(child, ast.Name) and child.id == "POINTER" or isinstance(child, ast.Attribute)
                and child.attr == "POINTER" or isinstance(child, ast.Constant) and child.value == "live.json"):
            yield function
        yield from _pointer_uses(child, function)


def test_only_the_store_reads_which_version_is_live():
    # store.py la define (POINTER = "live.json") y la lee; versions.py solo la escribe (publicar, volver atrás).
    assert pointer_uses() == {("store.py", "<módulo>"), ("store.py", "read_pointer"), ("store.py", "live_version_dir"),
                              ("versions.py", "write_pointer")}


def test_a_damaged_pointer_is_the_same_model_error_for_serving_and_for_publishing(fresh_model_dir):
    (fresh_model_dir / "live.json").write_text("{roto", encoding="utf-8")
    expected = "está dañado. Vuelve a una versión buena con `make rollback`"
    for action in (store.live_version_dir, versions.live_version, lambda root: versions.prune(root, 1)):
        with pytest.raises(ModelError, match=re.escape(expected)):
            action(fresh_model_dir)


# ------------------------------------------------------------------ La ficha, con las constantes del entrenamiento

def test_the_card_threshold_and_folds_come_from_training_constants(monkeypatch, tmp_path):
    from diabetes_model import train

    monkeypatch.setattr(train, "THRESHOLD", 0.4)
    monkeypatch.setattr(train, "CV_FOLDS", 3)
    monkeypatch.setattr(train, "PARITY_ROWS", 1_000)  # la paridad completa ya la prueba test_00_train
    card = train.train(output_dir=tmp_path, seed=5, publish=True, log=QUIET)
    assert card["threshold"] == 0.4 and card["metrics"]["cv_folds"] == 3
    assert predict(example_patient(card), model_dir=tmp_path)["threshold"] == 0.4


# ------------------------------------------------------------------ La demo de la charla

def load_talk_api(monkeypatch, model_dir):
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    spec = importlib.util.spec_from_file_location("talk_api_under_test", TALK_API)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app.test_client()


def test_the_talk_demo_fits_on_a_slide():
    assert len(TALK_API.read_text(encoding="utf-8").splitlines()) <= 50


def test_the_talk_demo_answers_what_the_production_api_answers(monkeypatch, served_model_dir, client):
    talk = load_talk_api(monkeypatch, served_model_dir)
    patients = data_patients(50)
    production = [client.post("/v1/predict", json=patient) for patient in patients]
    demo = [talk.post("/predict", json=patient) for patient in patients]
    assert [response.status_code for response in production + demo] == [200] * 100
    for ours, theirs in zip(demo, production, strict=True):
        assert ours.get_json()["probability"] == theirs.get_json()["probability"]
        assert ours.get_json()["label"] == theirs.get_json()["label"]
    assert same_answers(talk.post("/predict", json=patients).get_json(), [response.get_json() for response in demo])


def test_the_talk_demo_says_what_is_wrong_in_spanish(monkeypatch, served_model_dir):
    talk = load_talk_api(monkeypatch, served_model_dir)
    response = talk.post("/predict", json={"Glucose": 120})
    assert response.status_code == 400 and "faltan variables" in response.get_json()["error"]
    assert talk.post("/predict", data="no es JSON").status_code == 400


@pytest.mark.slow
def test_make_demo_1_serves_the_talk_demo_and_its_curl_works(tmp_path, card):
    port = free_port()
    log = tmp_path / "demo-1.log"
    process = start(["make", "--no-print-directory", "demo-1", f"DEV_PORT={port}"], log_path=log)
    try:
        curl = wait_until(lambda: next((line.strip() for line in log.read_text().splitlines()
                                        if line.strip().startswith("curl ")), None), 60, process=process,
                          what="make demo-1")
        assert f"http://127.0.0.1:{port}/predict" in curl
        answer = wait_until(lambda: _run(curl), 30, process=process, what="make demo-1")
        assert json.loads(answer) == predict(example_patient(store.read_card(store.live_version_dir())))
    finally:
        stop(process)


def _run(command):
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=10)
    return result.stdout if result.returncode == 0 and result.stdout.strip() else None
