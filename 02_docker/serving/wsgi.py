"""La aplicación que crea cada worker de gunicorn: la API de la etapa 01 con las versiones del maestro.

    gunicorn --config 02_docker/gunicorn.conf.py        (wsgi_app = "serving.wsgi:create_app()")
"""

import diabetes_api

from .master import held, held_candidate


def create_app():
    return diabetes_api.create_app(verified=held(), candidate=held_candidate())
