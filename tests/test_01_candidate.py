"""Etapa 01 (y 00): la versión candidata junto a la publicada, dentro del proceso (cliente de pruebas de Flask).

- El reparto respeta el peso (se cuenta sobre 2.000 pacientes distintas) y es pegajoso: la misma paciente
  del mismo cliente recibe siempre la misma versión; clientes distintos se reparten.
- Con peso 0 responde siempre la publicada, pero la candidata puntúa cada petición (métricas de la sombra).
- Los cambios de decisión y |Δp| se cuentan como los da comparar las dos versiones a mano.
- Métricas por versión; una ficha sin referencia no tiene tramos; un candidate.json dañado deja solo la publicada.
- La orden `python -m diabetes_model.versions candidate` y los ajustes CANDIDATE_VERSION/CANDIDATE_WEIGHT.
"""

import json
import logging
import random
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from diabetes_api import create_app
from diabetes_model.candidate import read_candidate, set_candidate
from diabetes_model.patients import example_patient
from diabetes_model.store import ModelError
from support import live_version, shifted_version

CANDIDATE = "v-candidata"


def scrape(client):
    """{(muestra, etiquetas ordenadas): valor} de /metrics."""
    text = client.get("/metrics").get_data(as_text=True)
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def delta(before, after, name, **labels):
    """Cuánto subió la muestra `name` con esas etiquetas (las métricas del proceso se acumulan entre pruebas)."""
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def patients(card, count, seed=7):
    """`count` pacientes distintas y válidas (glucosa, edad e IMC distintos)."""
    rng, base, seen = random.Random(seed), example_patient(card), set()
    while len(seen) < count:
        seen.add((rng.randint(80, 199), rng.randint(21, 80), rng.randint(190, 500) / 10))
    return [{**base, "Glucose": g, "Age": a, "BMI": b} for g, a, b in sorted(seen)]


@pytest.fixture()
def model_root(fresh_model_dir):
    shifted_version(fresh_model_dir, CANDIDATE, 1.5)
    return fresh_model_dir


def app_with(model_root, weight, **config):
    set_candidate(model_root, CANDIDATE, weight)
    return create_app({"MODEL_DIR": model_root, "TESTING": True, "CACHE_SIZE": 0, "ACCESS_LOG": False, **config})


def answers(client, bodies, clients):
    """La versión que respondió a cada (cuerpo, cliente); todas las respuestas deben ser 200."""
    versions = []
    for body, who in zip(bodies, clients, strict=True):
        response = client.post("/v1/predict", json=body, headers={"X-Client-Id": who})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["X-Model-Version"] == response.get_json()["model_version"]
        versions.append(response.get_json()["model_version"])
    return versions


def test_the_split_honours_the_weight_over_2000_distinct_patients(model_root, card, weight=0.2):
    client = app_with(model_root, weight).test_client()
    bodies = patients(card, 2000)
    versions = answers(client, bodies, ["la-misma-app"] * len(bodies))
    share = versions.count(CANDIDATE) / len(versions)
    print(f"\npeso {weight}: la candidata respondió a {versions.count(CANDIDATE)} de {len(versions)}")
    assert set(versions) == {live_version(model_root), CANDIDATE}
    assert abs(share - weight) < 0.035, share  # binomial: ±0,035 son más de 3 desviaciones con 2.000


def test_the_choice_is_sticky_per_client_and_patient_and_clients_spread(model_root, card):
    client = app_with(model_root, 0.5).test_client()
    bodies = patients(card, 60)
    first = answers(client, bodies, ["app-1"] * 60)
    for _ in range(3):  # la misma paciente, el mismo cliente: la misma versión, siempre
        assert answers(client, bodies, ["app-1"] * 60) == first
    one = bodies[0]  # la misma paciente desde 200 clientes: se reparten según el peso
    spread = answers(client, [one] * 200, [f"cliente-{index}" for index in range(200)])
    assert 0.35 < spread.count(CANDIDATE) / 200 < 0.65, spread.count(CANDIDATE)
    batch = {"instances": bodies[:5]}
    versions = {client.post("/v1/predict", json=batch, headers={"X-Client-Id": "app-1"}).get_json()["model_version"]
                for _ in range(5)}
    assert len(versions) == 1  # un lote: una versión responde el lote entero, siempre la misma


