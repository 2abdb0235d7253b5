"""El maestro de gunicorn guarda la última versión COMPROBADA del modelo y se la da a sus workers.

`on_starting` y `on_reload` (02_docker/gunicorn.conf.py) llaman a `verify_and_hold`: se comprueba la
versión publicada y, si está bien, se guarda en este módulo. Los workers nacen por fork con ella
(también los que nacen tras un SIGHUP, un fallo o un reciclado) y `serving.wsgi` se la pasa a
`create_app`: ningún archivo roto en disco puede tumbar el servicio.

El maestro nunca carga onnxruntime: con él cargado, los workers creados por fork se quedan colgados
al terminar y `docker stop` espera hasta el SIGKILL. Por eso la predicción de prueba se hace en un
proceso hijo desechable (`in_child`).
"""

import os

from diabetes_api.settings import load_settings
from workshop.modelfiles import live_version_dir, verify_version

_held = None


def in_child(function, *args):
    """Ejecuta `function(*args)` en un proceso hijo (fork) y devuelve su texto (o None)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # el hijo: calcula, escribe la respuesta y sale sin pasar por nada más
        try:
            os.write(write_end, (function(*args) or "").encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return "hizo terminar el proceso de la predicción de prueba"
    return answer or None


def verify_and_hold():
    """Comprueba la versión publicada con el motor de los ajustes y la guarda. ModelError si no vale."""
    global _held
    settings = load_settings()
    _held = verify_version(live_version_dir(settings["MODEL_DIR"]), settings["MODEL_RUNTIME"], run=in_child)
    return _held


def held():
    """La versión que guarda el maestro, o None (fuera de gunicorn)."""
    return _held


def held_version():
    return _held.version if _held is not None else "-"
