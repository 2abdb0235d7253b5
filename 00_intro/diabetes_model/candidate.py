"""La versión candidata: otra versión que la API prueba junto a la publicada (en la sombra o con una parte
del tráfico) antes de publicarla. La etapa 05 la gobierna; el mecanismo es de las etapas 00–02.

    MODEL_DIR/candidate.json   {"version": "v-…", "weight": 0.0–1.0, "since": "<fecha ISO>"}

`weight` es la parte de las peticiones que responde la candidata (0 = solo en la sombra: puntúa cada
petición, pero responde siempre la publicada). Sin el archivo no hay candidata. Se escribe como el
puntero live.json: archivo temporal + os.replace, bajo el mismo cerrojo que publicar y volver atrás.
El cambio llega a la API al recargarla (`make reload`, etapa 02).

Los ajustes CANDIDATE_VERSION y CANDIDATE_WEIGHT de la API (diabetes_api/settings.py), si están
definidos, mandan sobre este archivo: así un despliegue (p. ej. en Lightsail) lleva las dos versiones.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .model_card import read_json, write_json
from .store import VERSION_PATTERN, ModelError, VerifiedModel, default_model_dir

CANDIDATE = "candidate.json"


@dataclass(frozen=True)
class Candidate:
    """La candidata que se quiso cargar: su versión, su peso y la versión comprobada (o el motivo del rechazo)."""

    version: str | None
    weight: float
    verified: VerifiedModel | None = None
    problem: str | None = None


def candidate_path(model_dir=None):
    return Path(model_dir or default_model_dir()) / CANDIDATE


def check_weight(weight):
    """El peso como float entre 0 y 1, o ModelError en español."""
    try:
        value = float(weight)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(weight, bool) or not 0.0 <= value <= 1.0:
        raise ModelError(f"El peso de la candidata debe ser un número entre 0 y 1 (se recibió {weight!r}).")
    return value


def read_candidate(model_dir=None):
    """La candidata de candidate.json como diccionario, o None si no hay. Dañado → ModelError en español."""
    path = candidate_path(model_dir)
    if not path.is_file():
        return None
    try:
        data = read_json(path)
        version, weight = data["version"], check_weight(data["weight"])
    except (OSError, ValueError, TypeError, KeyError, ModelError):
        version = weight = None
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version) or weight is None:
        raise ModelError(f"El archivo de la candidata {path} está dañado: se sirve solo la versión publicada. "
                         "Vuelve a elegirla con `make candidate VERSION=… WEIGHT=…` o quítala con "
                         "`make candidate CLEAR=1`.")
    return {"version": version, "weight": weight, "since": data.get("since")}


def set_candidate(model_dir, version, weight):
    """Comprueba `version` (como la servirá la API) y la deja como candidata con `weight`. Devuelve el mensaje."""
    from .versions import existing_version, live_version, locked, verify  # versions importa este módulo

    root = Path(model_dir or default_model_dir())
    weight = check_weight(weight)
    with locked(root):
        if version == live_version(root):
            raise ModelError(f"La versión {version} ya es la publicada: una candidata tiene que ser otra.")
        verify(existing_version(root, version))
        data = {"version": version, "weight": weight, "since": datetime.now(UTC).isoformat(timespec="seconds")}
        write_json(data, candidate_path(root))
    share = f"{weight * 100:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    role = "solo en la sombra (responde siempre la publicada)" if weight == 0 else f"responde el {share} % del tráfico"
    return (f"Candidata: {version}, {role}. Si la API ya está en marcha en este equipo, recárgala con "
            "`make reload` (etapa 02).")


def clear_candidate(model_dir=None):
    """Quita la candidata (si la hay). Devuelve el mensaje."""
    from .versions import locked

    root = Path(model_dir or default_model_dir())
    with locked(root):
        path = candidate_path(root)
        if not path.exists():
            return "No hay ninguna candidata: no cambio nada."
        path.unlink()
    return "Candidata quitada: solo se sirve la versión publicada (tras `make reload`, si la API está en marcha)."


def resolve_candidate(model_dir, runtime, version=None, weight=None, run=None):
    """La candidata que se debe servir, ya comprobada, o None si no hay ninguna.

    `version`/`weight` (de los ajustes CANDIDATE_VERSION y CANDIDATE_WEIGHT) mandan sobre candidate.json.
    Nunca lanza por culpa de la candidata: si no se puede servir, devuelve Candidate con `problem`.
    """
    from .store import live_version_dir, verify_version

    root = Path(model_dir or default_model_dir())
    try:
        wanted = {"version": version, "weight": check_weight(weight or 0.0)} if version else read_candidate(root)
    except ModelError as error:
        return Candidate(None, 0.0, problem=str(error))
    if wanted is None:
        return None
    name, share = wanted["version"], wanted["weight"]
    try:
        folder = live_version_dir(root).parent / name
        if not VERSION_PATTERN.fullmatch(name) or folder.is_symlink() or not folder.is_dir():
            raise ModelError(f"No existe la versión {name} en {folder.parent}.")
        if folder.resolve() == live_version_dir(root).resolve():
            raise ModelError(f"la candidata {name} es la versión publicada.")
        return Candidate(name, share, verified=verify_version(folder, runtime, run=run))
    except ModelError as error:
        return Candidate(name, share, problem=str(error))
