"""Una sola voz en lo que lee una persona: «la paciente», las palabras del taller y el glosario.

Recorre el texto para personas del repositorio (literales de cadena del código de Python fuera de
tests/, el JavaScript y el HTML de la app, el Makefile, el cliente en R y los README/documentos) y
falla nombrando archivo:línea si aparece una de las formas que el taller no usa. Además, cada
término del glosario (docs/glosario.md) lleva un enlace al glosario la primera vez que aparece en
el README de cada etapa. Sin servidores: unos segundos.
"""
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glosario.md"
STAGE_READMES = ["00_intro/README.md", "01_flask_api/README.md", "02_docker/README.md",
                 "02_docker/bench/README.md", "03_lightsail/README.md", "04_esquemas/README.md",
                 "05_mantenimiento/README.md", "mobile_client/README.md"]

# forma que no se usa → lo que se escribe en su lugar
FORBIDDEN = {
    r"\b(?:un|el|del|al|ningún|otro|mismo|este|ese)\s+paciente\b": "«la paciente»: los datos son de mujeres",
    r"\b(?:los|unos|otros|estos|esos|todos\s+los)\s+pacientes\b": "«las pacientes»",
    r"\bpacientes?\s+(?:nuevos|distintos|repetidos?|válidos|puntuados|cambiados)\b": "concordancia en femenino",
    r"\bpedigr[íi]\b": "«antecedentes familiares» (función de herencia): pedigrí es de animales",
    r"\bficheros?\b": "«archivo», como en el resto del taller",
    r"\bobsolescencia\b": "«antigüedad media de la predicción»",
    r"\bre-?puntú": "«vuelve a puntuar»",
    r"\bdel terminal\b": "«la terminal», como en el resto del taller",
    r"\bcon qué orden\b": "«en qué orden»",
    r"\b\d{1,3}(?:[\u00a0\u2009\u202f]\d{3})+\b|\b\d{1,3} 000\b": "punto de miles: «100.000»",
}
FORBIDDEN_RE = [(re.compile(pattern, re.I), advice) for pattern, advice in FORBIDDEN.items()]
SKIP_PARTS = {"tests", ".venv", "node_modules", "vendor", "results", "test-artifacts", "wheels", ".git"}
TEXT_SUFFIXES = {".md", ".js", ".html", ".R"}


def repository_files():
    """Los archivos versionados y los nuevos (no los ignorados por git: el modelo, .venv, vendor/)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.splitlines()
    for name in sorted(set(listed)):
        path = ROOT / name
        if path.is_file() and not SKIP_PARTS & set(Path(name).parts) and not name.endswith(".egg-info"):
            yield path


def python_strings(source):
    """(línea, texto) de cada literal de cadena (también docstrings y f-strings) de un módulo."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return [(number, line) for number, line in enumerate(source.splitlines(), 1)]
    kinds = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    found = []
    for token in tokens:
        if token.type in kinds:
            for offset, line in enumerate(token.string.splitlines()):
                found.append((token.start[0] + offset, line))
    return found


