"""Los cuerpos de las peticiones del benchmark, hechos con la ficha del modelo.

Las pacientes salen de `diabetes_model.patients` (la lista de variables, SOLO de `model.json`). Los cuerpos
se escriben en archivos (un JSON por línea) que lee el script de wrk (`post.lua`).
"""

import json
from pathlib import Path

from diabetes_model.patients import example_patient, random_patients


def write_lines(path, bodies):
    path = Path(path)
    path.write_text("".join(json.dumps(body, separators=(",", ":")) + "\n" for body in bodies), encoding="utf-8")
    return path


def write_body_files(card, folder, single_count, batch_size, batch_count):
    """Escribe los tres archivos de cuerpos y devuelve sus rutas por nombre de escenario."""
    features = card["features"]
    folder = Path(folder)
    singles = random_patients(features, single_count, seed=1, distinct=True)
    batch_patients = random_patients(features, batch_size * batch_count, seed=2, distinct=True)
    batches = [{"instances": batch_patients[i:i + batch_size]} for i in range(0, len(batch_patients), batch_size)]
    return {
        "miss": write_lines(folder / "distintos.jsonl", singles),
        # La paciente que se repite para medir la caché: la de ejemplo del taller, la misma en cada petición.
        "hit": write_lines(folder / "repetido.jsonl", [example_patient(card)]),
        "batch": write_lines(folder / "lotes.jsonl", batches),
    }
