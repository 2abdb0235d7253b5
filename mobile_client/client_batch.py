"""Archivos CSV de pacientes: leerlos según la ficha y escribir las predicciones por lotes.

Las columnas deben llamarse como las variables de la ficha (`Glucose`, `BMI`…); las demás
columnas (un identificador, por ejemplo) se copian tal cual en la salida.
"""

import csv
import re
import sys
from contextlib import nullcontext
from pathlib import Path

from client_features import InputError, parse_value
from client_http import ApiError

BATCH_SIZE = 100  # filas por petición: muy por debajo del límite de la API (MAX_BATCH)
RESULT_COLUMNS = ["prediction", "label", "probability", "model_version"]
ROW_FIELD = re.compile(r"instances\[(\d+)\]\.?(.*)")  # cómo nombra la API un campo de un lote


def read_patients(path, features):
    """Devuelve (filas originales, pacientes) o lanza InputError con la fila y la columna culpables."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            rows = list(reader)
    except FileNotFoundError:
        raise InputError(f"No existe el archivo «{path}».") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"«{path}» no es un CSV legible en UTF-8 ({error}).") from None
    names = [feature["name"] for feature in features]
    missing = [name for name in names if name not in columns]
    if missing:
        raise InputError(f"A «{path}» le faltan las columnas: {', '.join(missing)}. "
                         f"La primera fila debe nombrar estas columnas: {','.join(names)}.")
    if not rows:
        raise InputError(f"«{path}» no tiene pacientes: solo la fila de cabecera.")
    patients = []
    for number, row in enumerate(rows, start=2):  # la fila 1 es la cabecera
        try:
            patients.append({feature["name"]: parse_value(feature, row[feature["name"]] or "")
                             for feature in features})
        except InputError as error:
            raise InputError(f"Fila {number} de «{path}»: {error}") from None
    return rows, patients


def predict_file(client, source, target, features):
    """Predice todas las filas por el endpoint de lotes y escribe el CSV; devuelve (filas, versión)."""
    rows, patients = read_patients(source, features)
    results, version = [], None
    for start in range(0, len(patients), BATCH_SIZE):
        try:
            answer = client.predict_many(patients[start:start + BATCH_SIZE])
        except ApiError as error:
            error.details = [_with_row(detail, start) for detail in error.details]
            raise
        results.extend(answer["predictions"])
        version = answer["model_version"]
    columns = list(rows[0]) + [name for name in RESULT_COLUMNS if name not in rows[0]]
    with _open_target(target) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row, result in zip(rows, results, strict=True):
            writer.writerow({**row, **{key: result[key] for key in RESULT_COLUMNS[:3]}, "model_version": version})
    return len(rows), version


def _with_row(detail, start):
    """`instances[3].Glucose` → campo Glucose de la fila del CSV (la 1 es la cabecera)."""
    match = ROW_FIELD.fullmatch(str(detail.get("field", "")))
    if not match:
        return detail
    return {**detail, "field": match[2], "row": start + int(match[1]) + 2}


def default_target(source):
    """`pacientes.csv` → `pacientes-predicciones.csv`, junto al original."""
    source = Path(source)
    return source.with_name(f"{source.stem}-predicciones.csv")


def _open_target(target):
    if str(target) == "-":
        return nullcontext(sys.stdout)
    try:
        return Path(target).open("w", newline="", encoding="utf-8")
    except OSError as error:
        raise InputError(f"No se puede escribir «{target}»: {error.strerror}.") from None
