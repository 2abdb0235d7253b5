"""API REST del modelo de riesgo de diabetes (etapa 01 del taller).

`create_app()` es la fábrica de la aplicación, como en el tutorial de Flask:

    flask --app diabetes_api run                         # servidor de desarrollo
    gunicorn "diabetes_api:create_app()"                 # producción (etapa 02)
"""

from .settings import StartupError

__all__ = ["StartupError", "create_app", "preflight", "warm_imports"]


def preflight():
    """Comprueba ajustes y modelo (huella y versión de scikit-learn) sin cargar el pickle.

    Pensado para el proceso maestro de gunicorn (gancho `on_starting`): si falla, lanza
    StartupError y gunicorn termina con «Error: <mensaje>» antes de crear workers.
    """
    from .model_store import verify_model_dir
    from .settings import load_settings

    verify_model_dir(load_settings()["MODEL_DIR"])


def warm_imports():
    """Importa en el maestro de gunicorn el código que necesita el modelo, y suelta el modelo.

    Carga el modelo una vez (ya comprobado por `preflight`) solo para que Python importe
    scikit-learn, numpy y SciPy, y lo descarta. Los workers nacen por fork con esas librerías
    ya en memoria (compartida): arrancan en milisegundos y, tras `kill -HUP`, leen el modelo
    NUEVO del disco sin dejar las peticiones esperando mientras importan scikit-learn.
    """
    import flask_cors  # noqa: F401  (importar basta: queda en memoria para los workers)

    from . import errors, model_info, observability, openapi, predict, web  # noqa: F401
    from .model_store import load_model
    from .settings import load_settings

    load_model(load_settings()["MODEL_DIR"])


def create_app(config=None):
    """Crea la aplicación: lee los ajustes, carga el modelo UNA vez y registra las rutas.

    `config` (opcional) sustituye ajustes; las pruebas lo usan, p. ej. {"CACHE_SIZE": 0}.
    Si el modelo no es fiable lanza StartupError con un mensaje en español y no arranca.
    """
    from pathlib import Path
    from types import SimpleNamespace

    from flask import Flask
    from flask_cors import CORS

    from . import errors, model_info, observability, openapi, predict, web
    from .model_store import load_model
    from .predictor import Predictor
    from .settings import load_settings
    from .validation import FeatureValidator

    app = Flask(__name__, static_folder=None)
    app.config.update(load_settings())
    app.config.update(config or {})
    app.config["WEB_DIR"] = Path(app.config["WEB_DIR"])
    app.json.sort_keys = False  # las respuestas conservan el orden del contrato y de la ficha
    app.json.ensure_ascii = False  # acentos legibles

    model = load_model(app.config["MODEL_DIR"])
    app.extensions["diabetes_api"] = SimpleNamespace(
        model=model,
        validator=FeatureValidator(model.card["features"]),
        predictor=Predictor(model, app.config["CACHE_SIZE"]),
    )

    CORS(app, origins=app.config["CORS_ORIGINS"], expose_headers=["X-Request-ID", "X-Cache", "X-Model-Version"])
    observability.init_app(app)
    errors.init_app(app)
    model_info.init_app(app)
    app.register_blueprint(predict.bp)
    app.register_blueprint(openapi.bp)
    web.init_app(app)
    return app
