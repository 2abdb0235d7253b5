"""Descripción de las variables de entrada y de las clases del modelo.

Es la fuente de la que el entrenamiento escribe la ficha del modelo (`model.json`).
Las etapas posteriores (validación de la API, OpenAPI, formulario móvil y cliente)
leen la ficha, nunca este archivo: así la lista de variables vive en un solo sitio.

Los rangos son valores humanos plausibles: la API rechaza lo que quede fuera.
Para las variables con `zero_means_missing`, un 0 significa «no medido» y se imputa.
"""

FEATURES = [
    {
        "name": "Pregnancies",
        "label": "Embarazos",
        "unit": "embarazos",
        "description": "Número de embarazos.",
        "type": "integer",
        "min": 0,
        "max": 20,
        "zero_means_missing": False,
    },
    {
        "name": "Glucose",
        "label": "Glucosa",
        "unit": "mg/dL",
        "description": "Glucosa en plasma 2 horas después de una prueba oral de tolerancia a la glucosa.",
        "type": "number",
        "min": 40,
        "max": 400,
        "zero_means_missing": True,
    },
    {
        "name": "BloodPressure",
        "label": "Presión arterial diastólica",
        "unit": "mm Hg",
        "description": "Presión arterial diastólica (la mínima).",
        "type": "number",
        "min": 20,
        "max": 160,
        "zero_means_missing": True,
    },
    {
        "name": "SkinThickness",
        "label": "Pliegue cutáneo del tríceps",
        "unit": "mm",
        "description": "Grosor del pliegue cutáneo del tríceps.",
        "type": "number",
        "min": 5,
        "max": 100,
        "zero_means_missing": True,
    },
    {
        "name": "Insulin",
        "label": "Insulina",
        "unit": "µU/mL",
        "description": "Insulina en suero 2 horas después de la prueba de tolerancia a la glucosa.",
        "type": "number",
        "min": 10,
        "max": 1000,
        "zero_means_missing": True,
    },
    {
        "name": "BMI",
        "label": "Índice de masa corporal",
        "unit": "kg/m²",
        "description": "Peso en kilos dividido por la altura en metros al cuadrado.",
        "type": "number",
        "min": 15,
        "max": 70,
        "zero_means_missing": True,
    },
    {
        "name": "DiabetesPedigreeFunction",
        "label": "Antecedentes familiares",
        "unit": "puntuación",
        "description": ("Función de herencia de la diabetes («Diabetes Pedigree Function»): resume la diabetes "
                        "en la familia (más alto, más antecedentes)."),
        "type": "number",
        "min": 0.05,
        "max": 2.5,
        "zero_means_missing": False,
    },
    {
        "name": "Age",
        "label": "Edad",
        "unit": "años",
        "description": "Edad en años. Los datos solo incluyen mujeres de 21 años o más.",
        "type": "integer",
        "min": 21,
        "max": 100,
        "zero_means_missing": False,
    },
]

TARGET = "Outcome"

CLASSES = [
    {"value": 0, "name": "low_risk", "label": "Riesgo bajo de diabetes"},
    {"value": 1, "name": "high_risk", "label": "Riesgo alto de diabetes"},
]

FEATURE_NAMES = [feature["name"] for feature in FEATURES]
MISSING_AS_ZERO = [i for i, feature in enumerate(FEATURES) if feature["zero_means_missing"]]
