"""Rutas del entrenamiento, leídas de `workshop.env` (la definición única del taller)."""

from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[1]
SHARED = dotenv_values(ROOT / "workshop.env")

MODEL_DIR = ROOT / SHARED["MODEL_DIR"]
DATA_PATH = ROOT / "00_intro" / "data" / "diabetes.csv"
