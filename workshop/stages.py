"""Qué etapas importa cada etapa del taller, leído del código con `ast` (sin ejecutarlo).

    python -m workshop.stages        (o `make stages`)

Cada etapa solo puede usar las anteriores y `workshop/`, que no es una etapa y no importa ninguna:

    workshop/  <  00_intro  <  01_flask_api  <  02_docker  <  03_lightsail = 04_esquemas = mobile_client
               <  05_mantenimiento

Las tres últimas son hermanas: ninguna importa otra. Qué paquete vive en qué carpeta lo dice
pyproject.toml ([tool.setuptools.package-dir]). `tools/` (las órdenes de mantenimiento: `make
pictures`, `make parity`) no es una etapa: va después de todas, puede importar cualquiera y ninguna
la importa a ella. Sale con 1 si alguna importación va al revés.
Solo biblioteca estándar: funciona con el Python del sistema (3.11 o superior), sin .venv.
"""

import ast
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOME = "workshop"
TOOLS = "tools"  # no es una etapa ni un paquete instalado: se importa como `tools.<orden>` desde la raíz
# Nivel de cada carpeta: una carpeta solo puede importar las de nivel menor.
LEVELS = {HOME: -1, "00_intro": 0, "01_flask_api": 1, "02_docker": 2,
          "03_lightsail": 3, "04_esquemas": 3, "mobile_client": 3, "05_mantenimiento": 4, TOOLS: 5}
NAMES = {HOME: "común", "mobile_client": "app", TOOLS: "órdenes"}  # las demás: «etapa NN»


@dataclass(frozen=True)
class Import:
    """Una importación de un paquete de otra carpeta: dónde está y qué carpeta usa."""

    path: str  # el archivo que importa, relativo a la raíz
    line: int
    module: str
    source: str  # la carpeta del archivo
    target: str  # la carpeta del paquete importado

    @property
    def inverted(self):
        return LEVELS[self.target] >= LEVELS[self.source]

    def why(self):
        if self.source == HOME:
            return "workshop/ no importa ninguna etapa"
        if self.target == TOOLS:
            return "tools/ no es una etapa: ninguna la importa"
        if LEVELS[self.target] == LEVELS[self.source]:
            return f"{self.target} es hermana de {self.source}"
        return f"{self.target} es posterior a {self.source}"


def label(folder):
    return NAMES.get(folder) or f"etapa {folder[:2]}"


def packages(root=ROOT):
    """{paquete: carpeta} según pyproject.toml (más `tools`); la carpeta es la primera parte de su ruta."""
    pyproject = tomllib.loads((Path(root) / "pyproject.toml").read_text(encoding="utf-8"))
    folders = {**pyproject["tool"]["setuptools"]["package-dir"], TOOLS: TOOLS}
    return {name: folder.split("/")[0] for name, folder in folders.items() if folder.split("/")[0] in LEVELS}


def python_files(root=ROOT):
    """[(carpeta, archivo)] de cada .py de las carpetas con nivel (sin cachés ni carpetas ocultas)."""
    for folder in LEVELS:
        for path in sorted((Path(root) / folder).rglob("*.py")):
            parts = path.relative_to(root).parts
            if not any(part.startswith(".") or part == "__pycache__" for part in parts):
                yield folder, path


def imported(tree):
    """(línea, módulo) de cada importación absoluta, también las que están dentro de funciones."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def imports(root=ROOT):
    """Las importaciones entre carpetas distintas (las de dentro de una misma carpeta no cuentan)."""
    root = Path(root)
    owner = packages(root)
    found = []
    for folder, path in python_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported(tree):
            target = owner.get(module.split(".")[0])
            if target and target != folder:
                found.append(Import(path.relative_to(root).as_posix(), line, module, folder, target))
    return found


def inversions(root=ROOT):
    return [item for item in imports(root) if item.inverted]


def report(found):
    """Las líneas que imprime `make stages`: cada carpeta con lo que importa y, al final, lo que va al revés."""
    width = max(map(len, LEVELS))
    lines = ["Importaciones entre etapas (cada una solo usa las anteriores y workshop/):", ""]
    for folder in LEVELS:
        used = sorted({item.target for item in found if item.source == folder}, key=list(LEVELS).index)
        wrong = {item.target for item in found if item.source == folder and item.inverted}
        names = ", ".join(f"{target} ✗" if target in wrong else target for target in used)
        lines.append(f"  {folder:<{width}}  {label(folder):<8}  {'importa ' + names if used else 'no importa nada'}")
    bad = [item for item in found if item.inverted]
    lines.append("")
    if not bad:
        lines.append("Ninguna importación va al revés.")
        return lines
    lines.append(f"Importaciones al revés ({len(bad)}): muévelas a su etapa o a workshop/.")
    lines += [f"  {item.path}:{item.line}  {item.module}: {item.why()}" for item in bad]
    return lines


def main():
    found = imports()
    print("\n".join(report(found)))
    return 1 if any(item.inverted for item in found) else 0


if __name__ == "__main__":
    sys.exit(main())
