"""GET /openapi.json: válido según openapi-spec-validator, generado de la ficha y con todas las rutas."""

import re

from openapi_spec_validator import validate

from diabetes_api import create_app


def openapi_path(rule):
    """De la sintaxis de Flask (/app/<path:filename>) a la de OpenAPI (/app/{filename})."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_document_is_valid_openapi(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.")


def test_document_lists_every_route_and_method(app, client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for rule in app.url_map.iter_rules():
        path = openapi_path(rule.rule)
        assert path in paths, f"falta {path} en el OpenAPI"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], f"falta {method} {path}"


def test_every_route_in_the_document_exists(app, client):
    routes = {openapi_path(rule.rule) for rule in app.url_map.iter_rules()}
    assert set(client.get("/openapi.json").get_json()["paths"]) == routes


def test_patient_schema_comes_from_the_card(client, card):
    document = client.get("/openapi.json").get_json()
    patient = document["components"]["schemas"]["Patient"]
    assert list(patient["properties"]) == [f["name"] for f in card["features"]]
    assert patient["required"] == [f["name"] for f in card["features"]]
    assert patient["additionalProperties"] is False
    for feature in card["features"]:
        text = str(patient["properties"][feature["name"]])
        assert f"'minimum': {feature['min']}" in text and f"'maximum': {feature['max']}" in text
        assert feature["label"] in text
    assert document["info"]["version"] == card["version"]


def test_every_operation_documents_the_error_shape(client):
    document = client.get("/openapi.json").get_json()
    error = document["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["required"] == ["code", "message", "details"]
    predict = document["paths"]["/v1/predict"]["post"]["responses"]
    assert {"200", "400", "404", "405", "413", "422", "500"} <= set(predict)
    for operations in document["paths"].values():
        for operation in operations.values():
            assert "500" in operation["responses"]


def test_batch_limit_in_the_document_follows_the_setting(served_model_dir):
    client = create_app({"MODEL_DIR": served_model_dir, "MAX_BATCH": 7}).test_client()
    batch = client.get("/openapi.json").get_json()["components"]["schemas"]["Batch"]
    assert batch["properties"]["instances"]["maxItems"] == 7
