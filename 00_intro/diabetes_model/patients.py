"""Pacientes de ejemplo hechas con la ficha del modelo (su lista de variables, con tipos y rangos): la
predicción de prueba de `store`, los curl de las demos, el benchmark, los esquemas y las pruebas.

Nadie escribe a mano las variables: la ficha que escribe el entrenamiento es la única fuente.
"""

import math
import random


def example_patient(card, share=0.3):
    """Una paciente de ejemplo válida: cada valor al 30 % de su rango (plausible, ni extremo ni «no medido»)."""
    patient = {}
    for feature in card["features"]:
        value = feature["min"] + share * (feature["max"] - feature["min"])
        patient[feature["name"]] = round(value) if feature["type"] == "integer" else round(value, 2)
    return patient


def example_row(card):
    """La fila de números de `example_patient`, en el orden de la ficha."""
    return tuple(float(value) for value in example_patient(card).values())


def random_patients(features, count, seed=0, distinct=False):
    """`count` pacientes reproducibles (misma semilla, mismas pacientes) dentro de los rangos de la ficha.

    Con `distinct=True`, ninguna repetida (p. ej. para que ninguna salga de la caché en un benchmark).
    """
    rng = random.Random(seed)
    patients, seen = [], set()
    while len(patients) < count:
        patient = {}
        for feature in features:
            low, high = feature["min"], feature["max"]
            if feature["type"] == "integer":
                patient[feature["name"]] = rng.randint(math.ceil(low), math.floor(high))
            else:
                patient[feature["name"]] = round(rng.uniform(low, high), 2)
        key = tuple(patient.values())
        if distinct and key in seen:
            continue
        seen.add(key)
        patients.append(patient)
    return patients
