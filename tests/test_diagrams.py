"""Los diagramas Mermaid de los README se leen en la página del repositorio (830 px de ancho).

Cada bloque ```mermaid de cada *.md del repositorio (los nuevos también, sin lista que mantener) se
dibuja con Mermaid (versión fijada en tools/diagrams/package.json) en el Chromium de Debian, como
`make pictures` (tools/diagrams.py): Mermaid lo tiene que entender, su texto más pequeño se tiene que
ver a 12 px o más una vez reducido a 830 px y ningún texto puede pisar a otro.
"""

import shutil

import pytest

from support import need
from tools import diagrams

pytestmark = pytest.mark.browser

BLOCKS = diagrams.all_blocks()
# Un diagrama ancho a propósito: doce cajas en fila no caben en 830 px y su texto encoge.
WIDE = "flowchart LR\n" + "".join(f'    N{i}["paso {i}<br>de la fila"] --> N{i + 1}["paso {i + 1}<br>de la fila"]\n'
                                  for i in range(12))


@pytest.fixture(scope="module")
def page(browser):
    """Una página con Mermaid (lo instala `npm ci` si falta y hay npm) y una columna de 830 px."""
    if diagrams.installed_version() != diagrams.pinned_version():
        need(shutil.which("npm"), "falta npm (Node ≥ 18) para instalar Mermaid en tools/diagrams/")
        diagrams.ensure_mermaid()
    page = diagrams.open_page(browser)
    yield page
    page.close()


def test_every_markdown_file_is_searched():
    names = {block.path for block in BLOCKS}
    assert {"README.es.md", "04_esquemas/README.md"} <= names
    assert len({block.name for block in BLOCKS}) == len(BLOCKS), "dos diagramas con el mismo nombre de imagen"


def test_blocks_in_finds_each_fence_with_its_line():
    text = "# Título\n\n```mermaid\nflowchart LR\n  a --> b\n```\n\ntexto\n\n```mermaid\nsequenceDiagram\n```\n"
    found = diagrams.blocks_in(text, "05_mantenimiento/README.md")
    assert [(block.index, block.line, block.name) for block in found] == [
        (1, 3, "05_mantenimiento-1"), (2, 10, "05_mantenimiento-2")]
    assert found[0].code == "flowchart LR\n  a --> b\n"


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_diagram_reads_at_830_px(page, block):
    result = diagrams.measure(page, block)
    if result.problems:
        pytest.fail(f"{block.path}:{block.line}: " + "; ".join(result.problems), pytrace=False)
    assert result.texts, "el diagrama no tiene texto: ¿se dibujó?"


def test_a_wide_diagram_fails(page):
    result = diagrams.measure(page, diagrams.Block("plantado.md", 1, 1, WIDE))
    assert not result.error and result.natural > 1500
    assert result.min_px < diagrams.MIN_PX and "menos de 12 px" in result.problems[0]


def test_a_block_mermaid_cannot_parse_fails(page):
    broken = "sequenceDiagram\n    A->>B: uno; dos\n    alt sin cerrar\n"
    result = diagrams.measure(page, diagrams.Block("plantado.md", 1, 1, broken))
    assert result.error and result.problems[0].startswith("Mermaid no lo entiende")


def test_overlapping_labels_fail():
    """Dos etiquetas una encima de otra se pisan; dos líneas seguidas de un texto solo se rozan (interlineado)."""
    def box(text, x, y):
        return {"text": text, "x": x, "y": y, "w": 40, "h": 10}

    texts = [box("uno", 0, 0), box("dos", 10, 2), box("línea 1", 0, 20), box("línea 2", 0, 28)]
    assert diagrams.overlapping(texts) == [("uno", "dos")]


def test_stage_04_draws_the_schemes_top_down_in_order(page):
    block = next(block for block in BLOCKS if block.path == "04_esquemas/README.md")
    texts = diagrams.measure(page, block).texts
    tops = {text["text"][0]: text["y"] for text in texts if text["text"][:4] in ("1 · ", "2 · ", "3 · ")}
    assert sorted(tops) == ["1", "2", "3"], tops
    # Uno debajo de otro (no en fila): cada título, al menos 50 px por debajo del anterior.
    assert tops["2"] - tops["1"] > 50 and tops["3"] - tops["2"] > 50, tops
