"""Etapa 05: la candidata mala de la historia pasa TODAS las comprobaciones de la ficha y, aun así, da
≈ 0,99 a cualquier paciente (sin servidores: la versión se comprueba como la servirá la API)."""

import json

import numpy as np
import pytest

from diabetes_model.engines import OnnxEngine
from diabetes_model.store import ModelError
from diabetes_model.versions import live_version, verify, version_dir
from maintenance.candidates import constant_graph, make_bad_version


def test_the_bad_candidate_passes_every_structural_check_and_answers_099_for_everyone(fresh_model_dir):
    live = live_version(fresh_model_dir)
    bad = make_bad_version(fresh_model_dir, 0.99)
    folder = version_dir(fresh_model_dir, bad)
    verify(folder)  # ficha, sha256, versión del motor y predicción de prueba: todo bien
    card = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert card["version"] == bad != live and live_version(fresh_model_dir) == live  # no se publica
    rows = np.random.default_rng(0).uniform([0, 50, 40, 10, 20, 18, 0.1, 21], [15, 250, 120, 60, 800, 60, 2, 90],
                                            (200, 8))
    probabilities = OnnxEngine((folder / "model.onnx").read_bytes()).positive(rows)
    assert np.allclose(probabilities, 0.99, atol=1e-4)


def test_a_graph_without_a_linear_classifier_is_refused_in_spanish():
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    with pytest.raises(ModelError, match="no termina en un LinearClassifier"):
        constant_graph(helper.make_model(graph).SerializeToString(), 0.99)
    assert onnx  # el paquete de requirements/dev.txt
