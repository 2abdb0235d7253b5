"""El cuaderno de la etapa 00: se publica con sus gráficos y se ejecuta de principio a fin sin errores.

La ejecución trabaja sobre una copia en memoria (el archivo del repositorio no se toca) y guarda el
modelo en una carpeta temporal mediante MODEL_OUTPUT_DIR, así que no pisa `00_intro/model/`.
"""

import json
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from support import ROOT

NOTEBOOK = ROOT / "00_intro" / "exploracion.ipynb"


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def outputs(notebook):
    return [output for cell in code_cells(notebook) for output in cell.outputs]


def test_committed_notebook_shows_plots_without_execution_counts():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    pngs = [output for output in outputs(notebook) if "image/png" in output.get("data", {})]
    assert len(pngs) >= 4, "el cuaderno debe publicarse con sus gráficos: ejecuta `make notebook`"
    assert all(cell.execution_count is None for cell in code_cells(notebook)), "ejecuta `make notebook` (nbstripout)"
    assert all(output.get("execution_count") is None for output in outputs(notebook))
    assert not [output for output in outputs(notebook) if output.output_type == "error"]


def test_notebook_reuses_train_functions_instead_of_copying_them():
    source = "\n".join(cell.source for cell in code_cells(nbformat.read(NOTEBOOK, as_version=4)))
    for call in ("train.load_data(", "train.candidates(", "train.build_pipeline(", "train.compare_models(",
                 "train.evaluate(", "train.train("):
        assert call in source, f"el cuaderno debe llamar a {call}…)"
    for copied in ("cross_val_score", "StratifiedKFold", "Pipeline(", "SimpleImputer("):
        assert copied not in source, f"el cuaderno no debe repetir la lógica de entrenamiento ({copied})"


@pytest.mark.slow
def test_notebook_runs_and_saves_the_same_model_as_the_cli(tmp_path, monkeypatch):
    committed = NOTEBOOK.read_bytes()
    notebook = nbformat.reads(committed.decode("utf-8"), as_version=4)
    monkeypatch.setenv("MODEL_OUTPUT_DIR", str(tmp_path / "notebook"))
    # Igual que nbconvert: el directorio de trabajo del núcleo es la carpeta del cuaderno.
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # lanza CellExecutionError si falla cualquier celda
    nbformat.write(notebook, tmp_path / "exploracion.ipynb")  # para inspeccionarlo si algo falla

    assert NOTEBOOK.read_bytes() == committed, "la prueba no debe modificar el cuaderno del repositorio"
    printed = "".join(output.get("text", "") for output in outputs(notebook))
    assert "Variables de entrada (en este orden):" in printed  # el resumen de `make demo-0`

    cli = subprocess.run([sys.executable, str(ROOT / "00_intro" / "train.py"), "--output", str(tmp_path / "cli")],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    from_notebook, from_cli = (json.loads((tmp_path / folder / "model.json").read_text(encoding="utf-8"))
                               for folder in ("notebook", "cli"))
    assert from_notebook["version"] == from_cli["version"]
    assert from_notebook["metrics"] == from_cli["metrics"]
    assert from_notebook["model_file"]["sha256"] == from_cli["model_file"]["sha256"]
