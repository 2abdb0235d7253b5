"""diabetes_api.errors: cada clase de error con su estado HTTP, su código, un mensaje en español (sin
texto inglés del parser de JSON, con la posición) y el campo nombrado. Nunca HTML ni trazas."""

import json

import pytest

from diabetes_api import create_app
from diabetes_api.errors import ApiError
from diabetes_model.patients import example_patient


def error_of(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def fields(error):
    return {detail["field"] for detail in error["details"]}


def post_raw(client, data, content_type="application/json"):
    return client.post("/v1/predict", data=data, content_type=content_type)


@pytest.mark.parametrize(("data", "line", "column"), [
    ("{", 1, 2), ("{'Glucose': 1}", 1, 2), ("", 1, 1), ("[1, 2", 1, 6), ('{"a": 1}}', 1, 9),
    ('{\n  "Age": 30,\n}', 3, 1), ('{"Age": 30 "BMI": 20}', 1, 12),
])
def test_malformed_json_is_400_with_the_position_in_spanish(client, data, line, column):
    error = error_of(post_raw(client, data), 400, "invalid_json")
    # Exactamente esta frase: nada del texto inglés del parser («Expecting ',' delimiter…»).
    assert error["message"] == f"El cuerpo no es JSON válido (línea {line}, columna {column})."


def test_bytes_that_are_not_utf8_are_400_naming_the_byte(client):
    error = error_of(post_raw(client, b'{"Age": "\xff"}'), 400, "invalid_json")
    assert error["message"] == "El cuerpo no es texto UTF-8 válido (byte 9)."


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_400(client, card, content_type):
    error_of(post_raw(client, json.dumps(example_patient(card)), content_type), 400, "invalid_json")


def test_deep_nesting_is_400_not_500(client):
    error_of(post_raw(client, "[" * 100_000 + "]" * 100_000), 400, "invalid_json")


def test_integer_with_too_many_digits_is_400(client):
    error_of(post_raw(client, '{"Age": ' + "9" * 5000 + "}"), 400, "invalid_json")


@pytest.mark.parametrize("body", [[], [1, 2], "texto", 3, None, True])
def test_body_that_is_not_an_object_is_400(client, body):
    error_of(post_raw(client, json.dumps(body)), 400, "invalid_body")


@pytest.mark.parametrize("instances", [[], {}, "x", None, 5])
def test_instances_not_a_non_empty_list_is_400(client, instances):
    error = error_of(client.post("/v1/predict", json={"instances": instances}), 400, "invalid_body")
    assert fields(error) == {"instances"}


def test_batch_with_other_keys_is_400(client, card):
    error = error_of(client.post("/v1/predict", json={"instances": [example_patient(card)], "extra": 1}),
                     400, "invalid_body")
    assert fields(error) == {"extra"}


def test_missing_and_unknown_fields_are_all_named(client, card):
    names = [f["name"] for f in card["features"]]
    patient = example_patient(card)
    del patient[names[0]], patient[names[-1]]
    patient["Colesterol"] = 180
    error = error_of(client.post("/v1/predict", json=patient), 422, "validation_error")
    assert fields(error) == {names[0], names[-1], "Colesterol"}


@pytest.mark.parametrize("bad", ["120", True, False, None, [120], {"valor": 120}])
def test_wrong_types_are_422_naming_the_field(client, card, bad):
    name = card["features"][1]["name"]
    error = error_of(client.post("/v1/predict", json={**example_patient(card), name: bad}), 422, "validation_error")
    assert fields(error) == {name}
    assert "número" in error["details"][0]["message"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_422(client, card, literal):
    name = card["features"][1]["name"]
    body = json.dumps({**example_patient(card), name: 123.456789}).replace("123.456789", literal)
    error = error_of(post_raw(client, body), 422, "validation_error")
    assert fields(error) == {name}


def test_out_of_range_values_are_422_all_at_once(client, card):
    low = {f["name"]: f["min"] - 1 if f["min"] >= 1 else -1 for f in card["features"]}
    error = error_of(client.post("/v1/predict", json=low), 422, "validation_error")
    assert fields(error) == set(low)
    high = {f["name"]: f["max"] * 10 for f in card["features"]}
    error = error_of(client.post("/v1/predict", json=high), 422, "validation_error")
    assert fields(error) == set(high)
    assert all("entre" in detail["message"] for detail in error["details"])


def test_huge_integer_is_422_not_an_overflow(client, card):
    name = card["features"][0]["name"]
    error = error_of(client.post("/v1/predict", json={**example_patient(card), name: 10**400}), 422, "validation_error")
    assert fields(error) == {name}


def test_zero_is_rejected_where_it_does_not_mean_missing(client, card):
    feature = next(f for f in card["features"] if not f["zero_means_missing"] and f["min"] > 0)
    error = error_of(client.post("/v1/predict", json={**example_patient(card), feature["name"]: 0}),
                     422, "validation_error")
    assert fields(error) == {feature["name"]}


def test_fractional_value_for_an_integer_feature_is_422(client, card):
    feature = next(f for f in card["features"] if f["type"] == "integer")
    error = error_of(client.post("/v1/predict", json={**example_patient(card), feature["name"]: feature["min"] + 0.5}),
                     422, "validation_error")
    assert error["details"] == [{"field": feature["name"], "message": "Debe ser un número entero."}]


def test_batch_errors_name_the_instance_and_field(client, card):
    name = card["features"][2]["name"]
    group = [example_patient(card), {**example_patient(card), name: "alto"}, example_patient(card)]
    error = error_of(client.post("/v1/predict", json={"instances": group}), 422, "validation_error")
    assert fields(error) == {f"instances[1].{name}"}


def test_batch_over_the_limit_is_413(served_model_dir, card):
    client = create_app({"MODEL_DIR": served_model_dir, "MAX_BATCH": 3}).test_client()
    assert client.post("/v1/predict", json={"instances": [example_patient(card)] * 3}).status_code == 200
    error = error_of(client.post("/v1/predict", json={"instances": [example_patient(card)] * 4}),
                     413, "payload_too_large")
    assert fields(error) == {"instances"}


def test_body_over_the_size_limit_is_413(served_model_dir, card):
    client = create_app({"MODEL_DIR": served_model_dir, "MAX_CONTENT_LENGTH": 1000}).test_client()
    body = json.dumps({"instances": [example_patient(card)] * 20})
    assert len(body) > 1000
    error_of(post_raw(client, body), 413, "payload_too_large")


def test_unknown_route_is_json_404(client):
    error_of(client.get("/no/existe"), 404, "not_found")


@pytest.mark.parametrize(("method", "path"), [("get", "/v1/predict"), ("delete", "/v1/predict"), ("post", "/v1/model")])
def test_wrong_method_is_json_405_with_allow(client, method, path):
    response = getattr(client, method)(path)
    error_of(response, 405, "method_not_allowed")
    assert response.headers["Allow"]


def test_unexpected_exception_is_500_without_traceback(app, card, caplog):
    def explode(_rows):
        raise RuntimeError("fallo secreto interno")

    app.extensions["diabetes_api"].model.predict_rows = explode
    response = app.test_client().post("/v1/predict", json=example_patient(card), headers={"X-Request-ID": "abc-123"})
    error = error_of(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "fallo secreto" not in text and "Traceback" not in text
    assert "abc-123" in error["message"]
    assert response.headers["X-Request-ID"] == "abc-123"
    logged = [r for r in caplog.records if r.name == "diabetes_api" and r.levelname == "ERROR"]
    assert logged and "abc-123" in logged[0].getMessage() and logged[0].exc_info


def test_lone_surrogate_field_name_is_422_not_500(client):
    error = error_of(post_raw(client, '{"\\ud800": 1}'), 422, "validation_error")
    assert "?" in fields(error)


def test_even_a_failing_error_handler_answers_json_500(served_model_dir, card):
    app = create_app({"MODEL_DIR": served_model_dir})  # sin TESTING: Flask no relanza la excepción

    def broken_validator(_body):
        raise ApiError(422, "validation_error", "x", [{"field": object(), "message": "no serializable"}])

    app.extensions["diabetes_api"].validator.one = broken_validator
    response = app.test_client().post("/v1/predict", json=example_patient(card))
    error = error_of(response, 500, "internal_error")
    assert response.headers["X-Request-ID"] in error["message"]


# ------------------------------------------------------------------ Todos los errores de werkzeug y las redirecciones

def werkzeug_errors():
    """Cada HTTPException de werkzeug con estado propio: las que Flask (o una extensión) puede lanzar."""
    import inspect

    import werkzeug.exceptions as known

    found = {cls for _, cls in inspect.getmembers(known, inspect.isclass)
             if issubclass(cls, known.HTTPException) and cls.code}
    return sorted(found, key=lambda cls: cls.code)


def test_every_werkzeug_error_is_the_api_json_in_spanish(served_model_dir):
    """Ningún estado cae en el texto inglés de werkzeug: todos los 4xx tienen código y mensaje propios
    en HTTP_ERRORS, y los 5xx son «internal_error», sin traza."""
    from werkzeug.exceptions import RequestedRangeNotSatisfiable

    from diabetes_api.errors import HTTP_ERRORS

    classes = werkzeug_errors()
    app = create_app({"MODEL_DIR": served_model_dir})

    errors = [cls(length=1) if cls is RequestedRangeNotSatisfiable else cls() for cls in classes]

    @app.get("/prueba/<int:index>")
    def raise_one(index):
        raise errors[index]

    client = app.test_client()
    assert len(errors) >= 30
    for index, raised in enumerate(errors):
        response = client.get(f"/prueba/{index}")
        server = raised.code >= 500
        code, message = ("internal_error", None) if server else HTTP_ERRORS.get(raised.code, ("sin entrada", None))
        error = error_of(response, 500 if server else raised.code, code)
        assert server or error["message"] == message, raised
        assert raised.description not in error["message"] and "<" not in response.get_data(as_text=True), raised


@pytest.mark.parametrize(("path", "location"), [("/v1//model", "/v1/model"), ("/app", "/app/"),
                                                ("/v1//model?x=1", "/v1/model?x=1")])
def test_redirects_never_reflect_the_host_header(served_model_dir, tmp_path, path, location):
    """werkzeug redirige `/app` → `/app/` y junta barras dobles con una Location absoluta hecha con la
    cabecera Host del cliente (cualquiera) y un cuerpo HTML. Aquí: la ruta sola y el JSON de la API."""
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>", encoding="utf-8")
    client = create_app({"MODEL_DIR": served_model_dir, "WEB_DIR": tmp_path}).test_client()
    response = client.get(path, headers={"Host": "atacante.example"})
    error = error_of(response, 308, "moved_permanently")
    assert response.headers["Location"] == location and "atacante" not in response.get_data(as_text=True)
    assert location in error["message"]
