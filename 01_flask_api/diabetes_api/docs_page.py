"""GET /docs: la API para probar en el navegador, en español (Swagger UI servido desde este origen).

Como /docs de FastAPI, pero sin CDN: `make web` copia de npm (swagger-ui-dist, versión fijada en
mobile_client/package-lock.json) solo `swagger-ui-bundle.js` y `swagger-ui.css` a `docs_files/vendor/`
y los comprime. La página (`docs_files/index.html`) y su guion (`docs_files/docs.js`: lee /openapi.json
y traduce las etiquetas: «Probar», «Ejecutar», «Autorizar»…) viven aquí; nada va en línea, así que la
política de contenido (security.py, DOCS_CSP) solo admite código y estilos de este origen.

Los archivos se sirven como los de la app (webapp.py): gzip, ETag por contenido y el mismo cupo de
bytes por dirección (WEB_BUDGET_MB) para los grandes. /docs no pide clave ni cuenta para RATE_LIMIT;
lo que se ejecuta desde ella sí (es una petición más a /v1/predict). Con API_KEY, el contrato declara
el esquema «bearer» y la página muestra «Autorizar» para escribir la clave (se queda en la pestaña).

Sin `make web` (falta Swagger UI), /docs responde 404 con una página en español que lo dice.
"""

from pathlib import Path

from flask import Blueprint, Response, current_app

from . import webapp
from .protection import not_rate_limited

bp = Blueprint("docs", __name__)

DOCS_DIR = Path(__file__).resolve().parent / "docs_files"
VENDOR_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
MISSING = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>Falta Swagger UI · /docs</title></head>
<body><h1>La página /docs no está instalada</h1>
<p>Falta Swagger UI en <code>01_flask_api/diabetes_api/docs_files/vendor/</code>. Ejecuta
<code>make web</code> (necesita Node 18 o posterior) y vuelve a cargar esta página.</p>
<p>Mientras tanto, el contrato de la API está en <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>
"""


def installed(folder=DOCS_DIR):
    """True si `make web` dejó Swagger UI en la carpeta de /docs."""
    return all((folder / "vendor" / name).is_file() for name in VENDOR_FILES)


@bp.get("/docs")
@not_rate_limited
def docs_index():
    if not installed(current_app.config["DOCS_DIR"]):
        return Response(MISSING, status=404, mimetype="text/html")
    return webapp.serve("index.html", current_app.config["DOCS_DIR"])


@bp.get("/docs/<path:filename>")
@not_rate_limited
def docs_file(filename):
    return webapp.serve(filename, current_app.config["DOCS_DIR"])


def init_app(app):
    """Las rutas /docs; los archivos, con el catálogo y el cupo de webapp.py."""
    app.config.setdefault("DOCS_DIR", DOCS_DIR)  # las pruebas pueden nombrar otra carpeta
    webapp.enable_files(app)
    app.register_blueprint(bp)
