"""diabetes_api.health_and_model: salud, ficha, métricas (contadores de cada app), índice y la app web en /app/."""

import hashlib
import json

from prometheus_client.parser import text_string_to_metric_families

from diabetes_api import create_app
from diabetes_model.patients import example_patient
from support import HEALTH_PATH


def test_health_reports_the_served_version_and_runtime(client, card):
    response = client.get(HEALTH_PATH)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "model_version": card["version"], "runtime": "onnx"}


def test_the_public_model_view_has_what_a_client_needs_and_nothing_internal(client, card):
    body = client.get("/v1/model").get_json()
    assert set(body) == {"name", "version", "description", "features", "classes", "threshold", "metrics", "onnx"}
    assert body["features"] == card["features"] and body["classes"] == card["classes"]
    assert body["metrics"]["roc_auc"] == card["metrics"]["test"]["roc_auc"]
    assert body["onnx"] == {"url": "/v1/model.onnx", "sha256": card["artifacts"]["onnx"]["sha256"],
                            "size": len(client.get("/v1/model.onnx").get_data())}
    text = json.dumps(body)
    for internal in ("onnxruntime", "scikit", "sha256\": \"" + card["artifacts"]["joblib"]["sha256"], "cache",
                     card.get("code_sha256", "-"), "diabetes.csv"):
        assert internal not in text


def test_the_full_card_and_the_onnx_graph(client, card):
    assert client.get("/v1/model/card").get_json() == card
    graph = client.get("/v1/model.onnx")
    assert graph.status_code == 200 and graph.mimetype == "application/octet-stream"
    assert hashlib.sha256(graph.get_data()).hexdigest() == card["artifacts"]["onnx"]["sha256"]
    assert graph.headers["ETag"] == f'"{card["artifacts"]["onnx"]["sha256"]}"'
    again = client.get("/v1/model.onnx", headers={"If-None-Match": graph.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def metric(client, name, **labels):
    """El valor de una serie de /metrics (formato de Prometheus), o 0 si aún no existe."""
    for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_count_requests_cache_and_predictions_exactly(served_model_dir, card):
    client = create_app({"MODEL_DIR": served_model_dir, "CACHE_SIZE": 16}).test_client()
    label = {c["value"]: c["label"] for c in card["classes"]}
    series = {"ok": ("diabetes_api_requests_total", {"route": "/v1/predict", "status": "200"}),
              "bad": ("diabetes_api_requests_total", {"route": "/v1/predict", "status": "422"}),
              "missing": ("diabetes_api_requests_total", {"route": "desconocida", "status": "404"}),
              "hit": ("diabetes_api_cache_total", {"result": "hit"}),
              "miss": ("diabetes_api_cache_total", {"result": "miss"})}
    before = {key: metric(client, name, **labels) for key, (name, labels) in series.items()}
    patient = example_patient(card)
    answer = client.post("/v1/predict", json=patient).get_json()
    predictions = ("diabetes_api_predictions_total", {"label": label[answer["prediction"]],
                                                      "model_version": card["version"]})
    counted = metric(client, predictions[0], **predictions[1])
    for _ in range(2):
        client.post("/v1/predict", json=patient)
    client.post("/v1/predict", json={})
    client.get("/no/existe")
    after = {key: metric(client, name, **labels) for key, (name, labels) in series.items()}
    assert {key: after[key] - before[key] for key in series} == {"ok": 3, "bad": 1, "missing": 1, "hit": 2, "miss": 1}
    assert metric(client, predictions[0], **predictions[1]) == counted + 2
    assert metric(client, "diabetes_api_request_seconds_count", route="/v1/predict") >= 4


def test_index_links_every_api_route(client):
    body = client.get("/").get_json()
    assert body["links"]["health"] == HEALTH_PATH
    for name, link in body["links"].items():
        expected = 405 if name == "predict" else 200  # /v1/predict solo admite POST
        assert client.get(link).status_code == expected, link


# ------------------------------------------------------------------ La app web (WEB_DIR)

def web_client(served_model_dir, web_dir):
    return create_app({"MODEL_DIR": served_model_dir, "WEB_DIR": web_dir}).test_client()


def test_web_dir_is_served_under_app(served_model_dir, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>Diabetes Prediction</title>", encoding="utf-8")
    (tmp_path / "app.js").write_text("console.log('hola');", encoding="utf-8")
    client = web_client(served_model_dir, tmp_path)
    page = client.get("/app/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b"Diabetes Prediction" in page.data
    assert client.get("/app/app.js").mimetype in ("text/javascript", "application/javascript")
    assert client.get("/").get_json()["links"]["app"] == "/app/"


def test_missing_files_and_escapes_are_json_404(served_model_dir, tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("hola", encoding="utf-8")
    (tmp_path / "secreto.txt").write_text("no", encoding="utf-8")
    client = web_client(served_model_dir, web)
    for path in ("/app/nada.js", "/app/../secreto.txt", "/app/%2e%2e/secreto.txt"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"


def test_without_web_dir_app_is_404_and_not_linked(served_model_dir, tmp_path):
    client = web_client(served_model_dir, tmp_path / "no-existe")
    assert client.get("/app/").status_code == 404
    assert "app" not in client.get("/").get_json()["links"]
