"""Los README se cumplen: cada orden funciona tal cual, o el README dice por qué CI no la ejecuta.

Cada bloque ```bash de cada README se ejecuta en orden, en una copia del repositorio (así las
órdenes que publican modelos, borran resultados o escriben archivos no tocan el árbol de trabajo),
con `.venv` compartido. Una marca en un comentario HTML justo antes del bloque cambia qué se hace:

    <!-- ci: fondo 8000 -->          se arranca en segundo plano y se espera a que el puerto 8000
                                     responda; se para (todo su grupo de procesos) al acabar el README
    <!-- ci: errores -->             órdenes que fallan a propósito (ejercicios): cada línea se ejecuta;
                                     pueden salir con código != 0, pero nunca con un traceback
    <!-- ci: no · <motivo> -->       no se ejecuta; el motivo empieza por uno de MOTIVOS

Además: cada objetivo de make citado existe, cada ruta del repositorio citada existe y cada versión
de modelo citada es una versión que el entrenamiento de referencia produce hoy.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest
from dotenv import dotenv_values

from support import IN_CI, ROOT

# Los README de cada etapa (con su recuadro «Aprenderás…» y un camino principal corto) y su apéndice.
STAGE_READMES = [ROOT / folder / "README.md" for folder in
                 ("00_intro", "01_flask_api", "02_docker", "03_lightsail", "04_esquemas", "05_mantenimiento",
                  "mobile_client")]
MAIN_PATH_WORDS = 1500
READMES = sorted([ROOT / "README.md", ROOT / "README.es.md", ROOT / "CONTRIBUTING.md", *ROOT.glob("docs/*.md"),
                  *ROOT.glob("*/para-saber-mas.md"), *ROOT.glob("0*/README.md"),
                  *ROOT.glob("0*/*/README.md"), ROOT / "mobile_client" / "README.md"])
MOTIVOS = ("necesita una cuenta de AWS", "necesita Docker Desktop", "descarga",
           "solo en macOS", "solo en Windows", "es `make test`", "abre un navegador", "interactiva",
           "es un ejemplo que se adapta", "mide durante minutos")
BLOCK = re.compile(r"(?:<!--\s*ci:\s*(?P<mark>[^>]*?)\s*-->\s*\n)?```(?:bash|sh|shell)\n(?P<code>.*?)```", re.S)
# Variantes cortas para CI de las órdenes largas (el mismo código, menos carga: CONTRIBUTING, «Dos bucles de pruebas»).
SHORT = {"BENCH_SECONDS": "1", "SCHEMES_PATIENTS": "40", "SCHEMES_SECONDS": "2", "AWS_EC2_METADATA_DISABLED": "true"}


def blocks(readme):
    """[(marca, código)] de un README, en orden."""
    return [(match["mark"] or "", match["code"]) for match in BLOCK.finditer(readme.read_text(encoding="utf-8"))]


def ids(paths):
    return [str(path.relative_to(ROOT)) for path in paths]


@pytest.mark.parametrize("readme", READMES, ids=ids(READMES))
def test_every_skipped_block_says_why(readme):
    for mark, code in blocks(readme):
        if mark.startswith("no"):
            reason = mark.removeprefix("no").strip(" ·-:")
            assert reason.startswith(MOTIVOS), f"{readme.name}: motivo no admitido «{reason}» para:\n{code}"
        else:
            assert mark in ("", "errores") or re.fullmatch(r"fondo \d+", mark), \
                f"{readme.name}: marca desconocida «{mark}»"


def test_no_block_leaves_the_terminal_in_another_folder():
    """Quien copia los bloques los pega en la MISMA terminal: un `cd carpeta && …` suelto deja la terminal
    en esa carpeta y el `make …` siguiente falla con «No rule to make target». Un `cd` va entre paréntesis
    (un subproceso) o no va."""
    wrong = [f"{readme.relative_to(ROOT)}: {line.strip()}" for readme in READMES for _, code in blocks(readme)
             for line in code.splitlines() if re.match(r"\s*(?:[^(#]*&&\s*)?cd\s", line)]
    assert wrong == [], "cambian de carpeta para los bloques siguientes:\n" + "\n".join(wrong)


def copy_repository(destination):
    """Los archivos del repositorio (versionados y nuevos), con sus fechas, más el modelo y .venv."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    model = ROOT / "00_intro" / "model"
    if model.is_dir():
        shutil.copytree(model, destination / "00_intro" / "model", dirs_exist_ok=True)
    (destination / ".venv").symlink_to(ROOT / ".venv")


