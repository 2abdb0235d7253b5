"""Dónde están los datos del taller y lo que generan las demos. La carpeta del modelo servido (MODEL_DIR)
y su disposición están en `store`; el paquete es `00_intro/diabetes_model/` y los datos, `00_intro/data/`."""

from pathlib import Path

from workshop.paths import root

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_PATH = PACKAGE_DIR.parent / "data" / "diabetes.csv"
RESULTS_DIR = root() / "results"  # lo que generan las demos y el cuaderno (ignorado por git)
