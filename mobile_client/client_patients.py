"""Los datos de las pacientes según la ficha del modelo: convertir, comprobar, preguntar y leer CSV.

La lista de variables (nombre, etiqueta, unidad, rango) llega siempre de `GET /v1/model`. En un
CSV las columnas se llaman como las variables de la ficha (`Glucose`, `BMI`…); las demás columnas
(un identificador, por ejemplo) se copian tal cual en el CSV de resultados.
"""

import csv
import errno
import math
import re
import sys
from contextlib import nullcontext
from pathlib import Path

from mobile_client.client_http import ApiError
from workshop.spanish import number

BATCH_SIZE = 100  # filas por petición: muy por debajo del límite de la API (MAX_BATCH)
RESULT_COLUMNS = ["prediction", "label", "probability", "model_version"]
ROW_FIELD = re.compile(r"instances\[(\d+)\]\.?(.*)")  # cómo nombra la API un campo de un lote
# Una cifra como la escribe una persona: un solo separador decimal, punto o coma («85.5» o «85,5»);
# sin separador de miles («1.234,5» es ambiguo), exponentes ni espacios dentro.
DECIMAL = re.compile(r"[+-]?\d+(?:[.,]\d+)?", re.ASCII)
DECIMAL_FORMAT = "con punto o con coma decimal (85.5 o 85,5) y sin separador de miles"
CSV_COMMA = 'la coma decimal va entre comillas ("85,5") o se escribe con punto (85.5)'
# Por qué no se puede abrir un archivo, en español (el texto del sistema puede venir en inglés).
OS_REASONS = {errno.ENOENT: "no existe la carpeta", errno.EACCES: "no tienes permiso", errno.EPERM: "no tienes permiso",
              errno.EISDIR: "es una carpeta, no un archivo", errno.ENOTDIR: "parte de la ruta no es una carpeta",
              errno.ENOSPC: "no queda espacio en el disco", errno.EROFS: "el disco es de solo lectura"}


class InputError(ValueError):
    """Un dato mal escrito; el mensaje (en español) dice cómo corregirlo."""


# ------------------------------------------------------------------ Una paciente

def figure(value):
    """Un límite de la ficha a la española, con los decimales que tenga: 33.6 → «33,6», 400 → «400»."""
    return number(value, len(f"{value:g}".partition(".")[2]))


def describe(feature):
    """«40–400 mg/dL; 0 = no medido»: el rango válido y la unidad, para preguntas y ayudas."""
    text = f"{figure(feature['min'])}–{figure(feature['max'])} {feature['unit']}"
    if feature.get("zero_means_missing"):
        text += "; 0 = no medido"
    return text


def parse_value(feature, text):
    """Convierte el texto a número del tipo de la variable: «85,5» o «85.5»; no «1.234,5», nan ni inf."""
    name = f"{feature['label']} ({feature['name']})"
    cleaned = str(text).strip()
    if not cleaned:
        raise InputError(f"Falta el valor de {name}.")
    # «nan», «inf», «1e999», «1_000»: float() los acepta, pero no son medidas escritas a mano.
    value = float(cleaned.replace(",", ".")) if DECIMAL.fullmatch(cleaned) else math.nan
    if not math.isfinite(value):
        raise InputError(f"«{text}» no es un número válido para {name}: escribe una cifra {DECIMAL_FORMAT} "
                         f"({describe(feature)}).")
    if feature["type"] == "integer":
        if not value.is_integer():
            raise InputError(f"{name} debe ser un número entero; «{text}» no lo es.")
        return int(value)
    return value


def check_range(feature, value):
    """Comprueba el rango de la ficha (el 0 vale si significa «no medido»)."""
    if feature.get("zero_means_missing") and value == 0:
        return value
    if not feature["min"] <= value <= feature["max"]:
        zero = " (o 0 si no se midió)" if feature.get("zero_means_missing") else ""
        raise InputError(f"{feature['label']} debe estar entre {figure(feature['min'])} y "
                         f"{figure(feature['max'])} {feature['unit']}{zero}.")
    return value


def from_pairs(features, pairs):
    """Paciente a partir de `--dato Nombre=valor`; la API valida después los rangos."""
    by_name = {feature["name"]: feature for feature in features}
    patient = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        name = name.strip()
        if not separator or name not in by_name:
            valid = ", ".join(by_name)
            raise InputError(f"«{pair}» no es un dato válido: usa --dato NOMBRE=VALOR con NOMBRE entre {valid}.")
        patient[name] = parse_value(by_name[name], text)
    return patient


def ask_patient(features, ask=input, say=print):
    """Pregunta cada variable en español; repite la pregunta si la respuesta no vale."""
    say("Escribe los datos de la paciente («?» explica el dato; Ctrl+C para salir).")
    patient = {}
    for feature in features:
        while True:
            answer = ask(f"{feature['label']} ({describe(feature)}): ")
            if answer.strip() == "?":
                say(f"  {feature['description']}")
                continue
            try:
                patient[feature["name"]] = check_range(feature, parse_value(feature, answer))
                break
            except InputError as error:
                say(f"  {error} Prueba otra vez.")
    return patient


# ------------------------------------------------------------------ Archivos CSV

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
    except OSError as error:
        raise InputError(f"No se puede leer «{path}»: {_reason(error)}.") from None
    except UnicodeDecodeError:
        raise InputError(f"«{path}» no está en UTF-8: guárdalo como «CSV UTF-8» (con Excel o LibreOffice).") from None
    except csv.Error:
        raise InputError(f"«{path}» no es un CSV que se pueda leer (hacia la línea {reader.line_num}).") from None
    names = [feature["name"] for feature in features]
    missing = [name for name in names if name not in columns]
    if missing and len(columns) == 1 and ";" in columns[0]:
        raise InputError(f"«{path}» separa las columnas con «;»: este cliente lee CSV separados por comas "
                         f"(guárdalo como «CSV UTF-8» con la coma como separador; {CSV_COMMA}).")
    if missing:
        raise InputError(f"A «{path}» le faltan las columnas: {', '.join(missing)}. "
                         f"La primera fila debe nombrar estas columnas: {','.join(names)}.")
    if not rows:
        raise InputError(f"«{path}» no tiene pacientes: solo la fila de cabecera.")
    patients = []
    for line, row in enumerate(rows, start=2):  # la fila 1 es la cabecera
        if None in row:  # csv.DictReader guarda ahí lo que sobra a la derecha
            raise InputError(f"Fila {line} de «{path}»: tiene más valores que columnas la cabecera. "
                             f"¿Una coma decimal sin comillas? En un CSV separado por comas, {CSV_COMMA}.")
        try:
            patients.append({feature["name"]: parse_value(feature, row[feature["name"]] or "")
                             for feature in features})
        except InputError as error:
            raise InputError(f"Fila {line} de «{path}»: {error}") from None
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
        raise InputError(f"No se puede escribir «{target}»: {_reason(error)}.") from None


def _reason(error):
    return OS_REASONS.get(error.errno, error.strerror)
