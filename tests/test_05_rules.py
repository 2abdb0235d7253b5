"""Pruebas de las reglas de alertas de la etapa 05 (05_mantenimiento/alertas.yml) con el `promtool` de Debian:
están bien escritas, sus pruebas (alertas.test.yml) pasan, sus cifras son las de umbrales.toml, y una
regla estropeada a propósito hace fallar esas pruebas (las pruebas de las reglas pueden fallar)."""

import re
import shutil

import pytest
import yaml

from maintenance.thresholds import load_thresholds
from support import ROOT, have, need, run_to_exit

STAGE = ROOT / "05_mantenimiento"
RULES, RULE_TESTS = STAGE / "alertas.yml", STAGE / "alertas.test.yml"


@pytest.fixture(scope="module")
def promtool():
    need(have("promtool"), "falta promtool (sudo apt-get install prometheus)")
    return shutil.which("promtool")


def rules_by_name():
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return {rule.get("alert") or rule["record"]: rule for group in groups for rule in group["rules"]}


def test_rules_are_valid_for_prometheus(promtool):
    code, out, err = run_to_exit([promtool, "check", "rules", str(RULES)])
    assert code == 0, out + err
    assert "SUCCESS" in out


def test_rule_unit_tests_pass(promtool):
    code, out, err = run_to_exit([promtool, "test", "rules", str(RULE_TESTS)], timeout=30)
    assert code == 0, out + err


def test_every_alert_is_in_spanish_and_has_a_severity():
    alerts = {name: rule for name, rule in rules_by_name().items() if "alert" in rule}
    assert {"DerivaVariable", "DerivaVariableVigilar", "DerivaRiesgo", "ErroresPrediccion", "RechazosValidacion",
            "LatenciaP99", "MetricasDegradadas", "ApiSinRespuesta"} <= set(alerts)
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"aviso", "grave"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        assert not re.search(r"printf \"%\.\df\" }}", rule["annotations"]["description"]), \
            f"{name}: los decimales se muestran con coma (reReplaceAll)"


def test_drift_rules_use_the_thresholds_of_umbrales_toml():
    drift = load_thresholds()["deriva"]
    rules = rules_by_name()
    window = f"[{int(drift['ventana_s'] // 60)}m]" if drift["ventana_s"] % 60 == 0 else f"[{int(drift['ventana_s'])}s]"
    assert window in rules["diabetes_api:feature_bin_count:1m"]["expr"]
    assert window in rules["diabetes_api:risk_bin_count:1m"]["expr"]
    for record in ("diabetes_api:feature_psi:1m", "diabetes_api:risk_psi:1m"):
        assert re.search(rf">= {drift['muestra_minima']}\s*$", rules[record]["expr"].strip()), record
    assert rules["DerivaVariable"]["expr"] == f"diabetes_api:feature_psi:1m >= {drift['alerta']}"
    assert rules["DerivaVariableVigilar"]["expr"] == \
        f"diabetes_api:feature_psi:1m >= {drift['vigilar']} < {drift['alerta']}"
    assert rules["DerivaRiesgo"]["expr"] == f"diabetes_api:risk_psi:1m >= {drift['alerta']}"


MUTATIONS = {
    "umbral de alerta equivocado": ("diabetes_api:feature_psi:1m >= 0.25", "diabetes_api:feature_psi:1m >= 0.3"),
    "sin completar los tramos vacíos": ('or\n          0 * diabetes_api:reference_share{feature!="riesgo"}', ""),
    "sin muestra mínima": ("diabetes_api:feature_count:1m >= 500", "diabetes_api:feature_count:1m >= 0"),
    "5xx contados como 4xx": ('status=~"5.."', 'status=~"[45].."'),
}


@pytest.mark.parametrize("change", MUTATIONS, ids=list(MUTATIONS))
def test_a_broken_rule_makes_the_rule_tests_fail(promtool, tmp_path, change):
    """Cada estropicio, en una copia: `promtool test rules` debe fallar (la prueba de arriba puede ponerse roja)."""
    before, after = MUTATIONS[change]
    text = RULES.read_text(encoding="utf-8")
    assert text.count(before) == 1, f"la regla a estropear ya no está: {before!r}"
    (tmp_path / "alertas.yml").write_text(text.replace(before, after), encoding="utf-8")
    shutil.copy(RULE_TESTS, tmp_path / "alertas.test.yml")
    code, out, err = run_to_exit([promtool, "test", "rules", str(tmp_path / "alertas.test.yml")], timeout=30)
    assert code != 0 and "FAILED" in out + err, out + err


def test_metrics_say_when_they_are_degraded(client, monkeypatch):
    """La señal que mira MetricasDegradadas: el worker que contesta a /metrics dice si dejó de escribirlas."""
    from diabetes_api import metrics

    assert re.search(r"^diabetes_api_metrics_degraded 0\.0$", client.get("/metrics").text, re.M)
    monkeypatch.setitem(metrics._stopped, "reason", "no queda espacio")  # lo que hace _safely ante ENOSPC
    assert re.search(r"^diabetes_api_metrics_degraded 1\.0$", client.get("/metrics").text, re.M)
