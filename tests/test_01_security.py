"""La API en una URL pública (security.py): la clave, CORS, las cabeceras de seguridad y los proxies de
confianza, con el cliente HTTP de Flask. Los límites bajo gunicorn real están en test_02_limits.py."""

import logging

import pytest

from diabetes_api import create_app
from diabetes_api.settings import SettingsError
from diabetes_model.patients import example_patient
from support import HEALTH_PATH

KEYS = ["clave-nueva-123", "clave-vieja-456"]
PROTECTED = [("post", "/v1/predict"), ("get", "/v1/model/card"), ("get", "/v1/model.onnx"), ("get", "/metrics")]
OPEN = [HEALTH_PATH, "/v1/model", "/openapi.json", "/"]


@pytest.fixture()
def keyed(served_model_dir):
    return create_app({"MODEL_DIR": served_model_dir, "API_KEYS": KEYS})


def call(client, method, path, card, **headers):
    if method == "post":
        return client.post(path, json=example_patient(card), headers=headers)
    return client.get(path, headers=headers)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_without_the_key_protected_routes_answer_401_in_spanish(keyed, card, method, path):
    client = keyed.test_client()
    for headers in ({}, {"Authorization": "Bearer otra"}, {"Authorization": f"Basic {KEYS[0]}"}):
        response = call(client, method, path, card, **headers)
        assert response.status_code == 401, (path, headers)
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert "Authorization: Bearer" in response.get_json()["error"]["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_configured_key_opens_them_so_keys_can_rotate(keyed, card, method, path):
    client = keyed.test_client()
    for key in KEYS:
        assert call(client, method, path, card, Authorization=f"Bearer {key}").status_code == 200


def test_open_routes_need_no_key(keyed):
    client = keyed.test_client()
    for path in OPEN:
        assert client.get(path).status_code == 200, path


def test_without_api_key_everything_is_open_locally(client, card):
    for method, path in PROTECTED:
        assert call(client, method, path, card).status_code == 200, path


def test_the_key_never_reaches_the_log(keyed, card, caplog):
    client = keyed.test_client()
    with caplog.at_level(logging.DEBUG):
        call(client, "post", "/v1/predict", card, Authorization=f"Bearer {KEYS[0]}")
        call(client, "post", "/v1/predict", card, Authorization="Bearer una-clave-equivocada")
    assert caplog.records, "la API escribe una línea por petición"
    assert KEYS[0] not in caplog.text and "una-clave-equivocada" not in caplog.text


def test_security_headers_on_every_answer(client):
    for response in (client.get(HEALTH_PATH), client.get("/no/existe"), client.post("/v1/predict", json={})):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in response.headers  # http: sin HSTS


def test_the_app_gets_a_content_security_policy(served_model_dir, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>", encoding="utf-8")
    client = create_app({"MODEL_DIR": served_model_dir, "WEB_DIR": tmp_path}).test_client()
    policy = client.get("/app/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "'wasm-unsafe-eval'" in policy and "frame-ancestors 'none'" in policy


def test_hsts_only_over_https_or_from_a_trusted_proxy(served_model_dir):
    direct = create_app({"MODEL_DIR": served_model_dir}).test_client()
    assert "Strict-Transport-Security" in direct.get(HEALTH_PATH, base_url="https://api.ejemplo").headers
    spoofed = direct.get(HEALTH_PATH, headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers  # sin proxies de confianza no se cree
    proxied = create_app({"MODEL_DIR": served_model_dir, "PROXY_HOPS": 1}).test_client()
    assert "Strict-Transport-Security" in proxied.get(HEALTH_PATH, headers={"X-Forwarded-Proto": "https"}).headers


@pytest.mark.parametrize("origin", ["http://localhost", "http://localhost:5173", "http://127.0.0.1:8000"])
def test_cors_locally_allows_localhost_on_any_port(client, origin):
    response = client.get(HEALTH_PATH, headers={"Origin": origin})
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "X-Cache" not in response.headers.get("Access-Control-Expose-Headers", "")  # no se expone a otros


@pytest.mark.parametrize("origin", ["http://localhost.attacker.example", "http://127.0.0.1.attacker.example",
                                    "http://localhost:5173.attacker.example", "http://localhost:80@attacker.example",
                                    "http://127.0.0.10", "https://localhost", "null"])
def test_cors_compares_whole_origins_and_the_file_origin_is_not_a_default(client, origin):
    """Los orígenes locales se comparan enteros: un prefijo (localhost.attacker.example) no basta. `null`
    (una página abierta como archivo, o cualquier iframe aislado de cualquier web) no está por defecto."""
    for method in ("get", "options"):
        headers = {"Origin": origin, "Access-Control-Request-Method": "GET"}
        response = getattr(client, method)(HEALTH_PATH, headers=headers)
        assert "Access-Control-Allow-Origin" not in response.headers, (method, origin)


def test_the_app_opened_as_a_file_is_a_local_setting(served_model_dir, monkeypatch):
    monkeypatch.setenv("CORS_ALLOW_FILE", "1")
    client = create_app({"MODEL_DIR": served_model_dir}).test_client()
    assert client.get(HEALTH_PATH, headers={"Origin": "null"}).headers["Access-Control-Allow-Origin"] == "null"
    assert "Access-Control-Allow-Origin" not in client.get(HEALTH_PATH, headers={"Origin": "nullx"}).headers


def test_a_cors_preflight_needs_no_key_but_the_real_request_does(keyed, card):
    """El navegador nunca manda Authorization en la consulta previa (OPTIONS): si esta pidiera la clave,
    ninguna web admitida podría usar la API con clave. Solo para orígenes admitidos."""
    client = keyed.test_client()
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}
    preflight = client.options("/v1/predict", headers={"Origin": "http://localhost:5173", **asks})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert client.options("/v1/predict", headers={"Origin": "https://otro.example", **asks}).status_code == 401
    assert client.options("/v1/predict", headers={"Origin": "http://localhost:5173"}).status_code == 401  # no es previa
    origin = {"Origin": "http://localhost:5173"}
    assert call(client, "post", "/v1/predict", card, **origin).status_code == 401
    assert call(client, "post", "/v1/predict", card, **origin, Authorization=f"Bearer {KEYS[0]}").status_code == 200


@pytest.mark.parametrize(("value", "shown"), [(None, True), ("1", True), ("0", False)])
def test_x_cache_only_when_asked_for(served_model_dir, card, monkeypatch, value, shown):
    """X-Cache en local (la lección de la caché); con EXPOSE_CACHE_HEADER=0 (Lightsail), nunca: un HIT
    le diría a un cliente que otro ya envió esos datos."""
    if value is not None:
        monkeypatch.setenv("EXPOSE_CACHE_HEADER", value)
    client = create_app({"MODEL_DIR": served_model_dir}).test_client()
    answers = [client.post("/v1/predict", json=example_patient(card)) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.headers.get("X-Cache") for a in answers] == (["MISS", "HIT"] if shown else [None, None])


def test_a_wrong_expose_cache_header_stops_the_start(served_model_dir, monkeypatch):
    monkeypatch.setenv("EXPOSE_CACHE_HEADER", "quizá")
    with pytest.raises(SettingsError, match="EXPOSE_CACHE_HEADER='quizá' no es válido: usa 1"):
        create_app({"MODEL_DIR": served_model_dir})


def test_cors_locally_refuses_other_origins(client):
    assert "Access-Control-Allow-Origin" not in client.get(HEALTH_PATH, headers={"Origin": "https://otro.org"}).headers


def test_cors_origins_names_the_only_ones_allowed(served_model_dir):
    client = create_app({"MODEL_DIR": served_model_dir, "CORS_ORIGINS": ["https://ejemplo.org"]}).test_client()
    assert client.get(HEALTH_PATH, headers={"Origin": "https://ejemplo.org"}).headers[
        "Access-Control-Allow-Origin"] == "https://ejemplo.org"
    assert "Access-Control-Allow-Origin" not in client.get(HEALTH_PATH, headers={"Origin": "null"}).headers


def test_cors_preflight_allows_the_authorization_header(client):
    response = client.options("/v1/predict", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type, Authorization"})
    assert response.status_code == 200
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_an_empty_cors_origins_means_same_origin_only(served_model_dir):
    client = create_app({"MODEL_DIR": served_model_dir, "CORS_ORIGINS": []}).test_client()
    assert "Access-Control-Allow-Origin" not in client.get(HEALTH_PATH, headers={"Origin": "null"}).headers


def test_validation_errors_are_capped_at_20_with_a_count(client):
    response = client.post("/v1/predict", json={"instances": [{}] * 1000})
    error = response.get_json()["error"]
    assert response.status_code == 422
    assert len(error["details"]) == 20 and error["total_details"] > 20
    assert len(response.get_data()) < 10_000


def test_without_an_origin_header_there_is_no_cors_answer(client):
    """curl y la propia app (mismo origen) no mandan Origin: nada de CORS (ni Vary: Origin)."""
    response = client.get(HEALTH_PATH)
    assert "Access-Control-Allow-Origin" not in response.headers and "Origin" not in response.headers.get("Vary", "")
