"""El cuaderno de la etapa 00: se publica con sus gráficos, importa el paquete `diabetes_model` y se ejecuta de
principio a fin sin errores y sin tocar el modelo servido.

La ejecución trabaja sobre una copia en memoria (el archivo del repositorio no se toca) y guarda el modelo en
una carpeta temporal mediante MODEL_OUTPUT_DIR, así que no pisa MODEL_DIR (00_intro/model/).
"""

import json
import re
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from support import ROOT, SHARED

NOTEBOOK = ROOT / "00_intro" / "exploracion.ipynb"
VERSION_ID = re.compile(r"v-[0-9a-f]{12}")


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def outputs(notebook):
    return [output for cell in code_cells(notebook) for output in cell.outputs]


def printed(notebook):
    return "".join(output.get("text", "") + json.dumps(output.get("data", {}).get("text/plain", ""))
                   for output in outputs(notebook))


def test_committed_notebook_shows_plots_without_execution_counts():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    pngs = [output for output in outputs(notebook) if "image/png" in output.get("data", {})]
    assert len(pngs) >= 4, "el cuaderno debe publicarse con sus gráficos: ejecuta `make notebook-refresh`"
    assert all(cell.execution_count is None for cell in code_cells(notebook)), "ejecuta `make notebook-refresh`"
    assert all(output.get("execution_count") is None for output in outputs(notebook))
    assert not [output for output in outputs(notebook) if output.output_type == "error"]


def test_committed_outputs_cite_no_model_version_and_no_local_path():
    text = printed(nbformat.read(NOTEBOOK, as_version=4))
    assert "Paridad al entrenar" in text, "ejecuta `make notebook-refresh`"
    assert not VERSION_ID.findall(text), "una versión citada en el cuaderno guardado deja de existir al reentrenar"
    assert "/tmp/" not in text and str(ROOT) not in text


def test_notebook_imports_the_package_and_reuses_train_functions_instead_of_copying_them():
    source = "\n".join(cell.source for cell in code_cells(nbformat.read(NOTEBOOK, as_version=4)))
    assert "from diabetes_model import" in source and "sys.path" not in source
    for call in ("train.load_data(", "train.candidates(", "train.build_pipeline(", "train.compare_models(",
                 "train.evaluate(", "train.train("):
        assert call in source, f"el cuaderno debe llamar a {call}…)"
    for copied in ("cross_val_score", "StratifiedKFold", "Pipeline(", "SimpleImputer(", "to_onnx"):
        assert copied not in source, f"el cuaderno no debe repetir la lógica de entrenamiento ({copied})"
    assert "publish=True" not in source, "el cuaderno no publica: eso es `make model`"


def model_dir_state():
    """El puntero publicado y las carpetas de versión de MODEL_DIR."""
    model_dir = ROOT / SHARED["MODEL_DIR"]
    pointer = (model_dir / "live.json").read_bytes() if (model_dir / "live.json").exists() else None
    folders = sorted(path.name for path in (model_dir / "versions").glob("*"))
    return pointer, folders


@pytest.mark.slow
@pytest.mark.notebook
def test_notebook_runs_without_touching_the_served_model_and_saves_the_same_model_as_the_cli(tmp_path, monkeypatch):
    committed = NOTEBOOK.read_bytes()
    served = model_dir_state()
    notebook = nbformat.reads(committed.decode("utf-8"), as_version=4)
    monkeypatch.setenv("MODEL_OUTPUT_DIR", str(tmp_path / "notebook"))
    # Igual que nbconvert: el directorio de trabajo del núcleo es la carpeta del cuaderno.
    client = NotebookClient(notebook, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # lanza CellExecutionError si falla cualquier celda
    nbformat.write(notebook, tmp_path / "exploracion.ipynb")  # para inspeccionarlo si algo falla

    assert NOTEBOOK.read_bytes() == committed, "la prueba no debe modificar el cuaderno del repositorio"
    assert model_dir_state() == served, "el cuaderno no debe escribir en MODEL_DIR ni publicar"
    text = printed(notebook)
    assert "Variables de entrada (en este orden):" in text  # el resumen de `make demo-0`
    assert "Imputer" in text, "el grafo ONNX lleva dentro la imputación"
    assert not VERSION_ID.findall(text)

    cli = subprocess.run([sys.executable, "-m", "diabetes_model.train", "--output", str(tmp_path / "cli")],
                         cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert cli.returncode == 0, cli.stderr
    from_notebook, from_cli = ([json.loads(path.read_text(encoding="utf-8"))
                                for path in (tmp_path / folder).glob("versions/v-*/model.json")]
                               for folder in ("notebook", "cli"))
    assert len(from_notebook) == len(from_cli) == 1
    assert from_notebook[0]["version"] == from_cli[0]["version"]
    assert from_notebook[0]["metrics"] == from_cli[0]["metrics"]
    assert from_notebook[0]["artifacts"] == from_cli[0]["artifacts"]
