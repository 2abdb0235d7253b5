"""El «Hola, mundo» de Flask de la charla, el primer paso de la etapa 01.

    cd 01_flask_api && ../.venv/bin/flask --app hello run --port 5001

La diapositiva importa `escape` de flask (`from flask import Flask, escape`); Flask 3 lo quitó
y hoy vive en markupsafe, la librería de la que Flask siempre lo tomó.
"""

from flask import Flask, request
from markupsafe import escape

app = Flask(__name__)


@app.route("/")
def hello():
    # escape(): lo que escribe el usuario se muestra como texto, nunca como HTML ejecutable.
    name = request.args.get("name", "World")
    return f"Hello, {escape(name)}!"
