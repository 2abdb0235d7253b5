"""diabetes_api.observability: una línea de log clave=valor por petición, X-Request-ID y X-Model-Version."""

import logging
import re

from diabetes_model.patients import example_patient
from support import HEALTH_PATH

LINE = re.compile(r"request_id=(\S+) method=(\S+) path=(\S+) status=(\d+) latency_ms=([\d.]+) "
                  r"cache=(\S+) model_version=(\S+)")


def access_lines(caplog):
    return [LINE.fullmatch(r.getMessage()) for r in caplog.records if r.name == "diabetes_api.access"]


def test_one_log_line_per_request_with_every_field(client, card, caplog):
    caplog.set_level(logging.INFO, logger="diabetes_api")
    client.post("/v1/predict", json=example_patient(card), headers={"X-Request-ID": "pedido-42"})
    client.post("/v1/predict", json=example_patient(card))
    client.get("/no/existe")
    lines = access_lines(caplog)
    assert len(lines) == 3 and all(lines)
    first, second, missing = (m.groups() for m in lines)
    assert first[:4] == ("pedido-42", "POST", "/v1/predict", "200")
    assert first[5:] == ("miss", card["version"])
    assert second[5] == "hit"
    assert missing[2:4] == ("/no/existe", "404") and missing[5] == "-"


def test_request_id_is_echoed_or_generated(client):
    echoed = client.get(HEALTH_PATH, headers={"X-Request-ID": "abc.123"})
    assert echoed.headers["X-Request-ID"] == "abc.123"
    generated = {client.get(HEALTH_PATH).headers["X-Request-ID"] for _ in range(3)}
    assert len(generated) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", value) for value in generated)


def test_unsafe_request_id_is_replaced(client):
    response = client.get(HEALTH_PATH, headers={"X-Request-ID": "x y=z" + "a" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_every_response_names_the_model_version(client, card):
    for response in (client.get(HEALTH_PATH), client.get("/no/existe"), client.post("/v1/predict", json={})):
        assert response.headers["X-Model-Version"] == card["version"]


def test_merging_dead_workers_files_keeps_every_total_and_removes_them(tmp_path):
    """Lo que hace el maestro de gunicorn en child_exit (diabetes_api.metrics_files), con archivos reales:
    lo que lee /metrics (el colector de prometheus_client) es idéntico antes y después de fusionar."""
    from prometheus_client.mmap_dict import mmap_key
    from prometheus_client.multiprocess import MultiProcessCollector

    from diabetes_api import metrics_files

    def write(name, entries):
        output = metrics_files.ReservedFile(str(tmp_path / name))
        for key, value in entries:
            output.write_value(key, value, 0.0)
        output.close()

    def requests_key(route):
        return mmap_key("diabetes_api_requests", "diabetes_api_requests_total", ["route", "status"], [route, "200"],
                        "P")

    def bucket_key(le):
        return mmap_key("diabetes_api_request_seconds", "diabetes_api_request_seconds_bucket", ["route", "le"],
                        ["/v1/predict", le], "D")

    def scraped():
        files = sorted(str(path) for path in tmp_path.glob("*.db"))
        return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for metric in MultiProcessCollector.merge(files) for sample in metric.samples}

    for pid, count in ((101, 3), (102, 5), (103, 7)):
        write(f"counter_{pid}.db", [(requests_key("/v1/predict"), count), (requests_key(HEALTH_PATH), 1)])
        write(f"histogram_{pid}.db", [(bucket_key("0.001"), count), (bucket_key("+Inf"), 1)])
    before = scraped()
    assert before[("diabetes_api_requests_total", (("route", "/v1/predict"), ("status", "200")))] == 15

    assert metrics_files.merge_dead_workers(str(tmp_path), live_pids={103}) == 4
    assert sorted(path.name for path in tmp_path.glob("*.db")) == [
        "counter_103.db", "counter_fusionado.db", "histogram_103.db", "histogram_fusionado.db"]
    assert scraped() == before
    assert metrics_files.merge_dead_workers(str(tmp_path), live_pids=set()) == 2  # se suma al fusionado
    assert sorted(path.name for path in tmp_path.glob("*.db")) == ["counter_fusionado.db", "histogram_fusionado.db"]
    assert scraped() == before