def port_answers(port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_group(process):
    """Para un bloque en segundo plano: SIGINT (como Ctrl+C) a su grupo; SIGKILL si no acaba."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def normalized(code):
    """Las órdenes de un bloque sin comentarios ni espacios sobrantes (para reconocer repetidas)."""
    return tuple(line.split("  #")[0].strip() for line in code.splitlines() if line.split("  #")[0].strip())


ALREADY_RUN = set()  # bloques (sin servidor en segundo plano) que ya funcionaron en otro README


WITH_COMMANDS = [readme for readme in READMES if any(not mark.startswith("no") for mark, _ in blocks(readme))]


@pytest.mark.slow
@pytest.mark.parametrize("readme", WITH_COMMANDS, ids=ids(WITH_COMMANDS))
def test_readme_commands_work(readme, tmp_path):
    runnable = [(mark, code) for mark, code in blocks(readme) if not mark.startswith("no")]
    workdir = tmp_path / "repo"
    copy_repository(workdir)
    # Sin los ajustes de workshop.env que alguna prueba haya dejado en el entorno: los de la copia mandan.
    shared = set(dotenv_values(ROOT / "workshop.env"))
    env = {**{k: v for k, v in os.environ.items() if k not in shared}, **SHORT,
           "CI": "true" if IN_CI else os.environ.get("CI", "")}
    background = []
    try:
        for mark, code in runnable:
            where = f"{readme.relative_to(ROOT)}:\n{code}"
            if mark.startswith("fondo"):
                port = int(mark.split()[1])
                for earlier in [item for item in background if item[2] == port]:  # el README cierra el anterior
                    stop_background(*earlier)
                    background.remove(earlier)
                assert not port_answers(port), f"el puerto {port} ya estaba ocupado antes de {where}"
                log = open(tmp_path / f"fondo-{len(background)}.log", "wb")  # noqa: SIM115 (se cierra al parar)
                process = subprocess.Popen(["bash", "-c", code], cwd=workdir, env=env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
                background.append((process, log, port))
                deadline = time.monotonic() + 240
                while not port_answers(port):
                    assert process.poll() is None, f"terminó antes de escuchar en {port}: {where}\n" \
                        + (tmp_path / f"fondo-{len(background) - 1}.log").read_text(errors="replace")[-3000:]
                    assert time.monotonic() < deadline, f"no escuchó en {port} en 240 s: {where}"
                    time.sleep(0.2)
                continue
            if normalized(code) in ALREADY_RUN:  # la misma orden ya la ejecutó esta prueba en otro README
                continue
            strict = mark != "errores"
            result = subprocess.run(["bash", "-euo", "pipefail", "-c", code] if strict else ["bash", "-c", code],
                                    cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
            output = f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            assert "Traceback" not in output, f"un traceback en {where}\n{output}"
            assert result.returncode == 0 or not strict, f"falló (código {result.returncode}) {where}\n{output}"
            ALREADY_RUN.add(normalized(code))
    finally:
        for item in reversed(background):
            stop_background(*item)


def stop_background(process, log, port):
    stop_group(process)
    log.close()
    deadline = time.monotonic() + 20
    while port_answers(port) and time.monotonic() < deadline:
        time.sleep(0.2)


def test_quoted_make_targets_exist():
    """Cada `make <objetivo>` de un README existe (el único sitio que lo comprueba)."""
    # Las reglas del Makefile (no la base de datos de make: ahí un nombre que solo está en .PHONY existe).
    targets = set(re.findall(r"^([a-z0-9-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))
    missing = {}
    for readme in READMES:
        for quoted in re.findall(r"\bmake ((?:[a-z0-9][a-z0-9-]*\s?)+)", readme.read_text(encoding="utf-8")):
            for name in quoted.split():
                if re.fullmatch(r"[a-z][a-z0-9-]*", name) and name not in targets:
                    missing.setdefault(str(readme.relative_to(ROOT)), set()).add(name)
    assert missing == {}, f"objetivos citados que no existen: {missing}"


def test_quoted_repository_paths_exist():
    tops = {path.name for path in ROOT.iterdir()} - {".git"}
    for readme in READMES:
        for quoted in re.findall(r"`([^`\s]+)`", readme.read_text(encoding="utf-8")):
            path, _, test_name = quoted.rstrip(".,:;").partition("::")  # tests/x.py::test_y: el archivo y su prueba
            if "/" in path and path.split("/")[0] in tops and not any(ch in path for ch in "*<>…{}$="):
                generated = ("00_intro/model/", "results/", "wheels/", "mobile_client/web/vendor/")  # los crea make
                assert (ROOT / path).exists() or path.startswith(generated), \
                    f"{readme.relative_to(ROOT)} cita `{path}`, que no existe"
                if test_name:
                    assert f"def {test_name}(" in (ROOT / path).read_text(encoding="utf-8"), \
                        f"{readme.relative_to(ROOT)} cita la prueba `{quoted}`, que no existe"


def test_quoted_model_versions_are_current(card):
    """Una versión de modelo citada en la documentación es la de referencia de hoy (o se quita)."""
    for readme in [*READMES, ROOT / "00_intro" / "exploracion.ipynb"]:
        for version in set(re.findall(r"\bv-[0-9a-f]{12}\b", readme.read_text(encoding="utf-8"))):
            assert version == card["version"], (f"{readme.relative_to(ROOT)} cita la versión {version}; "
                                                f"la de referencia es {card['version']}")


# ------------------------------------------------------------------ Forma de los README de etapa

def main_path(text):
    """El camino principal: hasta «## Para saber más», sin bloques de código ni <details>."""
    text = text.split("\n## Para saber más", 1)[0]
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    return re.sub(r"<details>.*?</details>", " ", text, flags=re.S)


def words(text):
    return len(re.findall(r"[\wÀ-ÿ][\w'’.,:/@-]*", re.sub(r"<!--.*?-->", " ", text, flags=re.S)))


@pytest.mark.parametrize("readme", STAGE_READMES, ids=ids(STAGE_READMES))
def test_stage_readme_opens_with_what_you_will_learn(readme):
    lines = readme.read_text(encoding="utf-8").splitlines()
    box = []
    for line in lines[1:]:
        if box and not line.startswith(">"):
            break
        if line.startswith(">"):
            box.append(line)
        elif line.strip():
            break
    text = "\n".join(box)
    assert text.startswith("> **Aprenderás**"), f"{readme}: debe abrir con el recuadro «> **Aprenderás** …»"
    for part in ("**Preocupaciones de la charla:**", "**Tiempo:**", "**Necesitas:**", "**La orden:**"):
        assert part in text, f"{readme}: al recuadro le falta {part}"
    assert re.search("[①②③④⑤]", text), f"{readme}: el recuadro nombra las preocupaciones con ①–⑤"


@pytest.mark.parametrize("readme", STAGE_READMES, ids=ids(STAGE_READMES))
def test_stage_readme_main_path_is_short(readme):
    count = words(main_path(readme.read_text(encoding="utf-8")))
    print(f"\n{readme.relative_to(ROOT)}: {count} palabras en el camino principal")
    assert count <= MAIN_PATH_WORDS, \
        f"{readme}: {count} palabras (máximo {MAIN_PATH_WORDS}); lo demás va en «Para saber más»"


IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img[^>]+src=\"([^\"]+)\"")


@pytest.mark.parametrize("readme", READMES, ids=ids(READMES))
def test_every_picture_a_readme_shows_exists(readme):
    for match in IMAGE.finditer(readme.read_text(encoding="utf-8")):
        target = match[1] or match[2]
        if "://" in target:
            continue
        assert (readme.parent / target).is_file(), f"{readme.relative_to(ROOT)} muestra {target}, que no existe"

