"""El núcleo se lee en cinco minutos: una predicción en la app sin la capa de producción
(`create_app(..., production=False)`) recorre como mucho 5 archivos del repositorio y 450 líneas.

Sin `coverage` en el entorno: `sys.settrace` anota el archivo de cada función que se llama mientras
dura UN `POST /v1/predict`. La lista se imprime (`pytest -s`) y es la del README de la etapa 01.
"""

import ast
import sys
from pathlib import Path

from diabetes_api import create_app
from diabetes_model.patients import example_patient

ROOT = Path(__file__).resolve().parents[1]
MAX_FILES = 5
MAX_LINES = 450
# Los módulos de la capa de producción (diabetes_api/production.py los registra).
PRODUCTION_LAYER = {"production", "observability", "metrics", "metrics_files", "security", "limits", "openapi",
                    "webapp"}


def repository_file(filename):
    """La ruta relativa si `filename` es un archivo de este repositorio (no del entorno virtual), o None."""
    if not filename.endswith(".py"):  # <frozen …>, <string>: no son archivos
        return None
    path = Path(filename).resolve()
    if not path.is_file() or not path.is_relative_to(ROOT):
        return None
    relative = path.relative_to(ROOT)
    return None if relative.parts[0] in (".venv", "tests") else relative.as_posix()


def files_run_by(action):
    """Los archivos del repositorio con alguna función llamada durante `action()`."""
    seen = set()

    def tracer(frame, event, _arg):
        name = repository_file(frame.f_code.co_filename)
        if name:
            seen.add(name)

    previous = sys.getprofile()
    sys.setprofile(tracer)
    try:
        response = action()
    finally:
        sys.setprofile(previous)
    return response, sorted(seen)


def test_one_prediction_on_the_core_reads_at_most_5_files_and_450_lines(served_model_dir, card):
    app = create_app({"MODEL_DIR": served_model_dir, "TESTING": True}, production=False)
    client, patient = app.test_client(), example_patient(card)
    response, files = files_run_by(lambda: client.post("/v1/predict", json=patient))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["label"] in [label["label"] for label in card["classes"]]
    lines = {name: len((ROOT / name).read_text(encoding="utf-8").splitlines()) for name in files}
    print("\nCamino de una predicción en el núcleo:")
    for name, count in lines.items():
        print(f"  {name}: {count} líneas")
    print(f"  total: {len(lines)} archivos, {sum(lines.values())} líneas")
    assert "01_flask_api/diabetes_api/predict.py" in files
    assert len(files) <= MAX_FILES, lines
    assert sum(lines.values()) <= MAX_LINES, lines


def test_the_core_app_has_no_production_layer(served_model_dir, card):
    core = create_app({"MODEL_DIR": served_model_dir, "TESTING": True, "API_KEYS": ["clave"]}, production=False)
    response = core.test_client().post("/v1/predict", json=example_patient(card))
    assert response.status_code == 200  # sin capa de producción nadie pide la clave
    assert "X-Request-ID" not in response.headers
    assert {rule.rule for rule in core.url_map.iter_rules()} >= {"/v1/predict", "/v1/model", "/"}
    assert "/metrics" not in {rule.rule for rule in core.url_map.iter_rules()}


def test_the_predict_view_imports_nothing_from_the_production_layer():
    tree = ast.parse((ROOT / "01_flask_api/diabetes_api/predict.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.update([node.module or ""] + [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    names = {part for name in imported for part in name.split(".")}
    assert not names & PRODUCTION_LAYER, names & PRODUCTION_LAYER
