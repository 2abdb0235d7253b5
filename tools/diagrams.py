"""Dibuja los diagramas Mermaid de los README en Chromium y mide si se leen a 830 px: `make pictures`.

    .venv/bin/python -m tools.diagrams            # todos: imágenes en docs/img/diagramas/ y el informe
    .venv/bin/python -m tools.diagrams --check    # solo mide (no escribe imágenes)

Recorre cada bloque ```mermaid de cada *.md del repositorio (los versionados y los nuevos; no lo que
ignora git) y lo dibuja con Mermaid (versión fijada en tools/diagrams/package.json y su
package-lock.json; `npm ci` la instala la primera vez, sin scripts) en el Chromium de Debian, dentro
de una columna de 830 px, como la página del repositorio: un diagrama más ancho se reduce hasta caber
y su texto encoge con él. De cada diagrama mide el tamaño con que se ve cada texto
(font-size × la escala con que se dibuja: min(1, 830 / ancho natural)) y los textos que se pisan.
Guarda <readme>-<n>.svg y <readme>-<n>.png (lo que ve quien lee, a 830 px) en docs/img/diagramas/:
README.es.md → readme-es-1, 04_esquemas/README.md → 04_esquemas-1.

Termina con 1 si algún diagrama no se entiende (Mermaid no lo lee), tiene texto de menos de 12 px o
textos que se pisan. tests/test_diagrams.py usa las mismas funciones. Es una orden de tools/.
"""

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from workshop import processes
from workshop.argparse_es import SpanishArgumentParser
from workshop.environment import root
from workshop.spanish import number

