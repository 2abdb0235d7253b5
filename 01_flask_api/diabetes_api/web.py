"""La app web móvil (etapa «mobile_client»), servida en /app/ si su carpeta existe.

Se sirve desde el mismo origen que la API: el navegador no necesita CORS para llamarla.
"""

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("web", __name__)


@bp.get("/app/")
def app_index():
    return send_from_directory(current_app.config["WEB_DIR"], "index.html")


@bp.get("/app/<path:filename>")
def app_file(filename):
    # send_from_directory rechaza rutas que salgan de la carpeta (../) con un 404.
    return send_from_directory(current_app.config["WEB_DIR"], filename)


def init_app(app):
    if app.config["WEB_DIR"].is_dir():
        app.register_blueprint(bp)
