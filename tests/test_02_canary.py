"""Etapa 02: la candidata con gunicorn real (el `gunicorn.conf.py` del repositorio, 2 workers gevent) en
127.0.0.1, bajo una carga constante y acotada de un cliente real (requests, muchas pacientes y clientes).

Se elige una candidata con peso 0,3 (`python -m diabetes_model.versions candidate`) y SIGHUP: ninguna
petición falla y, en cuanto los workers son nuevos, las respuestas llevan las dos versiones en la
proporción del peso (y /metrics, las métricas de cada una). Se quita (--clear) y SIGHUP: solo la publicada,
y el peso publicado vuelve a 0 (los «gauges» de los workers viejos dejan de contar).
"""

import itertools
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from diabetes_model.patients import example_patient
from support import read_log, reload_workers, running_gunicorn, shifted_version, spanish

pytestmark = [pytest.mark.slow, pytest.mark.server]
ENV = {"WEB_CONCURRENCY": "2", "GUNICORN_MAX_REQUESTS": "0", "ACCESS_LOG": "0"}
CANDIDATE, WEIGHT = "v-canaria", 0.3


class MixedLoad:
    """`threads` hilos que envían pacientes distintas con un X-Client-Id distinto cada vez (acotada en tiempo)."""

    def __init__(self, url, card, threads=3, pause=0.01, max_seconds=60.0):
        base = example_patient(card)
        self.url, self.pause, self.deadline = url, pause, time.monotonic() + max_seconds
        self.bodies = itertools.cycle([{**base, "Glucose": g, "Age": a} for g in range(80, 200) for a in (25, 45, 65)])
        self.numbers, self.lock, self.stop = itertools.count(), threading.Lock(), threading.Event()
        self.outcomes = []  # (empezó, versión o None, error)
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def _loop(self):
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            with self.lock:
                body, number = next(self.bodies), next(self.numbers)
            started = time.monotonic()
            try:
                response = requests.post(self.url, json=body, timeout=10,
                                         headers={"X-Client-Id": f"cliente-{number}", "Connection": "close"})
                ok = response.status_code == 200
                outcome = (started, response.json()["model_version"] if ok else None, "" if ok else response.text[:200])
            except (requests.RequestException, ValueError) as error:
                outcome = (started, None, f"{type(error).__name__}: {error}")
            with self.lock:
                self.outcomes.append(outcome)
            self.stop.wait(self.pause)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def since(self, moment):
        with self.lock:
            return [outcome for outcome in self.outcomes if outcome[0] >= moment]

    def wait_answers(self, moment, count, timeout=30.0):
        deadline = time.monotonic() + timeout
        while len(self.since(moment)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return Counter(version for _, version, _ in self.since(moment))

    def failures(self):
        with self.lock:
            return [error for _, version, error in self.outcomes if version is None]


def scrape(base_url):
    text = requests.get(base_url + "/metrics", timeout=10).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def versions_cli(model_dir, *args):
    done = subprocess.run([sys.executable, "-m", "diabetes_model.versions", "--model-dir", str(model_dir), *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_candidate_then_sighup_splits_the_traffic_by_weight_and_clear_returns_to_live(tmp_path, fresh_model_dir,
                                                                                         card):
    live = card["version"]
    shifted_version(fresh_model_dir, CANDIDATE, 1.0)
    env = {**ENV, "MODEL_DIR": str(fresh_model_dir)}
    with running_gunicorn(tmp_path, env=env) as (base_url, master), MixedLoad(base_url + "/v1/predict", card) as load:
        assert load.wait_answers(0, 20) == {live: len(load.since(0))}
        versions_cli(fresh_model_dir, "candidate", CANDIDATE, "--weight", str(WEIGHT))
        switched, renewed = reload_workers(master)
        mixed = load.wait_answers(renewed, 400)
        metrics = scrape(base_url)
        versions_cli(fresh_model_dir, "candidate", "--clear")
        cleared, renewed_again = reload_workers(master)
        only_live = load.wait_answers(renewed_again, 100)
        after = scrape(base_url)
        log = read_log(master, None)
    failures = load.failures()
    share = mixed[CANDIDATE] / sum(mixed.values())
    print(f"\n[candidata {spanish(WEIGHT, 1)} + SIGHUP, y --clear + SIGHUP] peticiones: {spanish(len(load.outcomes))}, "
          f"fallidas: {len(failures)}; con la candidata: {dict(mixed)} ({spanish(share * 100, 1)} %); "
          f"tras quitarla: {dict(only_live)}")
    assert failures == [], failures[:3]
    assert set(mixed) == {live, CANDIDATE} and abs(share - WEIGHT) < 0.1, mixed
    assert set(only_live) == {live}, only_live
    assert metrics[("diabetes_api_candidate_weight", ())] == WEIGHT
    assert metrics[("diabetes_api_model_info", (("model_version", CANDIDATE), ("role", "candidate")))] == 1
    assert metrics[("diabetes_api_answers_total", (("model_version", CANDIDATE), ("status", "200")))] > 0
    assert metrics[("diabetes_api_shadow_total", (("model_version", CANDIDATE),))] > 0
    assert after[("diabetes_api_candidate_weight", ())] == 0  # «livemax»: el peso de los workers viejos no cuenta
    assert ("diabetes_api_model_info", (("model_version", CANDIDATE), ("role", "candidate"))) not in after
    assert f"SIGHUP: versión {live} comprobada (antes {live}), candidata {CANDIDATE} (peso 0,3)" in log
    assert f"SIGHUP: versión {live} comprobada (antes {live}), sin candidata" in log


def test_a_broken_candidate_is_left_out_with_one_line_and_the_live_version_keeps_answering(tmp_path, fresh_model_dir,
                                                                                            card):
    folder = shifted_version(fresh_model_dir, CANDIDATE, 1.0)
    versions_cli(fresh_model_dir, "candidate", CANDIDATE, "--weight", "0.5")
    with open(folder / "model.onnx", "ab") as handle:  # se estropea DESPUÉS de elegirla
        handle.write(b"manipulado")
    with running_gunicorn(tmp_path, env={**ENV, "MODEL_DIR": str(fresh_model_dir)}) as (base_url, master):
        health = requests.get(base_url + "/health", timeout=10).json()
        answers = {requests.post(base_url + "/v1/predict", json=example_patient(card), timeout=10,
                                 headers={"X-Client-Id": f"c{n}"}).json()["model_version"] for n in range(30)}
        log = read_log(master, None)
    rejected = [line for line in log.splitlines() if "Candidata rechazada" in line]
    assert len(rejected) == 1 and "sha256 distinto" in rejected[0], log
    assert rejected[0].endswith(f"Se sirve solo la versión {card['version']}.")
    assert answers == {card["version"]}
    assert "sha256" in health["candidate"]["error"]
