"""Etapa 05: el juez del canario, su decisión pura (sin servidores) y sus umbrales.

Cada regla salta sola (las demás cifras, sanas); la muestra mínima se espera; la línea en español lleva
las cifras y los umbrales con coma decimal. La prueba con gunicorn y Prometheus de verdad es test_05_demo.py.
"""

import pytest

from maintenance.judge import (
    ADVANCE,
    PROMOTE,
    ROLL_BACK,
    WAIT,
    VersionStats,
    Window,
    decide,
    describe,
    quantile,
    window_between,
)
from maintenance.thresholds import DEFAULT_PATH, ThresholdsError, load_thresholds

LIMITS = load_thresholds()["juez"]
SAME_RISK = (100, 200, 150, 120, 100, 90, 80, 70, 50, 40)


def healthy(weight=0.05, **changes):
    """Una ventana sana con muestra de sobra; `changes` estropea una cifra."""
    live = VersionStats(answers=10_000, errors=0, p99_s=0.004, risk=tuple(10 * v for v in SAME_RISK))
    candidate = VersionStats(answers=1_000 if weight else 0, errors=0, p99_s=0.0045 if weight else None,
                             risk=SAME_RISK)
    fields = {"weight": weight, "seconds": 30.0, "live": live, "candidate": candidate, "compared": 10_000,
              "flips": 100}
    for key, value in changes.items():
        if key.startswith("candidate_"):
            fields["candidate"] = VersionStats(**{**vars(fields["candidate"]), key.removeprefix("candidate_"): value})
        else:
            fields[key] = value
    return Window(**fields)


def test_the_shipped_thresholds_have_the_documented_values():
    juez, deriva, demo = (load_thresholds()[key] for key in ("juez", "deriva", "demo"))
    assert juez["pasos"] == [0.0, 0.05, 0.25, 1.0]
    assert juez["muestra_minima"] >= 500
    assert (deriva["vigilar"], deriva["alerta"]) == (0.1, 0.25)
    assert demo["peticiones_por_segundo"] == 200


@pytest.mark.parametrize("key, line", [
    ("muestra_minima", None),  # falta
    ("muestra_minima", "muestra_minima = 100"),  # por debajo de 500
    ("cambios_max", "cambios_max = 'mucho'"),
    ("pasos", "pasos = [0.5, 0.25, 1.0]"),
    ("inventado", "inventado = 1"),
])
def test_a_bad_threshold_is_named_in_spanish(tmp_path, key, line):
    lines = [text for text in DEFAULT_PATH.read_text(encoding="utf-8").splitlines()
             if not text.startswith(f"{key} =")]
    if line:
        lines.insert(lines.index("[juez]") + 1, line)
    path = tmp_path / "umbrales.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ThresholdsError, match=rf"juez\.{key}"):
        load_thresholds(path)


def test_a_healthy_step_advances_and_the_last_one_promotes():
    assert decide(healthy(0.0), LIMITS).action == ADVANCE
    assert decide(healthy(0.0), LIMITS).next_weight == 0.05
    assert decide(healthy(0.05), LIMITS).next_weight == 0.25
    assert decide(healthy(0.25), LIMITS).action == PROMOTE


@pytest.mark.parametrize("changes, rule", [
    ({"flips": 1_500}, "cambios de decisión"),
    ({"candidate_risk": (0, 0, 0, 0, 0, 0, 0, 0, 0, 1_000)}, "PSI del riesgo"),
    ({"candidate_errors": 30}, "tasa de errores"),
    ({"candidate_p99_s": 0.02}, "p99 frente a la viva"),
])
def test_each_rule_rolls_back_alone(changes, rule):
    decision = decide(healthy(0.05, **changes), LIMITS)
    assert (decision.action, decision.tripped) == (ROLL_BACK, (rule,))


def test_the_flip_rate_alone_rolls_back_in_the_shadow():
    """La regla que más importa: una candidata que cambia la decisión de muchas pacientes no avanza."""
    decision = decide(healthy(0.0, flips=1_001), LIMITS)
    assert decision.action == ROLL_BACK and decision.tripped == ("cambios de decisión",)
    assert decide(healthy(0.0, flips=999), LIMITS).action == ADVANCE


def test_errors_and_p99_do_not_apply_in_the_shadow():
    assert decide(healthy(0.0, candidate_errors=50, candidate_answers=100), LIMITS).action == ADVANCE


def test_without_the_minimum_sample_it_waits_and_then_gives_up():
    few = healthy(0.05, candidate_answers=LIMITS["muestra_minima"] - 1, candidate_errors=400)
    assert decide(few, LIMITS).action == WAIT
    late = healthy(0.05, candidate_answers=10, seconds=LIMITS["espera_max_s"])
    assert decide(late, LIMITS).tripped == ("sin muestra suficiente",)


def test_the_line_is_spanish_with_figures_and_thresholds():
    line = describe(decide(healthy(0.05, flips=1_500), LIMITS), LIMITS)
    assert "RETIRA" in line and "15,00 %" in line and "máx. 10,0 %" in line and "mín. 500" in line
    assert "×1,12" in line and "máx. ×2,0" in line
    shadow = describe(decide(healthy(0.0), LIMITS), LIMITS)
    assert "AVANZA a 5 %" in shadow and "no aplican en la sombra" in shadow


def test_the_window_is_the_difference_of_two_scrapes_per_version():
    def rows(scale):
        return {"answers": [({"model_version": "viva", "status": "200"}, 1000 * scale),
                            ({"model_version": "cand", "status": "200"}, 90 * scale),
                            ({"model_version": "cand", "status": "500"}, 10 * scale)],
                "latency": [({"model_version": "cand", "le": le}, c * scale)
                            for le, c in (("0.001", 50), ("0.01", 99), ("+Inf", 100))],
                "risk": [({"model_version": "cand", "le": f"{b / 10:.1f}"}, 10 * b * scale) for b in range(1, 11)],
                "compared": [({"model_version": "cand"}, 1000 * scale)],
                "flips": [({"model_version": "cand"}, 30 * scale)]}
    window = window_between(rows(1), rows(3), "viva", "cand", 0.05, 10.0)
    assert (window.live.answers, window.candidate.answers, window.candidate.errors) == (2000, 200, 20)
    assert (window.compared, window.flip_rate) == (2000, 0.03)
    assert window.candidate.risk == (20,) * 10
    assert window.candidate.p99_s == pytest.approx(0.01)
    assert quantile([(0.001, 50), (0.01, 100), (float("inf"), 100)], 0.5) == pytest.approx(0.001)
