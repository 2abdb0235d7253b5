"""Las dos candidatas de la historia de la etapa 05 (`python -m maintenance candidates`), SIN publicarlas:

(a) una versión «mala» que pasa TODAS las comprobaciones estructurales (ficha, sha256, versión del motor,
    predicción de prueba entre 0 y 1) pero responde ≈ 0,99 a todas las pacientes: se copia la versión
    publicada, se reescriben los coeficientes del clasificador lineal del grafo ONNX (todos 0) y su
    término independiente (logit de 0,99) con el paquete `onnx`, y la ficha con el sha256 nuevo.
    Es el fallo que solo se ve en producción: por eso el juez mira cifras y no solo la ficha.
(b) una versión reentrenada con otra semilla (`python -m diabetes_model.train --seed N`, sin --publish).

Las dos quedan en MODEL_DIR/versions/ (o en la carpeta que se indique, p. ej. una copia para la demo).
"""

import hashlib
import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from diabetes_model.model_card import read_json, write_json
from diabetes_model.store import ModelError
from diabetes_model.versions import existing_version, live_version, verify, version_dir, write_version

LINEAR = "LinearClassifier"


def constant_graph(onnx_bytes, probability):
    """El mismo grafo con el clasificador lineal cambiado: probabilidad `probability` para cualquier fila."""
    import onnx

    model = onnx.load_from_string(onnx_bytes)
    nodes = [node for node in model.graph.node if node.op_type == LINEAR]
    if len(nodes) != 1:
        raise ModelError(f"La versión publicada no termina en un {LINEAR} de ONNX (regresión logística): "
                         "no sé fabricar la candidata mala a partir de ella.")
    logit = math.log(probability / (1 - probability))
    for attribute in nodes[0].attribute:
        if attribute.name == "coefficients":
            attribute.floats[:] = [0.0] * len(attribute.floats)
        elif attribute.name == "intercepts":
            # Binario con dos clases: [−b, b] → probabilidades [1 − p, p] con la transformación logística.
            attribute.floats[:] = [-logit, logit] if len(attribute.floats) == 2 else [logit]
    return model.SerializeToString()


def make_bad_version(model_dir, probability=0.99):
    """Escribe la versión mala (a) junto a las demás y devuelve su nombre; no la publica."""
    root = Path(model_dir)
    source = existing_version(root, live_version(root) or "")
    card = read_json(source / "model.json")
    artifact = card["artifacts"]["onnx"]
    onnx_bytes = constant_graph((source / Path(artifact["file"]).name).read_bytes(), probability)
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    version = f"v-{digest[:12]}"  # con la forma de cualquier otra versión: nada la delata en el nombre
    card = {**card, "version": version, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "artifacts": {**card["artifacts"], "onnx": {**artifact, "sha256": digest}}}

    def write_files(folder):
        for path in source.iterdir():
            if path.name not in ("model.json", artifact["file"], "metrics.json"):
                (folder / path.name).write_bytes(path.read_bytes())
        (folder / Path(artifact["file"]).name).write_bytes(onnx_bytes)
        write_json(card, folder / "model.json")
        write_json({"version": version, "created_at": card["created_at"], "metrics": card.get("metrics")},
                   folder / "metrics.json")

    folder, _ = write_version(root, version, write_files)
    verify(folder)  # pasa TODAS las comprobaciones con las que se publica una versión
    return version


def make_retrained_version(model_dir, seed, log=print):
    """Reentrena con otra semilla en `model_dir` (sin publicar) y devuelve el nombre de la versión."""
    command = [sys.executable, "-m", "diabetes_model.train", "--seed", str(seed), "--output", str(model_dir)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise ModelError(f"El reentrenamiento con la semilla {seed} falló: {done.stderr.strip()[-300:]}")
    for line in done.stdout.splitlines():
        if line.startswith("Versión ") and (" escrita en " in line or " guardada SIN publicar" in line):
            version = line.split()[1]
            if version_dir(model_dir, version).is_dir():
                log(f"  {line.strip()}")
                return version
    for line in done.stdout.splitlines():
        if "ya existe" in line and line.startswith("La versión "):
            return line.split()[2]
    raise ModelError(f"No encuentro la versión reentrenada en la salida de {' '.join(command[1:4])}.")


def main(argv=None):
    """`python -m maintenance candidates`: fabrica (a) y (b) en MODEL_DIR (o --model-dir) sin publicarlas."""
    from workshop.argparse_es import SpanishArgumentParser
    from workshop.spanish import after_colon, number

    from .thresholds import load_thresholds

    demo = load_thresholds()["demo"]
    parser = SpanishArgumentParser(prog="python -m maintenance candidates", description=main.__doc__.split(": ")[1])
    parser.add_argument("--model-dir", metavar="CARPETA", help="carpeta del modelo (por defecto MODEL_DIR)")
    parser.add_argument("--seed", type=int, default=demo["semilla_reentrenada"], metavar="N",
                        help=f"semilla del reentrenamiento, (b) ({demo['semilla_reentrenada']})")
    args = parser.parse_args(argv)
    from diabetes_model.store import default_model_dir

    root = Path(args.model_dir) if args.model_dir else default_model_dir()
    try:
        bad = make_bad_version(root, demo["probabilidad_mala"])
        print(f"(a) Candidata mala: {bad} — pasa la ficha, el sha256 y la predicción de prueba, pero da "
              f"{number(demo['probabilidad_mala'], 2)} a todas las pacientes.")
        good = make_retrained_version(root, args.seed)
        print(f"(b) Candidata reentrenada (semilla {args.seed}): {good}.")
    except ModelError as error:
        print(f"Error: {after_colon(str(error))}", file=sys.stderr)
        return 1
    print("Ninguna está publicada. Pruébalas con el juez: python -m diabetes_model.versions candidate "
          f"{bad} --weight 0 && python -m maintenance judge")
    return 0
