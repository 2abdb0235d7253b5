"""`make break-model`: publica a propósito una versión ROTA del modelo, para la demo de la etapa 02.

    python -m serving.break_model [--model-dir CARPETA]

Las versiones son inmutables (sus archivos, de solo lectura): no se estropea la publicada, se hace
una COPIA con otro nombre (`<versión>-rota`) cuyo ONNX no coincide con su ficha (sha256 distinto) y
se publica sin comprobarla, como lo haría un despliegue descuidado. Después:

    make reload     se niega a avisar a Gunicorn y dice por qué; la API sigue sirviendo la de antes
    make rollback   vuelve a la versión buena (la anterior del puntero)

Códigos de salida: 0 bien, 1 error (no hay versión publicada, la carpeta no se puede escribir), 2 orden
mal escrita.
"""

import json
import shutil
import sys
from pathlib import Path

from diabetes_model.store import ModelError, default_model_dir
from diabetes_model.versions import existing_version, live_version, locked, write_pointer, write_version
from workshop.argparse_es import SpanishArgumentParser
from workshop.spanish import after_colon

SUFFIX = "-rota"
DAMAGE = "\nbytes de más: este ONNX ya no es el de su ficha\n".encode()


def broken_copy(source, name):
    """Una función que escribe en una carpeta la versión `source` con otro nombre y el ONNX dañado."""
    def write_files(folder):
        for path in Path(source).iterdir():
            if path.is_file():
                shutil.copyfile(path, folder / path.name)
        card_path = folder / "model.json"
        card = json.loads(card_path.read_text(encoding="utf-8"))
        card["version"] = name
        card_path.write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
        with open(folder / "model.onnx", "ab") as handle:
            handle.write(DAMAGE)
    return write_files


def break_model(root):
    """Publica `<viva>-rota` (creándola si hace falta) sin comprobarla. Devuelve el mensaje."""
    with locked(root):
        live = live_version(root)
        if live is None:
            raise ModelError(f"No hay ninguna versión publicada en {root}: publica la de referencia con `make model`.")
        if live.endswith(SUFFIX):
            return f"La versión publicada ({live}) ya es la rota: prueba `make reload`; arréglalo con `make rollback`."
        name = f"{live}{SUFFIX}"
        write_version(root, name, broken_copy(existing_version(root, live), name))
        write_pointer(root, name, previous=live)
    return (f"Publicada a propósito la versión {name}: una copia de {live} con el ONNX dañado (sha256 distinto).\n"
            "Ahora: `make reload` se niega y la API sigue sirviendo la anterior; `make rollback` vuelve a "
            f"{live}.")


def main(argv=None):
    parser = SpanishArgumentParser(prog="python -m serving.break_model",
                                   description="Publica a propósito una copia rota de la versión publicada "
                                               "(para ver que `make reload` la rechaza).")
    parser.add_argument("--model-dir", metavar="CARPETA",
                        help="carpeta del modelo (por defecto, MODEL_DIR de workshop.env)")
    args = parser.parse_args(argv)
    root = Path(args.model_dir) if args.model_dir else default_model_dir()
    try:
        print(break_model(root))
    except (ModelError, OSError) as error:
        print(f"Error: {after_colon(str(error))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
