"""API REST del modelo de riesgo de diabetes (etapa 01 del taller).

`create_app()` es la fábrica de la aplicación, como en el tutorial de Flask:

    flask --app diabetes_api run --port 5001            # servidor de desarrollo
    gunicorn --config 02_docker/gunicorn.conf.py      # producción (etapa 02: serving.wsgi)

Bajo gunicorn, el maestro (etapa 02) comprueba la versión del modelo y se la pasa a `create_app`
como `verified`: esta etapa no sabe nada de gunicorn.
"""

from workshop.settings import StartupError

__all__ = ["StartupError", "create_app"]


def create_app(config=None, verified=None):
    """Crea la aplicación: lee los ajustes, prepara el modelo UNA vez y registra las rutas.

    `config` (opcional) sustituye ajustes; las pruebas lo usan, p. ej. {"CACHE_SIZE": 0}.
    `verified` es una versión ya comprobada (diabetes_model.store.VerifiedModel): la que pasa el
    maestro de gunicorn. Sin ella se comprueba aquí la publicada en MODEL_DIR. Si no es fiable
    lanza ModelError con un mensaje en español.
    """
    # Importaciones aquí: `python -m diabetes_api.healthcheck` (cada 2 s en Docker) importa el
    # paquete y no necesita Flask, numpy ni onnxruntime.
    from types import SimpleNamespace

    from flask import Flask

    from . import errors, info, limits, metrics, observability, openapi, predict, security, webapp
    from .model import load_model
    from .settings import load_settings

    app = Flask(__name__, static_folder=None)
    app.config.update(load_settings())
    app.config.update(config or {})
    app.json.sort_keys = False  # las respuestas conservan el orden del contrato y de la ficha
    app.json.ensure_ascii = False  # acentos legibles

    model = load_model(verified, app.config["MODEL_DIR"], app.config["MODEL_RUNTIME"], app.config["CACHE_SIZE"])
    app.extensions["diabetes_api"] = SimpleNamespace(
        model=model, validator=predict.FeatureValidator(model.card["features"]), openapi=None)

    # Por orden: el id y el log de cada petición, las métricas, la clave y las cabeceras de seguridad, los límites.
    observability.init_app(app)
    metrics.init_app(app)
    security.init_app(app)
    limits.init_app(app)
    errors.init_app(app)
    info.init_app(app)
    # Todas las rutas, igual: blueprints con decoradores (la de salud la añade el de info al registrarse).
    for blueprint in (info.bp, predict.bp, openapi.bp):
        app.register_blueprint(blueprint)
    webapp.init_app(app)  # /app/ solo si WEB_DIR nombra una carpeta
    return app
