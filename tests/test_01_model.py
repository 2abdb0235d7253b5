"""diabetes_model.store y diabetes_api.model: la versión publicada se comprueba ANTES de servirla (cada
problema, un mensaje en español), se sirven los bytes comprobados, la caché y ONNX frente a scikit-learn.
Lo que hace el maestro de gunicorn con la versión comprobada está en test_02_master.py."""

import hashlib
import json
import re
from importlib.metadata import version as installed_version

import numpy as np
import pytest

from diabetes_api.model import Model, PredictionCache, load_model
from diabetes_api.predict import FeatureValidator
from diabetes_model.patients import example_patient
from diabetes_model.store import ModelError, live_version_dir, verify_version
from support import DAMAGES, damage, publish

# Si la ficha no registra la tolerancia de paridad (parity.tolerance), la de float32 frente a float64.
DEFAULT_TOLERANCE = 1e-5


def edit_card(folder, change):
    path = folder / "model.json"
    card = json.loads(path.read_text(encoding="utf-8"))
    change(card)
    path.write_text(json.dumps(card), encoding="utf-8")


def row_of(card, patient):
    return tuple(float(patient[feature["name"]]) for feature in card["features"])


def spread(card, count=21):
    """Pacientes repartidos por todo el rango de cada variable (de `min` a `max`), más uno con los «0 = no medido»."""
    patients = [example_patient(card, share=step / (count - 1)) for step in range(count)]
    zeros = {f["name"]: 0 for f in card["features"] if f["zero_means_missing"]}
    return [*patients, {**example_patient(card), **zeros}]


# ------------------------------------------------------------------ El puntero (live.json)

def test_the_pointer_names_the_published_version(fresh_model_dir, card):
    assert live_version_dir(fresh_model_dir) == fresh_model_dir / "versions" / card["version"]


@pytest.mark.parametrize("text", ["{roto", "", "[]", '{"version": 7}', '{"version": "../../etc"}', '{"otra": 1}'])
def test_a_broken_pointer_names_make_rollback(fresh_model_dir, text):
    (fresh_model_dir / "live.json").write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match="está dañado. Vuelve a una versión buena con `make rollback`"):
        live_version_dir(fresh_model_dir)


def test_a_pointer_to_a_missing_version_names_make_rollback(fresh_model_dir):
    publish(fresh_model_dir, "v-no-existe")
    with pytest.raises(ModelError, match=r"apunta a la versión v-no-existe, que no está en .*`make rollback`"):
        live_version_dir(fresh_model_dir)


def test_without_a_pointer_it_names_make_model(tmp_path):
    with pytest.raises(ModelError, match="No hay ninguna versión del modelo publicada .*`make model`"):
        live_version_dir(tmp_path)


# ------------------------------------------------------------------ Comprobar una versión

def test_an_untouched_version_verifies_with_its_exact_bytes(model_dir, card):
    verified = verify_version(model_dir)
    assert (verified.version, verified.runtime, verified.folder) == (card["version"], "onnx", model_dir)
    assert verified.payload == (model_dir / "model.onnx").read_bytes()


@pytest.mark.parametrize("kind", ["sha256", "engine", "card"])
def test_a_damaged_version_is_refused_in_spanish(fresh_model_dir, kind):
    folder = damage(fresh_model_dir, kind)
    with pytest.raises(ModelError) as refused:
        verify_version(folder)
    assert DAMAGES[kind] in str(refused.value)


def test_the_engine_message_names_both_versions_and_the_fix(fresh_model_dir):
    folder = damage(fresh_model_dir, "engine")
    with pytest.raises(ModelError) as refused:
        verify_version(folder)
    assert str(refused.value).endswith(f"pero está instalado onnxruntime {installed_version('onnxruntime')}. "
                                       "Instala la versión de la ficha (`make setup`) o vuelve a entrenar con "
                                       "`make model`.")


