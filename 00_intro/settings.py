"""Rutas de la etapa 00. MODEL_DIR se lee igual que lo lee la API (`workshop.settings`): la variable de
entorno o, si no está, `workshop.env` (la definición única del taller), relativa a la raíz del repositorio."""

from pathlib import Path

from workshop.settings import root, shared_path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_PATH = PACKAGE_DIR / "data" / "diabetes.csv"
RESULTS_DIR = root() / "results"  # lo que generan las demos y el cuaderno (ignorado por git)
REFERENCE_SEED = 42  # la receta de referencia: los datos del taller con esta semilla (`make model`)
KEEP_VERSIONS = 5  # versiones que se conservan en MODEL_DIR/versions (más la viva y la anterior)


def model_dir():
    """La carpeta del modelo servido (MODEL_DIR): live.json y versions/."""
    return shared_path("MODEL_DIR")

