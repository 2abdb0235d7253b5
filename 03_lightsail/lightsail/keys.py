"""La clave de la API desplegada (API_KEY): dónde se guarda, cómo se rota y cómo se oculta en la salida.

La clave solo vive en un archivo fuera de git (03_lightsail/.api-key, o LIGHTSAIL_API_KEY_FILE) con
permisos 0600: JSON con la clave actual («current») y, durante una rotación, la anterior («previous»).
deploy.py nunca la escribe en pantalla ni en un registro («API_KEY=****»); solo `deploy.py key` la muestra.
"""

import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

from lightsail import DeployError, ExitCode

KEY_FILE = Path(__file__).resolve().parents[1] / ".api-key"
KEY_FILE_ENV = "LIGHTSAIL_API_KEY_FILE"
VARIABLE = "API_KEY"  # la variable de entorno del contenedor que lee la API
MASK = "****"
KEY_BYTES = 32  # secrets.token_urlsafe(32): 43 caracteres, 256 bits de azar
COMMENT = ("Clave de la API desplegada en Lightsail (deploy.py). Secreta: no la subas a git ni la pegues en un chat. "
           "Verla: .venv/bin/python 03_lightsail/deploy.py key")


def key_file():
    return Path(os.environ.get(KEY_FILE_ENV) or KEY_FILE)


def shown_path():
    """La ruta del archivo como la escribiría el usuario (relativa a la carpeta actual si está dentro)."""
    path = key_file().resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load():
    """{"current", "previous"} del archivo de la clave, o None si aún no existe."""
    path = key_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    tighten(path)
    try:
        state = json.loads(text)
        if isinstance(state.get("current"), str) and state["current"]:
            return {"current": state["current"], "previous": state.get("previous") or None}
    except (json.JSONDecodeError, AttributeError):
        pass
    raise DeployError(f"{shown_path()} no tiene una clave válida (JSON con «current»). Bórralo y despliega de nuevo: "
                      "se creará otra clave.", ExitCode.USAGE)


def tighten(path):
    """Si otros usuarios del equipo podían leer el archivo, lo deja en 0600 y avisa (POSIX)."""
    if os.name == "posix" and path.stat().st_mode & 0o077:
        path.chmod(0o600)
        print(f"AVISO: {shown_path()} se podía leer por otros usuarios; ahora tiene permisos 0600. Si alguien pudo "
              "copiarla, cámbiala: deploy.py rotate-key", file=sys.stderr)


def save(state):
    """Escribe el archivo con permisos 0600 desde el primer byte y lo sustituye de una vez.

    El temporal es NUEVO (tempfile: O_CREAT | O_EXCL, 0600, nombre al azar en la misma carpeta): nunca
    se escribe a través de un enlace ni en un archivo que ya existía (p. ej. un «.api-key.tmp» que
    alguien dejó apuntando a otro sitio). os.replace sustituye el nombre, no lo que hubiera detrás.
    """
    path = key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"_comentario": COMMENT, **state}, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def new_key():
    return secrets.token_urlsafe(KEY_BYTES)


def ensure():
    """(estado, creada): la clave del archivo o, si aún no hay, una nueva guardada en él."""
    if state := load():
        return state, False
    state = {"current": new_key(), "previous": None}
    save(state)
    return state, True


def rotate():
    """(nuevo, anterior): una clave nueva como actual y la actual como anterior (las dos valen hasta el
    siguiente `deploy`). El estado anterior se devuelve para restaurarlo si el despliegue falla."""
    old = load()
    state = {"current": new_key(), "previous": old["current"] if old else None}
    save(state)
    return state, old


def restore(old):
    """Deja el archivo como estaba antes de rotate() (o lo borra si no existía)."""
    if old:
        save(old)
    else:
        key_file().unlink(missing_ok=True)


def drop_previous(state):
    """Tras un despliegue que ya no acepta la clave anterior, la olvida."""
    if state.get("previous"):
        save({"current": state["current"], "previous": None})


def accepted(state, with_previous):
    """El valor de API_KEY: la actual o, durante una rotación, «actual,anterior» (la API admite varias)."""
    keys = [state["current"], *([state["previous"]] if with_previous and state.get("previous") else [])]
    return ",".join(keys)


def current():
    """La clave actual, para `deploy.py key` y la prueba de humo; DeployError si aún no existe."""
    if state := load():
        return state["current"]
    raise DeployError(f"Aún no hay clave: no existe {shown_path()}. La crea el primer `deploy.py deploy` "
                      "(sin --public).", ExitCode.NOT_FOUND)


def secrets_known():
    """Las claves que hay que ocultar en la salida: las del archivo, si existe y se puede leer."""
    try:
        state = load()
    except (DeployError, OSError):
        return []
    return [key for key in (state or {}).values() if key]


def mask(text, hidden=None):
    """El texto con cada clave conocida sustituida por ****."""
    for key in secrets_known() if hidden is None else hidden:
        text = text.replace(key, MASK)
    return text


def environment_text(environment):
    """«PORT=8000, API_KEY=****, …»: el entorno de un contenedor, con la clave oculta."""
    return ", ".join(f"{name}={MASK if name == VARIABLE and value else value}" for name, value in environment.items())