def test_another_scikit_learn_version_is_refused_for_the_sklearn_runtime(fresh_model_dir):
    folder = live_version_dir(fresh_model_dir)
    edit_card(folder, lambda card: card["artifacts"]["joblib"].update(scikit_learn="0.24.2"))
    verify_version(folder, "onnx")  # el ONNX no depende de la versión de scikit-learn
    with pytest.raises(ModelError, match="se exportó con scikit-learn 0.24.2, pero está instalado scikit-learn"):
        verify_version(folder, "sklearn")


def test_a_tampered_joblib_is_never_unpickled(fresh_model_dir):
    folder = live_version_dir(fresh_model_dir)
    with open(folder / "model.joblib", "ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(ModelError, match="sha256 distinto"):
        verify_version(folder, "sklearn")


def test_a_missing_artifact_names_the_file(fresh_model_dir):
    folder = live_version_dir(fresh_model_dir)
    (folder / "model.onnx").unlink()
    with pytest.raises(ModelError, match=r"Falta el archivo .*model\.onnx\. Vuelve a una versión buena"):
        verify_version(folder)


@pytest.mark.parametrize(("text", "expected"), [
    ("{no es json", "no se puede leer (JSONDecodeError)"),
    ("[1, 2]", "le faltan campos (version, threshold, classes, features, artifacts)"),
    ('{"version": "v-x", "threshold": 0.5, "classes": [], "features": []}', "le faltan campos (artifacts)"),
])
def test_an_unreadable_or_incomplete_card_is_refused(fresh_model_dir, text, expected):
    folder = live_version_dir(fresh_model_dir)
    (folder / "model.json").write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match=re.escape(expected)):
        verify_version(folder)


def test_a_graph_that_does_not_load_is_refused_even_with_a_matching_hash(fresh_model_dir):
    folder = live_version_dir(fresh_model_dir)
    (folder / "model.onnx").write_bytes(b"esto no es un grafo ONNX")
    digest = hashlib.sha256(b"esto no es un grafo ONNX").hexdigest()
    edit_card(folder, lambda card: card["artifacts"]["onnx"].update(sha256=digest))
    with pytest.raises(ModelError, match="no predice"):
        verify_version(folder)


def test_the_card_cannot_point_outside_its_folder(fresh_model_dir):
    folder = live_version_dir(fresh_model_dir)
    edit_card(folder, lambda card: card["artifacts"]["onnx"].update(file="../../../otro/model.onnx"))
    assert verify_version(folder).payload == (folder / "model.onnx").read_bytes()  # solo cuenta el nombre


@pytest.mark.parametrize("change", [
    lambda card: card["features"][0].pop("zero_means_missing"),  # FeatureValidator: KeyError al crear la app
    lambda card: card["classes"].pop(),  # sin la etiqueta de la clase 1: KeyError (500) al predecir un 1
], ids=["variable-incompleta", "clase-sin-etiqueta"])
def test_a_card_the_api_cannot_use_is_refused(fresh_model_dir, change):
    folder = live_version_dir(fresh_model_dir)
    edit_card(folder, change)
    with pytest.raises(ModelError):
        verify_version(folder)


def test_what_is_served_is_what_was_verified_not_what_is_on_disk_now(fresh_model_dir, card):
    folder = live_version_dir(fresh_model_dir)
    verified = verify_version(folder)
    row = row_of(card, example_patient(card))
    before = Model(verified).predict_rows([row])
    (folder / "model.onnx").write_bytes(b"roto")
    assert Model(verified).predict_rows([row]) == before


# ------------------------------------------------------------------ Predicción y caché

def test_predict_rows_returns_the_contract_and_the_cache_hits(served_model_dir, card):
    model = load_model(model_dir=served_model_dir, cache_size=8)
    first, second = row_of(card, example_patient(card, 0.2)), row_of(card, example_patient(card, 0.6))
    results, hits = model.predict_rows([first])
    assert hits == [False]
    assert list(results[0]) == ["prediction", "label", "probability"]
    assert results[0]["label"] == {c["value"]: c["label"] for c in card["classes"]}[results[0]["prediction"]]
    again, hits = model.predict_rows([second, first])
    assert hits == [False, True] and again[1] == results[0]
    assert model.cache.stats() == {"hits": 1, "misses": 2, "size": 2, "maxsize": 8}


