"""Mantenimiento: publicar una versión nueva del modelo sin cortar el servicio.

Bajo carga constante se entrena otra versión en la carpeta que sirve gunicorn (la escritura es
atómica) y se envía SIGHUP al maestro: crea workers nuevos, que leen el modelo nuevo del disco,
y despide a los viejos cuando terminan lo que tenían en curso. Ninguna petición falla.
"""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from fault_tools import SteadyLoad, sample_patient, wait_workers_loaded
from support import ROOT, running_gunicorn

ENV = {"WEB_CONCURRENCY": "2", "GUNICORN_MAX_REQUESTS": "0", "GUNICORN_PRELOAD": ""}


def version_of(outcome):
    return outcome.body.get("model_version")


@pytest.mark.slow
def test_sighup_switches_to_new_model_without_failed_requests(tmp_path, model_dir, card):
    served = tmp_path / "modelo"
    shutil.copytree(model_dir, served)
    old_version = card["version"]
    patient = sample_patient(card)
    with running_gunicorn(tmp_path, env={**ENV, "MODEL_DIR": str(served)}) as (base_url, master):
        wait_workers_loaded(master.pid, 2)

        def predict(session):
            return session.post(base_url + "/v1/predict", json=patient, timeout=15)

        with SteadyLoad(predict, threads=4, max_seconds=60) as load:
            load.wait_for(lambda o: o.ok, timeout=10)
            subprocess.run([sys.executable, "00_intro/train.py", "--output", str(served), "--seed", "7"],
                           cwd=ROOT, check=True, capture_output=True, timeout=120)
            new_version = json.loads((served / "model.json").read_text(encoding="utf-8"))["version"]
            assert new_version != old_version

            # El modelo nuevo ya está en disco, pero los workers siguen con el que cargaron al nacer.
            trained_at = time.monotonic()
            load.wait_for(lambda o: o.ok and version_of(o) == old_version, timeout=10, since=trained_at)

            master.send_signal(signal.SIGHUP)
            signalled_at = time.monotonic()
            load.wait_for(lambda o: version_of(o) == new_version, timeout=30, since=signalled_at)
            wait_workers_loaded(master.pid, 2)
            settled_at = time.monotonic()
            load.wait_for(lambda o: o.ok, timeout=10, since=settled_at + 1.0)

        failures = load.failures()
        outcomes = load.snapshot()
        after = [o for o in outcomes if o.started >= settled_at]
        print(f"\n{old_version} → {new_version}; peticiones: {len(outcomes)}, fallidas: {len(failures)}, "
              f"respuestas con la versión vieja tras SIGHUP: "
              f"{sum(1 for o in outcomes if o.started >= signalled_at and version_of(o) == old_version)}, "
              f"petición más lenta tras SIGHUP: "
              f"{max(o.finished - o.started for o in outcomes if o.started >= signalled_at) * 1000:.0f} ms")
        assert failures == [], [f.error or f.status for f in failures[:5]]
        assert after and all(version_of(o) == new_version for o in after)
        assert master.poll() is None, "el maestro sigue vivo: solo cambian los workers"
