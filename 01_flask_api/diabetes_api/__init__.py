"""API REST del modelo de riesgo de diabetes (etapa 01 del taller).

`create_app()` es la fábrica de la aplicación, como en el tutorial de Flask:

    flask --app diabetes_api run --port 5001            # servidor de desarrollo
    gunicorn --config 02_docker/gunicorn.conf.py      # producción (etapa 02: serving.wsgi)

Bajo gunicorn, el maestro (etapa 02) comprueba la versión del modelo y se la pasa a `create_app`
como `verified`: esta etapa no sabe nada de gunicorn.
"""

from workshop.environment import StartupError

__all__ = ["StartupError", "create_app"]


def create_app(config=None, verified=None, production=True, candidate=None):
    """Crea la aplicación: lee los ajustes, prepara el modelo UNA vez y registra las rutas.

    `config` (opcional) sustituye ajustes; las pruebas lo usan, p. ej. {"CACHE_SIZE": 0}.
    `verified` es una versión ya comprobada (diabetes_model.store.VerifiedModel): la que pasa el
    maestro de gunicorn. Sin ella se comprueba aquí la publicada en MODEL_DIR. Si no es fiable
    lanza ModelError con un mensaje en español.
    `candidate` es la versión candidata que comprobó el maestro (diabetes_model.candidate.Candidate, o
    False si no hay); sin ella se lee aquí (versions_split.py). Una candidata mala no impide arrancar.
    `production=False` deja solo el núcleo (sin ids, métricas, clave, límites, OpenAPI ni app web):
    lo que hay que leer para seguir una predicción (tests/test_01_core_path.py lo mide).
    """
    # Importaciones aquí: `python -m diabetes_api.healthcheck` (cada 2 s en Docker) importa el
    # paquete y no necesita Flask, numpy ni onnxruntime.
    from types import SimpleNamespace

    from flask import Flask

    from . import errors, health_and_model, predict
    from .model import load_model
    from .settings import load_settings
    from .versions_split import load_split

    # El núcleo: ajustes, modelo, rutas y errores en JSON.
    app = Flask(__name__, static_folder=None)
    app.config.update(load_settings())
    app.config.update(config or {})
    app.json.sort_keys = False  # las respuestas conservan el orden del contrato y de la ficha
    app.json.ensure_ascii = False  # acentos legibles

    model = load_model(verified, app.config["MODEL_DIR"], app.config["MODEL_RUNTIME"], app.config["CACHE_SIZE"])
    split, candidate_status = load_split(app.config, model, candidate)
    app.extensions["diabetes_api"] = SimpleNamespace(
        model=model, validator=predict.FeatureValidator(model.card["features"]), openapi=None, split=split,
        candidate=candidate_status)
    errors.init_app(app)
    health_and_model.init_app(app)
    app.register_blueprint(health_and_model.bp)  # la salud la añade este blueprint al registrarse
    app.register_blueprint(predict.bp)

    # La capa de producción, en una llamada y en el orden que explica production.py.
    if production:
        from . import production as layer

        layer.init_app(app)
    return app
