"""Salud, ficha del modelo, métricas e índice."""

from support import HEALTH_PATH


def test_health_reports_the_loaded_model(client, card):
    response = client.get(HEALTH_PATH)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "model_version": card["version"]}


def test_model_endpoint_returns_the_card_and_cache_stats(client, card):
    body = client.get("/v1/model").get_json()
    assert body["version"] == card["version"]
    assert body["features"] == card["features"]
    assert body["metrics"] == card["metrics"]
    assert set(body["cache"]) == {"hits", "misses", "size", "maxsize"}


def test_metrics_count_requests_and_cache(client, card):
    client.get(HEALTH_PATH)
    body = client.get("/metrics").get_json()
    assert body["model_version"] == card["version"]
    assert body["requests"]["total"] >= 1
    assert body["cache"]["maxsize"] == 1024


def test_index_links_every_api_route(client):
    body = client.get("/").get_json()
    assert body["links"]["health"] == HEALTH_PATH
    for name, link in body["links"].items():
        expected = 405 if name == "predict" else 200  # /v1/predict solo admite POST
        assert client.get(link).status_code == expected, link
