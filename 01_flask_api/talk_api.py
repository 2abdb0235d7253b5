"""La demo de la charla: el modelo publicado detrás de `POST /predict`, en un archivo.

    .venv/bin/flask --app 01_flask_api/talk_api.py run --port 5001      (o `make demo-1`)
    curl -s -X POST http://127.0.0.1:5001/predict -H 'Content-Type: application/json' \\
         -d '{"Pregnancies": 2, "Glucose": 150, "BloodPressure": 70, "SkinThickness": 30,
              "Insulin": 100, "BMI": 32.5, "DiabetesPedigreeFunction": 0.5, "Age": 45}'

Después de `hello.py`, el paso siguiente: Flask carga UNA vez el modelo publicado (etapa 00, paquete
`diabetes_model`) y cada petición llama a `predict(data)`. La API de producción (`diabetes_api`)
responde la misma probabilidad y añade validación de rangos, límites, métricas y versiones.
"""

from flask import Flask, jsonify, request

from diabetes_model import live_model, predict

app = Flask(__name__)
model = live_model()  # comprueba y carga la versión publicada al arrancar, una sola vez


@app.post("/predict")
def predict_view():
    data = request.get_json(silent=True)  # una paciente (objeto JSON) o varias (lista)
    if not isinstance(data, (dict, list)):
        return jsonify(error="El cuerpo debe ser JSON: una paciente o una lista de pacientes."), 400
    try:
        return jsonify(predict(data))
    except ValueError as error:
        return jsonify(error=f"Datos no válidos: {error}."), 400


@app.get("/")
def about():
    return jsonify(model=model.card["name"], version=model.version, threshold=model.threshold,
                   features=model.feature_names)
