"""El modelo de riesgo de diabetes (etapa 00): de los datos a `predict(data)`.

    features     las variables de entrada y las clases (de aquí sale la ficha)
    train        entrena, exporta a ONNX y escribe una versión (`make model`); el único que usa scikit-learn
    model_card   la ficha `model.json` de cada versión
    store        MODEL_DIR en disco: qué versión está publicada (`read_pointer`) y su comprobación
    versions     publicar, volver atrás, listar y podar versiones (`make publish`, `make rollback`)
    engines      ONNX (onnxruntime) y, solo si se pide, el joblib de scikit-learn
    patients     pacientes de ejemplo hechas con la ficha
    live         `predict(data)` con la versión publicada, cargada una vez
    summary      el resumen de la ficha (`make demo-0`)

Importar el paquete no importa scikit-learn, pandas ni joblib.
"""

from diabetes_model.live import live_model, predict

__all__ = ["live_model", "predict"]
