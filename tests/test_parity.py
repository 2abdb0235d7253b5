"""Paridad entre motores: la misma paciente da el mismo riesgo la pregunte quien la pregunte.

El código que mide y arma la tabla es el de la orden `make parity` (tools/parity.py, que explica los
seis canales y las tolerancias); esta prueba lo llama con una copia del modelo publicado y falla si
algún canal se aparta de scikit-learn. Con CI=true ningún canal se omite (support.need). La tabla
sale en español con `-s`:

    .venv/bin/python -m pytest -q -s tests/test_parity.py

Todo se arranca en 127.0.0.1 en puertos libres y se para por su PID al acabar, también si falla.
"""

import numpy as np
import pytest

from support import need
from tools import parity


def omitted(name, available, reason):
    """None si el canal puede medirse; si no, un Skipped (con CI=true, `need` hace fallar la prueba)."""
    try:
        need(available, reason)
    except pytest.skip.Exception:
        return parity.Skipped(name, reason)
    return None


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.server
def test_every_runtime_gives_the_same_probability(card, served_model_dir, tmp_path):
    result = parity.measure(served_model_dir, card, tmp_path, omit=omitted)
    print("\n\n" + result.text())
    assert result.rows[0][0] == "scikit-learn (model.joblib)"
    assert len(result.rows) == 1 + result.channels + sum("OMITIDO" in row[-1] for row in result.rows)
    assert not result.problems, "; ".join(result.problems)


def test_compare_flags_a_drift_a_flip_and_a_channel_that_stopped_rounding():
    """La comparación puede fallar: un canal con una diferencia, una decisión cambiada o sin su redondeo."""
    reference = np.array([0.1, 0.49, 0.8])
    decisions = reference >= 0.5
    same = parity.Channel("igual", reference.round(6), decisions, "", 6)
    assert parity.compare(same, reference, decisions, 1e-6)[1] == []
    drifted = parity.Channel("desvío", reference + [0, 0.02, 0], reference + [0, 0.02, 0] >= 0.5, "")
    problems = parity.compare(drifted, reference, decisions, 1e-6)[1]
    assert problems == ["desvío: diferencia máxima 2,0e-02 > 1,0e-06", "desvío: 1 decisiones cambiadas"]
    unrounded = parity.Channel("sin redondeo", reference + 1e-9, decisions, "", 6)
    assert parity.compare(unrounded, reference, decisions, 1e-6)[1] == [
        "sin redondeo: ya no redondea a 6 decimales (revisa su tolerancia)"]
    nan = parity.Channel("nan", np.array([0.1, np.nan, 0.8]), decisions, "")
    assert "nan: diferencia máxima nan > 1,0e-06" in parity.compare(nan, reference, decisions, 1e-6)[1]
