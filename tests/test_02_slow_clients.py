"""Etapa 02: clientes lentos. 100 conexiones mandan las cabeceras y parte de un cuerpo JSON y se quedan
quietas (un móvil con mala cobertura, o un ataque «slowloris»). Con la configuración tal cual
(workers gevent) la API sigue respondiendo a /health y /v1/predict MIENTRAS esas conexiones siguen
abiertas. Con workers "sync" esta prueba falla: bastan 2 clientes lentos para ocupar los 2 workers.
(La misma comprobación en el contenedor está en test_02_container.py.)
"""

import pytest

from diabetes_model.patients import example_patient
from support import probe_with_slow_clients, running_gunicorn

pytestmark = pytest.mark.slow
SLOW = 100


def test_health_and_predict_answer_while_100_slow_clients_hold_their_connections(tmp_path, served_model_dir, card):
    # Solo lo imprescindible para una prueba: la carpeta del modelo, el puerto y el PIDFILE.
    with running_gunicorn(tmp_path, env={"MODEL_DIR": str(served_model_dir)}) as (base_url, _master):
        before, after, timings, text = probe_with_slow_clients(base_url, example_patient(card), SLOW)
    print(f"\n[gunicorn en el anfitrión, configuración tal cual] {text}")
    assert before == SLOW, f"el servidor cerró o respondió a clientes lentos antes de tiempo\n{text}"
    assert [result for _, result, _ in timings] == [200] * len(timings), text
    assert after == SLOW, f"los clientes lentos deben seguir abiertos mientras la API responde\n{text}"
