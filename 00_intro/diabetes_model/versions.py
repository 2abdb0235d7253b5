"""Versiones del modelo: carpetas inmutables, el puntero publicado y las órdenes del mantenedor.

Disposición de MODEL_DIR (la leen las demás etapas con `diabetes_model.store`):

    live.json              {"version": "v-…", "previous": "v-…" | null, "published_at": "…"}
    versions/<versión>/    model.json (ficha), model.onnx, model.joblib, metrics.json

Una carpeta de versión se escribe en una carpeta temporal hermana y se renombra al final: nunca
aparece a medias con su nombre definitivo, y después no se modifica nunca. Publicar es cambiar
`live.json` con un archivo temporal + os.replace (atómico): la API ve el puntero viejo o el nuevo.

Uso (o con make: versions, publish VERSION=…, rollback [VERSION=…]):
    python -m diabetes_model.versions list              versiones, fecha, ROC AUC, viva y anterior
    python -m diabetes_model.versions publish v-…       comprueba la versión y la publica
    python -m diabetes_model.versions rollback [v-…]    vuelve a la anterior (o a la que se nombre)
    python -m diabetes_model.versions prune [--keep N]  borra las antiguas (nunca la viva ni la anterior)
    python -m diabetes_model.versions candidate v-… --weight 0.05   la prueba junto a la viva (candidate.py)
    python -m diabetes_model.versions candidate --clear             quita la candidata
Con --model-dir CARPETA trabaja en otra carpeta del modelo (por defecto, MODEL_DIR).
Códigos de salida: 0 bien, 1 error o versión rechazada, 2 orden mal escrita.
Avisar al gunicorn que está sirviendo (SIGHUP) es cosa de la etapa 02: `make reload` (serving.reload).
"""

import fcntl
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from diabetes_model.model_card import read_json, write_json
from diabetes_model.store import (
    KEEP_VERSIONS,
    POINTER,
    VERSION_PATTERN,
    VERSIONS,
    ModelError,
    default_model_dir,
    read_pointer,
    verify_version,
)
from workshop.argparse_es import SpanishArgumentParser
from workshop.spanish import after_colon, date, number

STALE_TEMPORARY_SECONDS = 3600  # una carpeta temporal más vieja es de un entrenamiento interrumpido
# La disposición anterior (sin versiones): model.json suelto en MODEL_DIR haría que la API lo tomara
# por una carpeta de versión e ignorara live.json. Se borra al publicar.
LEGACY_FILES = ("model.json", "model.joblib")


# ------------------------------------------------------------------ Carpetas y puntero

def versions_dir(root):
    return Path(root) / VERSIONS


def version_dir(root, version):
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
        shown = str(version).encode("unicode_escape").decode("ascii")[:80]  # un salto de línea, visible: «\\n»
        raise ModelError(f"«{shown}» no es un nombre de versión válido (p. ej. v-1a2b3c4d5e6f).")
    return versions_dir(root) / version