ROOT = root()
HERE = ROOT / "tools" / "diagrams"
MERMAID_JS = HERE / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
OUT = ROOT / "docs" / "img" / "diagramas"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
WIDTH = 830  # la columna de texto de la página del repositorio
MIN_PX = 12  # el texto más pequeño que se lee sin ampliar
VIEWPORT = 2000
FENCE = re.compile(r"^```mermaid[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
PAGE = f"""<!doctype html><html lang="es"><head><meta charset="utf-8">
<style>body {{ margin: 0; background: #fff; }} #box {{ width: {WIDTH}px; padding: 0; }}</style>
</head><body><div id="box"></div></body></html>"""
# Dibuja un bloque en #box y devuelve el ancho natural, el dibujado y cada texto con su tamaño en
# pantalla: el font-size por la escala real (getScreenCTM del texto o de su foreignObject).
MEASURE_JS = """async ({code, id}) => {
  const box = document.getElementById('box');
  box.innerHTML = '';
  let drawn;
  try {
    drawn = (await mermaid.render(id, code)).svg;
  } catch (error) {
    for (const stray of document.querySelectorAll(`#${id}, #d${id}`)) stray.remove();
    return {error: String((error && error.message) || error)};
  }
  box.innerHTML = drawn;
  const svg = box.querySelector('svg');
  const texts = [];
  for (const element of svg.querySelectorAll('*')) {
    const own = [...element.childNodes].filter((node) => node.nodeType === 3)
      .map((node) => node.textContent).join(' ').trim();
    const rect = element.getBoundingClientRect();
    if (!own || rect.width === 0 || rect.height === 0) continue;
    const ctm = (element.closest('foreignObject') || element).getScreenCTM();
    const size = parseFloat(getComputedStyle(element).fontSize) * Math.hypot(ctm.a, ctm.b);
    texts.push({text: own, px: size, x: rect.x, y: rect.y, w: rect.width, h: rect.height});
  }
  return {natural: svg.viewBox.baseVal.width, shown: svg.getBoundingClientRect().width,
          height: box.getBoundingClientRect().height, texts, svg: drawn};
}"""


class DiagramError(Exception):
    """Un problema que se explica en una frase (sin traza)."""


@dataclass
class Block:
    """Un bloque ```mermaid: el archivo (relativo a la raíz), su número en el archivo (desde 1) y su línea."""

    path: str
    index: int
    line: int
    code: str

    @property
    def name(self):
        """README.es.md, bloque 1 → readme-es-1; 04_esquemas/README.md, bloque 2 → 04_esquemas-2."""
        parts = list(Path(self.path).with_suffix("").parts)
        if len(parts) > 1 and parts[-1] == "README":
            parts.pop()
        return "-".join(parts).lower().replace(".", "-") + f"-{self.index}"


@dataclass
class Measure:
    """Cómo se ve un bloque a 830 px: el texto más pequeño, los que se pisan y, si Mermaid no lo lee, por qué."""

    block: Block
    natural: float = 0.0
    min_px: float = 0.0
    smallest: str = ""
    overlaps: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    error: str = ""

    @property
    def problems(self):
        """Lo que falla, en frases; vacía si el diagrama se lee."""
        if self.error:
            return [f"Mermaid no lo entiende: {self.error.splitlines()[0]}"]
        found = []
        if self.min_px < MIN_PX:
            found.append(f"texto de {number(self.min_px, 1)} px («{self.smallest}»), menos de {MIN_PX} px a "
                         f"{WIDTH} px (ancho natural {number(self.natural, 0)} px)")
        found += [f"«{first}» pisa «{second}»" for first, second in self.overlaps]
        return found


# ------------------------------------------------------------------ Los bloques


def blocks_in(text, path):
    """Los bloques ```mermaid de un texto Markdown, en orden."""
    return [Block(path, number_, text.count("\n", 0, match.start()) + 1, match.group(1))
            for number_, match in enumerate(FENCE.finditer(text), start=1)]


def markdown_files(base=ROOT):
    """Los *.md del repositorio: versionados y nuevos, sin lo que ignora git (.venv, node_modules…)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z", "*.md"], cwd=base,
                            capture_output=True, check=True, timeout=30).stdout.decode().split("\0")
    return [name for name in sorted(set(filter(None, listed))) if (base / name).is_file()]


def all_blocks(base=ROOT):
    """Todos los bloques ```mermaid de todos los *.md del repositorio."""
    return [block for name in markdown_files(base)
            for block in blocks_in((base / name).read_text(encoding="utf-8"), name)]


# ------------------------------------------------------------------ Mermaid (npm)


def pinned_version():
    version = json.loads((HERE / "package.json").read_text(encoding="utf-8"))["dependencies"]["mermaid"]
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise DiagramError(f"tools/diagrams/package.json debe fijar mermaid a una versión exacta (tiene «{version}»).")
    return version


def installed_version():
    package_json = HERE / "node_modules" / "mermaid" / "package.json"
    if not package_json.exists():
        return None
    return json.loads(package_json.read_text(encoding="utf-8")).get("version")


def ensure_mermaid():
    """`npm ci` en tools/diagrams/ (sin scripts de instalación) si falta la versión fijada de Mermaid."""
    version = pinned_version()
    if installed_version() == version and MERMAID_JS.exists():
        return version
    try:
        processes.npm_ci(HERE)
    except processes.ProcessError as error:
        raise DiagramError(f"{error} Hace falta para instalar Mermaid en tools/diagrams/.") from None
    if installed_version() != version or not MERMAID_JS.exists():
        raise DiagramError(f"npm ci no instaló mermaid {version} (¿package-lock.json desactualizado?).")
    return version


# ------------------------------------------------------------------ Dibujar y medir


def open_page(browser):
    """Una página con Mermaid cargado desde node_modules y una columna de 830 px; sin red."""
    page = browser.new_page(viewport={"width": VIEWPORT, "height": 900}, device_scale_factor=1)
    page.route("**/*", lambda route: route.abort())  # nada de la red: Mermaid viene de node_modules
    page.set_content(PAGE)
    page.add_script_tag(path=str(MERMAID_JS))
    page.evaluate("mermaid.initialize({startOnLoad: false, securityLevel: 'strict', theme: 'default'})")
    return page


def overlapping(texts, share=0.25):
    """Los pares de textos que se pisan: se cortan en más de `share` del área del más pequeño.

    (Dos líneas seguidas de un mismo texto se tocan un poco: su caja incluye el interlineado.)
    """
    pairs = []
    for position, first in enumerate(texts):
        for second in texts[position + 1:]:
            wide = min(first["x"] + first["w"], second["x"] + second["w"]) - max(first["x"], second["x"])
            tall = min(first["y"] + first["h"], second["y"] + second["h"]) - max(first["y"], second["y"])
            smaller = min(first["w"] * first["h"], second["w"] * second["h"])
            if wide > 0 and tall > 0 and wide * tall > share * smaller:
                pairs.append((first["text"], second["text"]))
    return pairs


def measure(page, block, out=None):
    """Dibuja un bloque a 830 px y lo mide; con `out`, guarda su SVG y su PNG ahí."""
    found = page.evaluate(MEASURE_JS, {"code": block.code, "id": f"diagrama-{block.index}"})
    if "error" in found:
        return Measure(block, error=found["error"])
    texts = found["texts"]
    smallest = min(texts, key=lambda text: text["px"]) if texts else {"px": float("inf"), "text": ""}
    result = Measure(block, natural=found["natural"], min_px=smallest["px"], smallest=smallest["text"],
                     overlaps=overlapping(texts), texts=texts)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{block.name}.svg").write_text(found["svg"] + "\n", encoding="utf-8")
        page.locator("#box").screenshot(path=str(out / f"{block.name}.png"))
    return result


def measure_all(browser, blocks, out=None):
    """Mide cada bloque en una sola página; con `out`, guarda las imágenes y borra las que ya no tienen bloque."""
    page = open_page(browser)
    try:
        results = [measure(page, block, out) for block in blocks]
    finally:
        page.close()
    if out is not None:
        keep = {f"{block.name}{suffix}" for block in blocks for suffix in (".svg", ".png")}
        for old in [*out.glob("*.svg"), *out.glob("*.png")]:
            if old.name not in keep:
                old.unlink()
    return results


def run(out):
    """Instala Mermaid si falta, abre Chromium y mide todos los bloques del repositorio."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise DiagramError(f"Falta Chromium en {CHROMIUM} (sudo apt-get install chromium).")
    ensure_mermaid()
    with sync_playwright() as session:
        browser = session.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            return measure_all(browser, all_blocks(), out)
        finally:
            browser.close()


def line(result):
    """Una línea del informe: el diagrama, su ancho natural, el texto más pequeño y lo que falla."""
    where = f"{result.block.path}:{result.block.line} ({result.block.name})"
    if result.error:
        return f"✗ {where}: {result.problems[0]}"
    mark = "✗" if result.problems else "✓"
    text = (f"{mark} {where}: ancho natural {number(result.natural, 0)} px, texto mínimo "
            f"{number(result.min_px, 1)} px a {WIDTH} px")
    return text + "".join(f"\n    {problem}" for problem in result.problems)


def main(argv=None):
    parser = SpanishArgumentParser(description="Dibuja y mide los diagramas Mermaid de los README a 830 px.")
    parser.add_argument("--check", action="store_true", help="solo mide: no escribe imágenes en docs/img/diagramas/")
    args = parser.parse_args(argv)
    try:
        results = run(None if args.check else OUT)
    except DiagramError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    for result in results:
        print(line(result), flush=True)
    failing = [result for result in results if result.problems]
    where = "" if args.check else f"; imágenes en {OUT.relative_to(ROOT)}/"
    print(f"{len(results)} diagramas, {len(failing)} que no se leen a {WIDTH} px (texto ≥ {MIN_PX} px){where}.")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
