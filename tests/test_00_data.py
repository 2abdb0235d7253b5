"""Pruebas de datos: el CSV es el de la nota de procedencia (00_intro/data/README.md),
byte a byte por su huella sha256, y tiene lo que dice esa nota."""

import csv
import hashlib

from support import ROOT

DATA = ROOT / "00_intro" / "data" / "diabetes.csv"
EXPECTED_SHA256 = "bf81d06e0c0512662862248241ab46d7c29258c6ceaad32f3cab56b52a17fdab"


def test_data_file_has_the_documented_sha256():
    assert hashlib.sha256(DATA.read_bytes()).hexdigest() == EXPECTED_SHA256


def test_provenance_note_states_the_same_sha256():
    note = (DATA.parent / "README.md").read_text(encoding="utf-8")
    assert EXPECTED_SHA256 in note


def test_rows_classes_and_missing_zeros_match_the_note():
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    assert len(rows) == 768
    assert sum(row["Outcome"] == "1" for row in rows) == 268
    zeros = {column: sum(float(row[column]) == 0 for row in rows)
             for column in ("Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI")}
    assert zeros == {"Glucose": 5, "BloodPressure": 35, "SkinThickness": 227, "Insulin": 374, "BMI": 11}
