"""El maestro de gunicorn guarda la última versión COMPROBADA del modelo y se la da a sus workers,
y también la candidata (diabetes_model.candidate), si la hay: una candidata mala se deja fuera (con una
línea en el log) y se sirve solo la publicada.

`on_starting` y `on_reload` (02_docker/gunicorn.conf.py) llaman a `verify_and_hold`: se comprueba la
versión publicada y, si está bien, se guarda en este módulo. Los workers nacen por fork con ella
(también los que nacen tras un SIGHUP, un fallo o un reciclado) y `serving.wsgi` se la pasa a
`create_app`: ningún archivo roto en disco puede tumbar el servicio.

El maestro nunca carga onnxruntime: con él cargado, los workers creados por fork se quedan colgados
al terminar y `docker stop` espera hasta el SIGKILL. Por eso la predicción de prueba se hace en un
proceso hijo desechable (`in_child`).

Toda la comprobación (leer el puntero, la ficha y el artefacto, y la predicción de prueba) va en otro
hijo con un tiempo máximo (`within`): al recargar, MODEL_CHECK_TIMEOUT segundos (10 por defecto); al
arrancar, al menos 60. Mientras comprueba, el maestro no atiende a sus workers: una lectura que no
acaba (un disco o una carpeta de red colgados, un FIFO) lo dejaría sin sustituir a un worker que
muera. Pasado el plazo, el hijo se mata, el maestro sigue con la versión que ya guardaba y el log lo
dice en español.
"""

import os
import pickle
import select
import signal
import time

from diabetes_api.settings import load_settings
from diabetes_model.candidate import resolve_candidate
from diabetes_model.store import ModelError, live_version_dir, verify_version
from workshop.environment import StartupError

from .gunicorn_settings import read

CHECK_TIMEOUT = "MODEL_CHECK_TIMEOUT"  # el plazo al recargar (10 s por defecto: serving/gunicorn_settings.py)
STARTUP_TIMEOUT = 60  # al arrancar aún no hay workers que atender: más margen (una máquina ocupada)
_held = None
_held_candidate = False  # la candidata comprobada (diabetes_model.candidate.Candidate) o False si no hay


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


def verify_live(model_dir, runtime):
    return verify_version(live_version_dir(model_dir), runtime, run=in_child)


def verify_live_and_candidate(settings):
    """(publicada comprobada, candidata o False). Una candidata mala no es un error: lleva su `problem`."""
    live = verify_live(settings["MODEL_DIR"], settings["MODEL_RUNTIME"])
    candidate = resolve_candidate(settings["MODEL_DIR"], settings["MODEL_RUNTIME"],
                                  settings["CANDIDATE_VERSION"] or None, settings["CANDIDATE_WEIGHT"], run=in_child)
    return live, candidate or False


def verify_and_hold():
    """Comprueba la versión publicada (y la candidata, si hay) con el motor de los ajustes y las guarda.
    ModelError si la publicada no vale o si no se pudo comprobar a tiempo (entonces se conservan las que ya
    se guardaban). Devuelve la publicada comprobada; por qué se rechazó la candidata: `candidate_problem()`."""
    global _held, _held_candidate
    settings = load_settings()
    timeout = read(CHECK_TIMEOUT)
    if _held is None:
        timeout = max(timeout, STARTUP_TIMEOUT)
    _held, _held_candidate = within(timeout, verify_live_and_candidate, settings)
    return _held


def candidate_problem():
    """Por qué no se sirve la candidata que se pidió (una frase), o None si se sirve o no hay."""
    return _held_candidate.problem if _held_candidate else None


def within(timeout, function, *args):
    """`function(*args)` en un proceso hijo (fork) con `timeout` segundos como máximo; devuelve su resultado.

    Un StartupError del hijo (p. ej. ModelError) se lanza aquí con el mismo mensaje; si el hijo no
    responde a tiempo, se mata (con lo que haya creado) y se lanza ModelError.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # el hijo: su propio grupo de procesos (para matarlo con sus hijos), calcula y responde
        _answer_from_child(read_end, write_end, function, args)
    _set_group(pid)
    os.close(write_end)
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        data = _read_until(pipe, time.monotonic() + timeout)
    if data is None:
        _abandon(pid)
        raise ModelError(f"La versión publicada no se pudo leer ni comprobar en {timeout} s (¿un disco o una "
                         f"carpeta de red que no responden?): no se sirve. Revísala y vuelve a recargar "
                         f"(`make reload`); el plazo se cambia con {CHECK_TIMEOUT}.")
    os.waitpid(pid, 0)  # ya cerró su extremo: está saliendo
    if not data:
        raise ModelError("La comprobación de la versión publicada terminó sin respuesta: no se sirve.")
    outcome, value = pickle.loads(data)  # de nuestro propio hijo: de confianza
    if outcome == "error":
        raise ModelError(value)
    return value


def _answer_from_child(read_end, write_end, function, args):
    status = 0
    try:
        os.setpgid(0, 0)
        os.close(read_end)
        try:
            outcome = ("ok", function(*args))
        except StartupError as error:
            outcome = ("error", str(error))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(pickle.dumps(outcome))
    except BaseException:  # noqa: BLE001 (en el hijo nada puede escapar: saldría por el código del maestro)
        status = 1
    finally:
        os._exit(status)


def _set_group(pid):
    try:
        os.setpgid(pid, pid)  # también desde aquí: así vale aunque el hijo aún no lo haya hecho
    except OSError:
        pass  # ya lo hizo (o ya terminó)


def _read_until(pipe, deadline):
    """Todo lo que escriba el hijo hasta que cierre, o None si se acaba el plazo antes."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([pipe], [], [], left)[0]:
            return None
        chunk = pipe.read(1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _abandon(pid):
    """Mata al hijo y a sus hijos; lo recoge si muere enseguida (si no, lo recogerá gunicorn)."""
    for kill, target in ((os.killpg, pid), (os.kill, pid)):
        try:
            kill(target, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        time.sleep(0.01)


def held():
    """La versión que guarda el maestro, o None (fuera de gunicorn)."""
    return _held


def held_version():
    return _held.version if _held is not None else "-"


def held_candidate():
    """La candidata que guarda el maestro (Candidate, quizá con `problem`), o False si no hay; None fuera de
    gunicorn (entonces create_app la lee)."""
    return _held_candidate if _held is not None else None


def candidate_text():
    """La candidata en una frase corta para el log: «candidata v-… (peso 0,05)» o «sin candidata»."""
    if not _held_candidate or _held_candidate.problem:
        return "sin candidata"
    return f"candidata {_held_candidate.version} (peso {str(_held_candidate.weight).replace('.', ',')})"


def log_candidate_problem(log):
    """Una candidata que no se puede servir: una línea en el log, y se sirve solo la publicada."""
    if candidate_problem():
        log.error("Candidata rechazada: %s Se sirve solo la versión %s.", candidate_problem(), held_version())


def reload_hint(pid):
    """Cómo pedir la recarga. PID 1 = el proceso principal de un contenedor (el CMD de la imagen): ese
    número solo vale dentro; en el anfitrión, `kill -HUP 1` avisaría a su init. Desde fuera, Docker."""
    if pid == 1:
        return "desde el anfitrión, docker kill --signal HUP <contenedor> (docker ps lo nombra)"
    return f"make reload (o kill -HUP {pid})"
