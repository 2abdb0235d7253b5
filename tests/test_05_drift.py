"""Pruebas de la deriva (`maintenance.drift`) y del simulacro (`maintenance.drill`): la tabla de PSI con las
filas de la ficha, y de punta a punta con Gunicorn y el Prometheus de Debian en 127.0.0.1."""

import pytest

from maintenance import drift, drill, prom
from support import need, running_gunicorn

DRIFT = {"vigilar": 0.1, "alerta": 0.25, "muestra_minima": 500, "ventana_s": 60}


def test_same_population_is_stable_and_an_older_one_only_moves_age(card):
    rows = drill.patients(1500, seed=1)
    same = drift.drift_table(card, drift.counts_from_rows(card, rows), DRIFT)
    assert all(row["verdict"] == drift.STABLE for row in same if row["variable"] != drift.RISK)
    shifted = drift.drift_table(card, drift.counts_from_rows(card, [drill.older(r) for r in rows]), DRIFT)
    assert drift.flagged(shifted) == {"Age"} and drift.flagged(shifted, drift.WATCH) == {"Age"}


def test_verdicts_follow_the_thresholds_and_a_short_sample_decides_nothing():
    assert [drift.verdict(v, DRIFT, 600, 500) for v in (0.099, 0.1, 0.249, 0.25)] == \
        [drift.STABLE, drift.WATCH, drift.WATCH, drift.ALERT]
    assert drift.verdict(3.0, DRIFT, 499, 500) == drift.SHORT


def test_table_is_in_spanish_with_decimal_comma(card):
    rows = drift.drift_table(card, drift.counts_from_rows(card, [drill.unmeasured_glucose(r)
                                                                 for r in drill.patients(600)]), DRIFT)
    text = drift.format_table(card["version"], rows)
    assert "Glucosa (Glucose)" in text and "0 (no medido): 0,7 % → 100,0 %" in text
    assert drift.flagged(rows) == {"Glucose"}


@pytest.mark.server
@pytest.mark.slow
def test_drill_against_gunicorn_and_prometheus_flags_the_right_features(tmp_path, served_model_dir, card):
    need(prom.binary() is not None, "falta prometheus (sudo apt-get install prometheus)")
    with running_gunicorn(tmp_path, env={"MODEL_DIR": str(served_model_dir)}) as (url, _):
        with prom.running([url.removeprefix("http://")], rule_files=[drill.RULES]) as server:
            prom.wait_for_targets(server.url)
            results = drill.run_drill(url, server.url, served_model_dir, rows=600, log=lambda *_: None)
            alerts = drill.wait_for_alerts(server.url, {"Age", "Glucose"})
    by_name = {result["scenario"]: result for result in results}
    assert [by_name[name]["flagged"] for name in drill.SCENARIOS] == \
        [{card["version"]: []}, {card["version"]: ["Age"]}, {card["version"]: ["Glucose"]}]
    assert all(result["ok"] for result in results)
    assert by_name["mmol"]["statuses"] == {"422 (1.er envío)": 24, "200 (reenvío sin glucosa)": 24}
    glucose = next(r for r in by_name["mmol"]["tables"][card["version"]] if r["variable"] == "Glucose")
    assert glucose["n"] == 600  # ni una de más: los 422 no llegan al modelo ni a sus cuentas
    drifting = {feature for name, feature, _, _ in alerts if name.startswith("DerivaVariable")}
    assert "Glucose" in drifting and drifting <= {"Age", "Glucose"}, alerts