@contextmanager
def locked(root):
    """Exclusión mutua entre procesos que cambian el puntero o borran versiones (flock)."""
    folder = versions_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_version(root, version, write_files):
    """Crea versions/<versión> entera o nada. Devuelve (carpeta, True si se creó ahora).

    `write_files(carpeta)` escribe los archivos en una carpeta temporal hermana; después se fuerzan
    a disco y la carpeta se renombra (atómico). Si la versión ya existe, no se toca.
    """
    target = version_dir(root, version)
    if target.is_dir():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".tmp", dir=target.parent))
    try:
        write_files(temporary)
        for path in temporary.iterdir():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
            path.chmod(0o444)  # inmutable: solo lectura (para todos, también dentro de la imagen)
        temporary.chmod(0o755)  # mkdtemp la crea 0o700: la API puede correr con otro usuario
        try:
            os.rename(temporary, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(temporary)  # otro proceso escribió la misma versión a la vez: vale la suya
            return target, False
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target, True


def live_version(root):
    pointer = read_pointer(root)
    return pointer["version"] if pointer else None


def write_pointer(root, version, previous):
    """Cambia la versión publicada de una vez (archivo temporal + os.replace)."""
    pointer = {"version": version, "previous": previous,
               "published_at": datetime.now(UTC).isoformat(timespec="seconds")}
    write_json(pointer, Path(root) / POINTER)
    _fsync_dir(Path(root))
    return pointer


def list_versions(root):
    """[(versión, ficha o None si no se puede leer)], de la más antigua a la más reciente."""
    folder = versions_dir(root)
    entries = []
    for path in folder.iterdir() if folder.is_dir() else []:
        if not path.is_dir() or path.name.startswith("."):
            continue
        written = path.stat().st_mtime_ns  # desempata dos versiones creadas en el mismo segundo
        try:
            card = read_json(path / "model.json")
            created = str(card["created_at"])
        except (OSError, ValueError, TypeError, KeyError):
            card = None
            created = datetime.fromtimestamp(written / 1e9, UTC).isoformat(timespec="seconds")
        entries.append((created, written, path.name, card))
    return [(name, card) for _, _, name, card in sorted(entries, key=lambda entry: entry[:3])]


# ------------------------------------------------------------------ Comprobar, publicar, volver atrás

def verify(folder):
    """Comprueba una versión como la servirá la API (ficha, sha256, motor, predicción de prueba) con
    ONNX, lo que se sirve: el joblib (un pickle) no se carga. Lanza ModelError con el motivo."""
    try:
        verify_version(folder, runtime="onnx")
    except ModelError as error:
        raise ModelError(f"La versión {Path(folder).name} no se puede servir: {after_colon(str(error))}") from None


def existing_version(root, version):
    folder = version_dir(root, version)
    if folder.is_symlink():  # una versión es una carpeta escrita por el entrenamiento, nunca un enlace
        raise ModelError(f"{folder} es un enlace simbólico, no una versión: no se publica.")
    if not folder.is_dir():
        raise ModelError(f"No existe la versión {version} en {versions_dir(root)}: "
                           f"mira las que hay con `{command(root, 'list')}`.")
    return folder


def publish(root, version):
    """Comprueba `version` y la publica; la que estaba viva queda como anterior. Devuelve el mensaje."""
    with locked(root):
        return _switch(root, version, "Publicada")


def rollback(root, version=None):
    """Vuelve a la versión anterior del puntero, o a la que se nombre. Devuelve el mensaje."""
    with locked(root):
        pointer = read_pointer(root)
        if pointer is None:
            raise ModelError("No hay ninguna versión publicada a la que volver: "
                               "publica la de referencia con `make model`.")
        target = version or pointer.get("previous")
        if not target:
            raise ModelError(f"La versión publicada ({pointer['version']}) no tiene anterior: nombra una con "
                               f"`{command(root, 'rollback', 'VERSIÓN')}` (mira cuáles hay con "
                               f"`{command(root, 'list')}`).")
        return _switch(root, target, "Vuelta atrás: publicada")


def _switch(root, version, verb):
    folder = existing_version(root, version)
    live = live_version(root)
    if version == live:
        return f"La versión {version} ya es la publicada: no cambio nada."
    verify(folder)
    write_pointer(root, version, previous=live)
    for name in LEGACY_FILES:
        (Path(root) / name).unlink(missing_ok=True)
    before = f" (la anterior, {live}, queda para `{command(root, 'rollback')}`)" if live else ""
    return (f"{verb} la versión {version}{before}. Si la API ya está en marcha en este equipo, "
            "recárgala con `make reload` (etapa 02).")


def prune(root, keep=KEEP_VERSIONS):
    """Borra las versiones más antiguas; conserva `keep`, la viva, la anterior y la candidata. Devuelve las borradas."""
    if keep < 1:
        raise ModelError(f"--keep {keep} no es válido: hay que conservar al menos una versión.")
    with locked(root):
        pointer = read_pointer(root) or {}
        protected = {pointer.get("version"), pointer.get("previous"), _candidate_version(root)}
        names = [name for name, _ in list_versions(root)]
        doomed = [name for name in names[:-keep] if name not in protected]
        for name in doomed:
            # Primero se aparta con otro nombre (atómico) y después se borra: nunca queda a medias.
            folder = versions_dir(root) / name
            trash = folder.with_name(f".{name}.{os.getpid()}-{time.time_ns()}.deleted.tmp")
            os.rename(folder, trash)
            shutil.rmtree(trash)
        for leftover in versions_dir(root).glob(".*.tmp"):  # de un entrenamiento o un borrado interrumpido
            if time.time() - leftover.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
    return doomed


def _candidate_version(root):
    """La versión candidata (candidate.py), que tampoco se poda; None si no hay o si su archivo está dañado."""
    from diabetes_model.candidate import read_candidate

    try:
        return (read_candidate(root) or {}).get("version")
    except ModelError:
        return None


# ------------------------------------------------------------------ Línea de órdenes

def command(root, action, argument=""):
    """La orden que hay que escribir: con make para MODEL_DIR, con python -m para otra carpeta."""
    if Path(root).resolve() == default_model_dir().resolve():
        makes = {"publish": f"make publish VERSION={argument}", "rollback": "make rollback",
                 "list": "make versions"}
        if action == "rollback" and argument:
            return f"make rollback VERSION={argument}"
        return makes[action]
    return f"python -m diabetes_model.versions --model-dir {root} {action} {argument}".rstrip()


def format_listing(root):
    entries = list_versions(root)
    if not entries:
        return f"No hay ninguna versión en {versions_dir(root)}: entrena la de referencia con `make model`."
    pointer = read_pointer(root) or {}
    lines = [f"Versiones en {versions_dir(root)} (de la más antigua a la más reciente):",
             f"  {'versión':<16} {'creada':<21} {'estimador':<21} {'AUC (VC)':>9} {'AUC (prueba)':>13}  estado"]
    for name, card in entries:
        state = {pointer.get("version"): "← viva", pointer.get("previous"): "anterior (rollback)"}.get(name, "")
        if card is None:
            lines.append(f"  {name:<16} {'(ficha ilegible)':<21} {'':<21} {'':>9} {'':>13}  {state}".rstrip())
            continue
        metrics = card.get("metrics", {})
        lines.append(f"  {name:<16} {date(card['created_at']):<21} "
                     f"{card.get('estimator', {}).get('name', '?'):<21} "
                     f"{number(metrics.get('cv_roc_auc_mean'), 3):>9} "
                     f"{number(metrics.get('test', {}).get('roc_auc'), 3):>13}  {state}".rstrip())
    if pointer:
        lines.append(f"Publicada: {pointer['version']} desde {date(pointer['published_at'])}; "
                     f"anterior: {pointer.get('previous') or 'ninguna'}.")
    else:
        lines.append(f"Ninguna publicada todavía: `{command(root, 'publish', 'VERSIÓN')}`.")
    return "\n".join(lines)


def main(argv=None):
    parser = SpanishArgumentParser(prog="python -m diabetes_model.versions",
                                     description="Versiones del modelo: listar, publicar, volver atrás, podar.")
    parser.add_argument("--model-dir", metavar="CARPETA",
                        help="carpeta del modelo (por defecto, MODEL_DIR de workshop.env)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="orden")
    actions.add_parser("list", help="versiones con su fecha y ROC AUC, la viva y la anterior")
    actions.add_parser("publish", help="comprueba una versión y la publica").add_argument("version", metavar="VERSIÓN")
    actions.add_parser("rollback", help="vuelve a la anterior o a la versión indicada").add_argument(
        "version", nargs="?", metavar="VERSIÓN")
    actions.add_parser("prune", help="borra versiones antiguas").add_argument(
        "--keep", type=int, default=KEEP_VERSIONS, metavar="N", help=f"cuántas conservar (por defecto {KEEP_VERSIONS})")
    chosen = actions.add_parser("candidate", help="prueba una versión junto a la viva (o --clear para quitarla)")
    chosen.add_argument("version", nargs="?", metavar="VERSIÓN")
    chosen.add_argument("--weight", type=float, default=0.0, metavar="W",
                        help="parte del tráfico que responde (0 a 1; 0 = solo en la sombra, por defecto)")
    chosen.add_argument("--clear", action="store_true", help="quita la candidata")
    args = parser.parse_args(argv)
    if args.action == "candidate" and bool(args.version) == args.clear:
        parser.error("indica una VERSIÓN (con --weight) o --clear, no las dos cosas ni ninguna")
    root = Path(args.model_dir) if args.model_dir else default_model_dir()
    try:
        print(_run(root, args))
    except ModelError as error:
        print(f"Error: {after_colon(str(error))}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        print(f"Error: no se pudo leer o escribir en {root} ({error.strerror or error}).", file=sys.stderr)
        return 1
    return 0


def _run(root, args):
    """Ejecuta la orden elegida y devuelve el texto que se imprime."""
    from diabetes_model.candidate import clear_candidate, set_candidate

    if args.action == "list":
        return format_listing(root)
    if args.action == "publish":
        return publish(root, args.version)
    if args.action == "rollback":
        return rollback(root, args.version)
    if args.action == "candidate":
        return clear_candidate(root) if args.clear else set_candidate(root, args.version, args.weight)
    removed = prune(root, args.keep)
    return f"Versiones borradas: {', '.join(removed)}." if removed else "No hay versiones que borrar."


def _fsync_dir(path):
    """Fuerza a disco la entrada del directorio (el renombrado sobrevive a un corte de luz)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


if __name__ == "__main__":
    raise SystemExit(main())
