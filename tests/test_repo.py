"""Pruebas del repositorio: cada `make <objetivo>` de la documentación existe y `make help` lo describe."""

import re
import subprocess

from support import ROOT

DOCS = [ROOT / "README.md", ROOT / "README.es.md", *ROOT.glob("[0-9][0-9]_*/README.md"),
        *ROOT.glob("mobile_client/README.md"), *ROOT.glob("02_docker/bench/README.md")]


def make_targets():
    """Objetivos que conoce make (su base de datos, sin ejecutar nada)."""
    database = subprocess.run(["make", "-pRrq", "-f", "Makefile", ":"], cwd=ROOT,
                              capture_output=True, text=True).stdout
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", database, flags=re.M))


def test_every_make_target_in_a_readme_exists():
    targets = make_targets()
    missing = {}
    for doc in DOCS:
        if doc.exists():
            for target in re.findall(r"\bmake ([a-z][a-z0-9-]*)", doc.read_text(encoding="utf-8")):
                if target not in targets:
                    missing.setdefault(doc.relative_to(ROOT).as_posix(), set()).add(target)
    assert not missing, f"objetivos citados que no existen: {missing}"


def test_make_help_lists_every_documented_target():
    output = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    described = re.findall(r"^([a-z0-9-]+):.*## ", makefile, flags=re.M)
    assert {"help", "setup", "model", "demo-0", "notebook", "demo", "test", "lint", "clean"} <= set(described)
    for target in described:
        assert target in output