def user_facing_lines(path):
    """(línea, texto) que puede leer una persona: en Python, sus cadenas; en los demás, todo."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".py":
        return python_strings(text)
    if path.suffix == ".md":  # los comentarios HTML (marcas de cifras) no se ven
        text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return list(enumerate(text.splitlines(), 1))


def voice_problems(paths):
    problems = []
    for path in paths:
        for number, line in user_facing_lines(path):
            for pattern, advice in FORBIDDEN_RE:
                for match in pattern.finditer(line):
                    problems.append(f"{path.relative_to(ROOT)}:{number}: «{match.group(0)}» → {advice}")
    return problems


def scanned_files():
    return [path for path in repository_files()
            if path.suffix in TEXT_SUFFIXES | {".py"} or path.name == "Makefile"]


def test_user_facing_text_speaks_with_one_voice():
    files = scanned_files()
    assert any(path.name == "predict.py" for path in files) and any(path.name == "app.js" for path in files)
    problems = voice_problems(files)
    assert not problems, "Formas que el taller no usa:\n" + "\n".join(problems)


def test_the_scan_finds_a_planted_form(tmp_path):
    """El detector ve cada forma prohibida en una cadena de Python y en un README, y no ve la buena."""
    module = tmp_path / "planted.py"
    module.write_text('# un paciente en un comentario no se muestra\nMESSAGE = "Debe ser un paciente."\n'
                      'OK = "la paciente y las pacientes; DiabetesPedigreeFunction"\n', encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("Se generan 100 000 filas.\nEl fichero del terminal.\n<!-- un paciente -->\n",
                      encoding="utf-8")
    problems = [problem.split(":", 2)[1:] for problem in _relative_problems([module, readme], tmp_path)]
    assert [line for line, _ in problems] == ["2", "1", "2", "2"], problems


def _relative_problems(paths, base):
    global ROOT
    saved, ROOT = ROOT, base
    try:
        return voice_problems(paths)
    finally:
        ROOT = saved


# ------------------------------------------------------------------------------------------- glosario

def glossary_terms():
    """{ancla: expresión regular del término en un README}, de las filas del glosario."""
    text = GLOSSARY.read_text(encoding="utf-8")
    anchors = re.findall(r'<a id="([a-z0-9-]+)"></a>', text)
    patterns = {
        "p50-y-p99": r"\bp(?:50|99)\b", "onnx": r"\bONNX\b", "pwa": r"\bPWA\b", "wsgi": r"\bWSGI\b",
        "iam": r"\bIAM\b", "psi": r"\bPSI\b", "deriva": r"\bderiva\b", "canario": r"\bcanari[oa]s?\b",
        "sombra": r"\bsombra\b", "cache": r"\bcaché\b", "latencia": r"\blatencias?\b",
        "replica": r"\bréplicas?\b", "worker": r"\bworkers?\b", "puntuar": r"\bpuntu[aá]\w*|\bpuntú\w*",
    }
    assert set(anchors) == set(patterns), f"glosario: anclas {sorted(anchors)}; la prueba conoce {sorted(patterns)}"
    return {anchor: re.compile(pattern) for anchor, pattern in patterns.items()}


def prose_mask(text):
    """El texto con lo que no es prosa (código, comentarios, títulos, destinos de enlaces, etiquetas)
    cambiado por espacios, con las mismas posiciones."""
    blank = list(text)

    def erase(pattern, flags=0):
        for match in re.finditer(pattern, text, flags):
            for index in range(*match.span()):
                if blank[index] != "\n":
                    blank[index] = " "

    erase(r"```.*?```", re.S)
    erase(r"<!--.*?-->", re.S)
    erase(r"!\[[^\]]*\]\([^)]*\)")  # imágenes: su texto alternativo no es la prosa que se lee
    erase(r"`[^`\n]*`")
    erase(r"^#.*$", re.M)
    erase(r"^\[[^\]]+\]:.*$", re.M)
    erase(r"\]\([^)\s]*\)")
    erase(r"<[^>\n]+>")
    return "".join(blank)


def first_uses(text, terms):
    """{ancla: (posición, término)} de la primera vez que cada término aparece en la prosa."""
    prose = prose_mask(text)
    found = {}
    for anchor, pattern in terms.items():
        match = pattern.search(prose)
        if match:
            found[anchor] = match.span()
    return found


def links_to_glossary(text, start, end, anchor):
    """¿El término de text[start:end] está dentro de un enlace al glosario (a esa entrada)?"""
    definitions = {label.lower(): target for label, target in
                   re.findall(r"^\[([^\]]+)\]:\s*(\S+)", text, re.M)}
    for match in re.finditer(r"\[([^\]]+)\](?:\(([^)\s]+)\)|\[([^\]]*)\])", text):
        if match.start(1) <= start and end <= match.end(1):
            target = match.group(2) or definitions.get((match.group(3) or match.group(1)).lower(), "")
            return target.endswith(f"glosario.md#{anchor}")
    return False


def test_the_glossary_exists_and_every_term_is_used_somewhere():
    terms = glossary_terms()
    readmes = [ROOT / name for name in STAGE_READMES if (ROOT / name).exists()]
    readmes += [ROOT / "README.es.md", ROOT / "docs" / "guia-instructor.md"]
    used = set()
    for readme in readmes:
        used |= set(first_uses(readme.read_text(encoding="utf-8"), terms))
    assert used == set(terms), f"términos del glosario que ningún README usa: {sorted(set(terms) - used)}"


@pytest.mark.parametrize("name", [name for name in STAGE_READMES if (ROOT / name).exists()])
def test_each_glossary_term_links_to_the_glossary_at_its_first_use(name):
    readme = ROOT / name
    text = readme.read_text(encoding="utf-8")
    unlinked = []
    for anchor, (start, end) in first_uses(text, glossary_terms()).items():
        if not links_to_glossary(text, start, end, anchor):
            line = text.count("\n", 0, start) + 1
            unlinked.append(f"{name}:{line}: «{text[start:end]}» (enlázalo: [{text[start:end]}][] y, al final, "
                            f"[{text[start:end]}]: ../docs/glosario.md#{anchor})")
    assert not unlinked, "Primer uso sin enlace al glosario:\n" + "\n".join(unlinked)
