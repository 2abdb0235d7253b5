"""diabetes_api.info: salud, ficha, métricas (contadores de cada app, exactos), índice y la app web en /app/."""

from diabetes_api import create_app
from diabetes_api.model import example_patient
from support import HEALTH_PATH


def test_health_reports_the_served_version_and_runtime(client, card):
    response = client.get(HEALTH_PATH)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "model_version": card["version"], "runtime": "onnx"}


def test_model_endpoint_returns_the_card_and_cache_stats(client, card):
    body = client.get("/v1/model").get_json()
    assert {key: value for key, value in body.items() if key != "cache"} == card
    assert set(body["cache"]) == {"hits", "misses", "size", "maxsize"}


def test_metrics_are_exact_and_belong_to_each_app(served_model_dir, card):
    """Dos apps en el mismo proceso (como dos workers): cada una cuenta solo lo suyo, y la cuenta es exacta."""
    first = create_app({"MODEL_DIR": served_model_dir, "CACHE_SIZE": 16}).test_client()
    second = create_app({"MODEL_DIR": served_model_dir, "CACHE_SIZE": 8}).test_client()
    patient = example_patient(card)
    for _ in range(3):
        first.post("/v1/predict", json=patient)
    first.post("/v1/predict", json={})
    first.get("/no/existe")
    second.get(HEALTH_PATH)

    one, two = first.get("/metrics").get_json(), second.get("/metrics").get_json()
    assert one == {"model_version": card["version"], "cache": {"hits": 2, "misses": 1, "size": 1, "maxsize": 16},
                   "requests": {"total": 5, "by_status": {"200": 3, "404": 1, "422": 1}}}
    assert two == {"model_version": card["version"], "cache": {"hits": 0, "misses": 0, "size": 0, "maxsize": 8},
                   "requests": {"total": 1, "by_status": {"200": 1}}}
    # Cada /metrics cuenta como una petición más (después de responder).
    assert first.get("/metrics").get_json()["requests"] == {"total": 6, "by_status": {"200": 4, "404": 1, "422": 1}}
    assert list(one["requests"]["by_status"]) == ["200", "404", "422"]


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
