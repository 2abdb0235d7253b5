"""`make setup`, `make lock` y `make wheels`: instalaciones con hashes, archivos bloqueados al día y Python ≥ 3.11.

Cada requirements/<nombre>.txt lo escribe `make lock` (uv pip compile) desde requirements/<nombre>.in:
todas las dependencias, cada una con su versión exacta y sus hashes, y arriba la orden que lo escribió.
Las pruebas leen los archivos y ejecutan make de verdad (en una copia mínima del taller cuando la orden
escribiría algo), sin red y en unos segundos.
"""

import os
import re
import shutil
import subprocess

import pytest

from support import ROOT

REQUIREMENTS = ROOT / "requirements"
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
LOCK_NAMES = re.search(r"^LOCK_NAMES = (.+)$", MAKEFILE, re.M)[1].split()
# Lo que hay detrás de «pip compile» en la orden de `make lock` (p. ej. --universal --python-version …).
LOCK_OPTIONS = re.search(r"^LOCK = \$\(UV\) pip compile (.+)$", MAKEFILE, re.M)[1].strip()
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(name):
    """{paquete: (versión, hashes, paquetes de «# via»)} de requirements/<name>.txt."""
    entries, current = {}, None
    for line in (REQUIREMENTS / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        pin = PIN.match(line)
        if pin:
            current = canonical(pin[1])
            entries[current] = (pin[2], [], [])
        elif current and line.strip().startswith("--hash=sha256:"):
            entries[current][1].append(line.strip())
        elif current and re.match(r"^\s+#\s+(?:via\s+|\s*)([A-Za-z0-9][\w.-]*)\s*$", line):
            entries[current][2].append(canonical(line.split()[-1]))
    return entries


def input_pins(path):
    """{paquete: versión} de un .in, siguiendo sus `-r otro.in`."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-r "):
            pins.update(input_pins(path.parent / line.split()[1]))
        elif PIN.match(line):
            pins[canonical(PIN.match(line)[1])] = PIN.match(line)[2]
    return pins


@pytest.mark.parametrize("name", LOCK_NAMES)
def test_each_lock_file_was_written_by_make_lock_and_hashes_everything(name):
    text = (REQUIREMENTS / f"{name}.txt").read_text(encoding="utf-8")
    command = f"uv pip compile {LOCK_OPTIONS} requirements/{name}.in -o requirements/{name}.txt"
    assert text.splitlines()[1] == f"#    {command}", f"requirements/{name}.txt no lo escribió `make lock` ({command})"
    assert not re.search(r"^-[rc] ", text, re.M), "un archivo bloqueado no incluye otros: lo lleva todo"
    entries = locked(name)
    requirement_lines = [line for line in text.splitlines() if line and not line[0].isspace() and line[0] != "#"]
    assert len(requirement_lines) == len(entries), "toda línea de requisito fija una versión exacta (==)"
    unhashed = [package for package, (_version, hashes, _via) in entries.items() if not hashes]
    assert not unhashed, f"requirements/{name}.txt: paquetes sin hash: {unhashed}"


@pytest.mark.parametrize("name", LOCK_NAMES)
def test_each_lock_file_follows_its_input(name):
    """Las versiones del .in, tal cual en el .txt; y nada en el .txt que no pida el .in o un paquete bloqueado."""
    wanted, entries = input_pins(REQUIREMENTS / f"{name}.in"), locked(name)
    stale = {package: (version, entries.get(package, ("falta",))[0]) for package, version in wanted.items()
             if entries.get(package, (None,))[0] != version}
    assert not stale, f"requirements/{name}.txt no sigue a {name}.in (ejecuta make lock): {stale}"
    orphans = [package for package, (_version, _hashes, via) in entries.items()
               if package not in wanted and not set(via) & set(entries)]
    assert not orphans, f"requirements/{name}.txt tiene paquetes que nadie pide: {orphans}"


def test_the_layers_agree_on_every_shared_version():
    """serve ⊂ train ⊂ dev: la imagen, la demo y las pruebas usan las mismas versiones de lo que comparten."""
    serve, train, dev = (locked(name) for name in ("serve", "train", "dev"))
    assert set(serve) <= set(train) <= set(dev)
    different = [package for package in serve if serve[package][0] != dev[package][0]]
    different += [package for package in train if train[package][0] != dev[package][0]]
    assert not different, different


def workshop_copy(tmp_path):
    """Lo que make lee para estas pruebas: el Makefile, workshop.env, pyproject.toml, el Dockerfile y requirements/."""
    for part in ("Makefile", "workshop.env", "pyproject.toml", "02_docker/Dockerfile"):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / part, tmp_path / part)
    shutil.copytree(REQUIREMENTS, tmp_path / "requirements")
    return tmp_path


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_setup_installs_every_requirement_file_with_hashes(tmp_path, installer):
    """`make -n` (sin ejecutar) enseña las órdenes: con uv y con pip, requirements/*.txt con --require-hashes."""
    folder = workshop_copy(tmp_path)
    result = subprocess.run(["make", "-n", "-C", str(folder), "setup-dev", f"INSTALLER={installer}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    installs = re.findall(r"(?:uv pip install|pip install)[^;]*", result.stdout)
    for name in ("uv", "train", "dev"):
        lines = [line for line in installs if f"-r requirements/{name}.txt" in line]
        assert lines and all("--require-hashes" in line for line in lines), (name, installs)


def fake_python(tmp_path, version="3.9.6"):
    """Un `python3` que se comporta como un Python antiguo: `--version` lo dice y todo lo demás falla.
    Anota cada llamada en calls.txt: así se ve que make no llegó a usarlo para descargar nada."""
    path = tmp_path / "fake" / "python3"
    path.parent.mkdir()
    path.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/calls.txt"\n'
                    f'[ "$1" = --version ] && {{ echo "Python {version}"; exit 0; }}\nexit 1\n', encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("target", ["wheels", "setup"])
def test_make_refuses_a_python_older_than_3_11_in_spanish(tmp_path, target):
    """El Python 3.9 de macOS: una frase en español con la versión y la salida, no un error de pip."""
    folder = workshop_copy(tmp_path / "taller")
    python = fake_python(tmp_path)
    env = {**os.environ, "MAKEFLAGS": ""}
    result = subprocess.run(["make", "-C", str(folder), target, f"PYTHON={python}"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert (f"Error: hace falta Python 3.11 o superior como '{python}' (es Python 3.9.6). "
            f"Instálalo o indica otro: make {target} PYTHON=python3.11") in result.stderr, result.stderr
    calls = (tmp_path / "calls.txt").read_text(encoding="utf-8").splitlines()
    assert not [call for call in calls if " pip " in f" {call} " or "venv" in call], calls
    assert not (folder / "wheels").exists() and not (folder / ".venv").exists()
