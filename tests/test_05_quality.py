"""Pruebas de `python -m maintenance quality`: las cifras (numpy) son las de scikit-learn y la orden, con una
base de datos SQLite propia, simula el lote de la etapa 04 y los resultados que llegan después."""

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from maintenance import quality


def test_auc_and_brier_match_scikit_learn_with_ties():
    rng = np.random.default_rng(3)
    labels, scores = rng.integers(0, 2, 400), np.round(rng.random(400), 1)  # muchos empates
    assert quality.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert quality.brier(labels, scores) == pytest.approx(brier_score_loss(labels, scores), abs=1e-12)
    assert quality.roc_auc([1, 1], [0.2, 0.9]) is None  # sin negativas no hay AUC


def test_calibration_counts_every_patient_once():
    table = quality.calibration([0, 1, 1, 0], [0.05, 0.95, 1.0, 0.55])
    assert sum(row["n"] for row in table) == 4
    assert [(row["low"], row["n"], row["observed"]) for row in table] == [(0.0, 1, 0.0), (0.5, 1, 0.0), (0.9, 2, 1.0)]


@pytest.mark.slow
def test_quality_command_measures_only_the_outcomes_that_arrived(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'calidad.sqlite3'}"
    assert quality.main(["--base-de-datos", url, "--simular", "--parte", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "77 pacientes con resultado de 154 puntuadas" in out and "ROC AUC 0," in out
    from schemes.batch import opened

    with opened(url) as db:
        result = quality.quality_by_version(db)
    (figures,) = result.values()
    assert figures["with_outcome"] == 77 and figures["scored"] == 154
    assert 0.7 < figures["roc_auc"] < 0.95 and 0.1 < figures["brier"] < 0.25
    assert sum(row["n"] for row in figures["calibration"]) == 77