def test_the_decision_follows_the_threshold_of_the_card(served_model_dir, card):
    model = load_model(model_dir=served_model_dir)
    for result in model.predict_rows([row_of(card, p) for p in spread(card)])[0]:
        assert result["prediction"] == int(result["probability"] >= card["threshold"])


def test_cache_of_size_zero_never_stores_anything():
    cache = PredictionCache(0)
    cache.put((1.0,), {"prediction": 1})
    assert cache.get((1.0,)) is None
    assert cache.stats() == {"hits": 0, "misses": 1, "size": 0, "maxsize": 0}


def test_cache_evicts_the_least_recently_used_row():
    cache = PredictionCache(2)
    cache.put((1.0,), "uno")
    cache.put((2.0,), "dos")
    assert cache.get((1.0,)) == "uno"  # ahora (2.0,) es la menos usada
    cache.put((3.0,), "tres")
    assert (cache.get((2.0,)), cache.get((1.0,)), cache.get((3.0,))) == (None, "uno", "tres")


def test_example_patient_is_valid_and_follows_the_card(card):
    patient = example_patient(card)
    assert list(patient) == [f["name"] for f in card["features"]]
    assert FeatureValidator(card["features"]).row(patient)[1] == []


# ------------------------------------------------------------------ ONNX frente a scikit-learn

def test_onnx_and_sklearn_agree_within_the_recorded_tolerance(served_model_dir, card):
    tolerance = card.get("parity", {}).get("tolerance", DEFAULT_TOLERANCE)
    # Los pacientes repartidos por los rangos y 500 filas al azar (semilla fija) dentro de los rangos.
    generator = np.random.default_rng(7)
    lows, highs = [f["min"] for f in card["features"]], [f["max"] for f in card["features"]]
    integer = [f["type"] == "integer" for f in card["features"]]
    rows = [row_of(card, patient) for patient in spread(card)]
    for values in generator.uniform(lows, highs, size=(500, len(lows))):
        rows.append(tuple(float(round(v)) if whole else float(v) for v, whole in zip(values, integer, strict=True)))
    onnx, _ = load_model(model_dir=served_model_dir, runtime="onnx").predict_rows(rows)
    sklearn, _ = load_model(model_dir=served_model_dir, runtime="sklearn").predict_rows(rows)
    differences = [abs(a["probability"] - b["probability"]) for a, b in zip(onnx, sklearn, strict=True)]
    print(f"\n[ONNX frente a scikit-learn] {len(rows)} filas; diferencia máxima {max(differences):.1e} "
          f"(tolerancia de la ficha {tolerance:.0e}, más 1e-06 del redondeo a 6 decimales)".replace(".", ","))
    # Las probabilidades salen redondeadas a 6 decimales: hasta 1e-6 más de diferencia.
    assert max(differences) <= tolerance + 1e-6
    for a, b in zip(onnx, sklearn, strict=True):
        if abs(b["probability"] - card["threshold"]) > tolerance + 1e-6:  # lejos del umbral, la misma decisión
            assert a["prediction"] == b["prediction"]


def test_the_pointer_cannot_name_a_symlink_or_a_version_with_a_trailing_newline(fresh_model_dir, card):
    versions = fresh_model_dir / "versions"
    (versions / "v-enlace").symlink_to(versions / card["version"], target_is_directory=True)
    publish(fresh_model_dir, "v-enlace")
    with pytest.raises(ModelError, match="enlace"):
        live_version_dir(fresh_model_dir)
    publish(fresh_model_dir, card["version"] + "\n")
    with pytest.raises(ModelError, match="dañado"):
        live_version_dir(fresh_model_dir)
