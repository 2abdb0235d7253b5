"""diabetes_api.demo (`make demo-1`): el curl que imprime es válido y funciona tal cual contra un servidor real."""

import shlex
import subprocess

import pytest

from diabetes_api.demo import curl_command
from diabetes_model.patients import example_patient
from support import ROOT, have, need, running_gunicorn


def test_the_printed_patient_is_valid_for_the_api(client, card):
    response = client.post("/v1/predict", json=example_patient(card))
    assert response.status_code == 200, response.get_json()


@pytest.mark.server
def test_printed_curl_works_verbatim(tmp_path, served_model_dir, card):
    need(have("curl"), "falta curl")
    env = {"WEB_CONCURRENCY": "1", "MODEL_DIR": str(served_model_dir)}
    with running_gunicorn(tmp_path, env=env) as (base_url, _process):
        command = curl_command(base_url, card)
        result = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert '"prediction"' in result.stdout and card["version"] in result.stdout
    assert shlex.split(command)[0] == "curl"