def test_with_weight_0_the_live_version_answers_and_the_shadow_is_measured(model_root, card):
    client = app_with(model_root, 0.0).test_client()
    bodies = patients(card, 300, seed=11)
    before = scrape(client)
    versions = answers(client, bodies, [f"c{index}" for index in range(300)])
    after = scrape(client)
    live = live_version(model_root)
    assert set(versions) == {live}
    assert delta(before, after, "diabetes_api_shadow_total", model_version=CANDIDATE) == 300
    assert delta(before, after, "diabetes_api_probability_count", model_version=CANDIDATE) == 300
    assert delta(before, after, "diabetes_api_answers_total", model_version=live, status="200") == 300
    assert delta(before, after, "diabetes_api_answers_total", model_version=CANDIDATE, status="200") == 0
    assert after[("diabetes_api_candidate_weight", ())] == 0.0
    health = client.get("/health").get_json()
    assert health["candidate"] == {"version": CANDIDATE, "weight": 0.0}


def test_flips_and_probability_deltas_are_those_of_comparing_both_versions(model_root, card):
    bodies = patients(card, 200, seed=3)
    live_client = create_app({"MODEL_DIR": model_root, "TESTING": True, "ACCESS_LOG": False}).test_client()
    live_answers = [live_client.post("/v1/predict", json=body).get_json() for body in bodies]
    client = app_with(model_root, 1.0).test_client()  # con peso 1 responde siempre la candidata
    before = scrape(client)
    candidate_answers = [client.post("/v1/predict", json=body).get_json() for body in bodies]
    after = scrape(client)
    assert {answer["model_version"] for answer in candidate_answers} == {CANDIDATE}
    flips = sum(a["prediction"] != b["prediction"] for a, b in zip(live_answers, candidate_answers, strict=True))
    gap = sum(abs(a["probability"] - b["probability"]) for a, b in zip(live_answers, candidate_answers, strict=True))
    assert flips > 10  # la candidata decide otra cosa para bastantes pacientes: la prueba mide algo
    assert delta(before, after, "diabetes_api_shadow_flips_total", model_version=CANDIDATE) == flips
    assert delta(before, after, "diabetes_api_shadow_delta_sum", model_version=CANDIDATE) == pytest.approx(gap)
    assert delta(before, after, "diabetes_api_shadow_delta_count", model_version=CANDIDATE) == 200


def test_metrics_per_version_with_reference_bins_and_none_for_a_card_without_reference(fresh_model_dir, card):
    shifted_version(fresh_model_dir, "v-sin-referencia", 0.5, card_changes=lambda c: c.pop("reference", None))
    set_candidate(fresh_model_dir, "v-sin-referencia", 0.5)
    client = create_app({"MODEL_DIR": fresh_model_dir, "TESTING": True, "ACCESS_LOG": False}).test_client()
    before = scrape(client)
    batch = {"instances": patients(card, 40, seed=5)}
    assert client.post("/v1/predict", json=batch).status_code == 200
    answers(client, patients(card, 40, seed=6), ["x"] * 40)
    after = scrape(client)
    live, name = live_version(fresh_model_dir), card["features"][1]["name"]
    bins = [key for key in after if key[0] == "diabetes_api_feature_bin_total" and ("feature", name) in key[1]]
    counted = {version: sum(delta(before, after, "diabetes_api_feature_bin_total", **dict(labels))
                            for _, labels in bins if ("model_version", version) in labels)
               for version in (live, "v-sin-referencia")}
    assert counted == {live: 80, "v-sin-referencia": 0}  # cada fila una vez por versión que puntúa (y con tramos)
    risk = sum(value for (sample, labels), value in after.items()
               if sample == "diabetes_api_risk_bin_total" and ("model_version", live) in labels)
    assert risk >= 80
    shares = [value for (sample, labels), value in after.items()
              if sample == "diabetes_api_reference_share" and ("model_version", live) in labels
              and ("feature", "riesgo") in labels]
    assert sum(shares) == pytest.approx(1.0, abs=1e-3)
    answered = sum(delta(before, after, "diabetes_api_answers_total", model_version=v, status="200")
                   for v in (live, "v-sin-referencia"))
    assert answered == 41
    assert after[("diabetes_api_model_info", (("model_version", live), ("role", "live")))] == 1


