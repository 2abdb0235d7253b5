"""Pacientes válidos y distintos, generados con los rangos de la ficha del modelo.

La lista de variables sale SOLO de `model.json`. Los cuerpos se escriben en archivos
(un JSON por línea) que lee el script de wrk (`post.lua`).
"""

import json
import random
from pathlib import Path


def random_value(feature, rng):
    """Un valor dentro de [min, max]: entero o con dos decimales, según el tipo."""
    low, high = feature["min"], feature["max"]
    if feature["type"] == "integer":
        return rng.randint(int(low), int(high))
    return round(rng.uniform(low, high), 2)


def distinct_patients(features, count, seed=0):
    """`count` pacientes distintos entre sí (para que ninguno salga de la caché)."""
    rng = random.Random(seed)
    seen, patients = set(), []
    while len(patients) < count:
        patient = {feature["name"]: random_value(feature, rng) for feature in features}
        key = tuple(patient.values())
        if key not in seen:
            seen.add(key)
            patients.append(patient)
    return patients


def typical_patient(features):
    """Un paciente fijo, el del centro de cada rango: el que se repite para medir la caché."""
    patient = {}
    for feature in features:
        middle = (feature["min"] + feature["max"]) / 2
        patient[feature["name"]] = int(middle) if feature["type"] == "integer" else round(middle, 2)
    return patient


def write_lines(path, bodies):
    path = Path(path)
    path.write_text("".join(json.dumps(body, separators=(",", ":")) + "\n" for body in bodies), encoding="utf-8")
    return path


def write_body_files(card, folder, single_count, batch_size, batch_count):
    """Escribe los tres archivos de cuerpos y devuelve sus rutas por nombre de escenario."""
    features = card["features"]
    folder = Path(folder)
    singles = distinct_patients(features, single_count, seed=1)
    batch_patients = distinct_patients(features, batch_size * batch_count, seed=2)
    batches = [{"instances": batch_patients[i:i + batch_size]} for i in range(0, len(batch_patients), batch_size)]
    return {
        "miss": write_lines(folder / "distintos.jsonl", singles),
        "hit": write_lines(folder / "repetido.jsonl", [typical_patient(features)]),
        "batch": write_lines(folder / "lotes.jsonl", batches),
    }
