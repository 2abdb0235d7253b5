"""La app web se sirve en /app/ desde WEB_DIR si la carpeta existe; la raíz es un índice JSON."""

from diabetes_api import create_app


def make_client(model_dir, web_dir):
    return create_app({"MODEL_DIR": model_dir, "WEB_DIR": web_dir}).test_client()


def test_web_dir_is_served_under_app(model_dir, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>Diabetes Prediction</title>", encoding="utf-8")
    (tmp_path / "app.js").write_text("console.log('hola');", encoding="utf-8")
    client = make_client(model_dir, tmp_path)
    page = client.get("/app/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b"Diabetes Prediction" in page.data
    assert client.get("/app/app.js").mimetype in ("text/javascript", "application/javascript")
    assert client.get("/").get_json()["links"]["app"] == "/app/"


def test_missing_files_and_escapes_are_json_404(model_dir, tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("hola", encoding="utf-8")
    (tmp_path / "secreto.txt").write_text("no", encoding="utf-8")
    client = make_client(model_dir, web)
    for path in ("/app/nada.js", "/app/../secreto.txt", "/app/%2e%2e/secreto.txt"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"


def test_without_web_dir_app_is_404_and_not_linked(model_dir, tmp_path):
    client = make_client(model_dir, tmp_path / "no-existe")
    assert client.get("/app/").status_code == 404
    assert "app" not in client.get("/").get_json()["links"]