def test_a_damaged_candidate_file_serves_only_the_live_version_with_a_spanish_line(model_root, card, caplog):
    (model_root / "candidate.json").write_text('{"version": ', encoding="utf-8")
    with pytest.raises(ModelError, match="está dañado"):
        read_candidate(model_root)
    with caplog.at_level(logging.WARNING, logger="diabetes_api"):
        app = create_app({"MODEL_DIR": model_root, "TESTING": True, "ACCESS_LOG": False})
    lines = [record.getMessage() for record in caplog.records if "Candidata rechazada" in record.getMessage()]
    assert len(lines) == 1 and "está dañado" in lines[0], lines
    client = app.test_client()
    assert set(answers(client, patients(card, 30), ["y"] * 30)) == {live_version(model_root)}
    assert "dañado" in client.get("/health").get_json()["candidate"]["error"]


def test_the_settings_override_candidate_json(model_root, card, monkeypatch):
    monkeypatch.setenv("CANDIDATE_VERSION", CANDIDATE)
    monkeypatch.setenv("CANDIDATE_WEIGHT", "1")
    client = create_app({"MODEL_DIR": model_root, "TESTING": True, "ACCESS_LOG": False}).test_client()
    assert not (model_root / "candidate.json").exists()
    assert set(answers(client, patients(card, 10), ["z"] * 10)) == {CANDIDATE}
    monkeypatch.setenv("CANDIDATE_VERSION", "v-no-existe")
    client = create_app({"MODEL_DIR": model_root, "TESTING": True, "ACCESS_LOG": False}).test_client()
    assert "No existe la versión v-no-existe" in client.get("/health").get_json()["candidate"]["error"]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "diabetes_model.versions", *args], capture_output=True, text=True,
                          timeout=60)


def test_the_candidate_command_sets_checks_and_clears(model_root):
    done = cli("--model-dir", str(model_root), "candidate", CANDIDATE, "--weight", "0.05")
    assert done.returncode == 0, done.stderr
    assert "responde el 5 % del tráfico" in done.stdout
    data = json.loads((model_root / "candidate.json").read_text(encoding="utf-8"))
    assert (data["version"], data["weight"]) == (CANDIDATE, 0.05)
    wrong = cli("--model-dir", str(model_root), "candidate", CANDIDATE, "--weight", "1.5")
    assert wrong.returncode == 1 and "entre 0 y 1" in wrong.stderr and "Traceback" not in wrong.stderr
    missing = cli("--model-dir", str(model_root), "candidate", "v-no-existe")
    assert missing.returncode == 1 and "no existe la versión v-no-existe" in missing.stderr
    live = cli("--model-dir", str(model_root), "candidate", live_version(model_root))
    assert live.returncode == 1 and "ya es la publicada" in live.stderr
    assert read_candidate(model_root)["version"] == CANDIDATE  # los errores no tocaron el archivo
    cleared = cli("--model-dir", str(model_root), "candidate", "--clear")
    assert cleared.returncode == 0 and "Candidata quitada" in cleared.stdout
    assert read_candidate(model_root) is None
    both = cli("--model-dir", str(model_root), "candidate", CANDIDATE, "--clear")
    assert both.returncode == 2 and "no las dos cosas" in both.stderr


def test_what_an_idle_worker_counted_reaches_the_metrics_without_another_request():
    """Lo contado se escribe por tandas (Pending): si el worker deja de recibir peticiones, un hilo lo escribe
    igualmente en FLUSH_SECONDS. Sin él, el simulacro de deriva de la etapa 05 contaba una tanda en la siguiente."""
    from prometheus_client import CollectorRegistry, Counter

    from diabetes_api import metrics_versions
    from workshop.processes import wait_until

    counter = Counter("prueba_pendiente", "prueba", registry=CollectorRegistry())
    pending = metrics_versions.Pending()
    pending.keep_flushing()
    pending.add(counter._value, 3)  # noqa: SLF001 (como lo hace metrics_versions)
    wait_until(lambda: counter._value.get() == 3, 5 * metrics_versions.FLUSH_SECONDS,  # noqa: SLF001
               message="lo pendiente no llegó a escribirse sin otra petición")
