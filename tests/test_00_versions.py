"""Pruebas de las versiones del modelo: listar, publicar, volver atrás, podar y recargar gunicorn, con
escrituras atómicas (el puntero nunca se reescribe en sitio; una versión nunca aparece a medias).

Se entrena UNA versión real (en una carpeta temporal) y se clona con otros nombres: los clones pasan
la comprobación de la API (sha256, motor, predicción de prueba) igual que el original.
"""

import builtins
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import requests

from diabetes_model import model_card, train, versions
from serving import reload
from support import ROOT, running_gunicorn, stop

QUIET = lambda *_: None  # noqa: E731
NAMES = ["v-000000000001", "v-000000000002", "v-000000000003"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Una carpeta de versión real, entrenada una vez para todo el módulo."""
    root = tmp_path_factory.mktemp("entrenado")
    card = train.train(output_dir=root, log=QUIET)
    return root / "versions" / card["version"]


def add_version(root, source, name, day):
    """Clona `source` como la versión `name`, creada el día `day` de enero de 2026."""
    target = root / "versions" / name
    shutil.copytree(source, target)
    path = target / "model.json"
    path.chmod(0o644)
    card = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**card, "version": name, "created_at": f"2026-01-{day:02d}T10:00:00+00:00"}),
                    encoding="utf-8")
    return target


@pytest.fixture()
def root(tmp_path, trained):
    """Una carpeta del modelo con tres versiones; publicada la 2 y, como anterior, la 1."""
    folder = tmp_path / "modelo"
    for day, name in enumerate(NAMES, start=1):
        add_version(folder, trained, name, day)
    versions.write_pointer(folder, NAMES[1], previous=NAMES[0])
    return folder


def pointer(root):
    return json.loads((root / "live.json").read_text(encoding="utf-8"))


def cli(root, *args, capsys):
    """La orden del mantenedor en este proceso: (código, salida, error). `reload` es la de la etapa 02."""
    main = reload.main if args[:1] == ("reload",) else versions.main
    code = main(["--model-dir", str(root), *args[1:]] if args[:1] == ("reload",) else ["--model-dir", str(root), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_spanish_sentence(error):
    assert error.startswith("Error: ") and len(error.strip().splitlines()) == 1, error
    assert "Traceback" not in error


def break_version(root, name):
    """Daña el grafo ONNX de una versión: su sha256 ya no es el de la ficha."""
    path = root / "versions" / name / "model.onnx"
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"\0")


# ------------------------------------------------------------------ list

def test_list_shows_dates_roc_auc_the_live_version_and_the_previous_one(root):
    result = subprocess.run([sys.executable, "-m", "diabetes_model.versions", "--model-dir", str(root), "list"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [next(line for line in lines if line.strip().startswith(name)) for name in NAMES]
    assert [lines.index(row) for row in rows] == sorted(lines.index(row) for row in rows), "de antigua a reciente"
    assert "2026-01-01" in rows[0] and "anterior" in rows[0]
    assert "viva" in rows[1] and "viva" not in rows[2] and "anterior" not in rows[2]
    assert "0,8" in rows[1] and "0.8" not in rows[1], "ROC AUC con coma decimal"


# ------------------------------------------------------------------ publish

def test_publish_checks_the_version_and_moves_the_pointer(root, capsys):
    code, out, _ = cli(root, "publish", NAMES[2], capsys=capsys)
    assert code == 0 and "Publicada la versión" in out
    published = pointer(root)
    assert set(published) == {"version", "previous", "published_at"}
    assert (published["version"], published["previous"]) == (NAMES[2], NAMES[1])
    before = (root / "live.json").read_bytes()
    code, out, _ = cli(root, "publish", NAMES[2], capsys=capsys)
    assert code == 0 and "ya es la publicada" in out
    assert (root / "live.json").read_bytes() == before


@pytest.mark.parametrize(("name", "message"), [("v-ffffffffffff", "no existe la versión"),
                                               ("../../etc", "no es un nombre de versión válido"),
                                               (NAMES[2] + "\n", "no es un nombre de versión válido")])
def test_publish_refuses_an_unknown_or_invalid_version_in_one_sentence(root, capsys, name, message):
    before = (root / "live.json").read_bytes()
    code, _, error = cli(root, "publish", name, capsys=capsys)
    assert code == 1 and message in error
    assert_one_spanish_sentence(error)
    assert (root / "live.json").read_bytes() == before


def test_publish_refuses_a_broken_version(root, capsys):
    break_version(root, NAMES[2])
    before = (root / "live.json").read_bytes()
    code, _, error = cli(root, "publish", NAMES[2], capsys=capsys)
    assert code == 1 and f"la versión {NAMES[2]} no se puede servir" in error and "sha256" in error
    assert_one_spanish_sentence(error)
    assert (root / "live.json").read_bytes() == before


def test_publish_refuses_a_version_folder_that_is_a_symlink(root, capsys, tmp_path):
    (root / "versions" / "v-enlace").symlink_to(root / "versions" / NAMES[2], target_is_directory=True)
    before = (root / "live.json").read_bytes()
    code, _, error = cli(root, "publish", "v-enlace", capsys=capsys)
    assert code == 1 and "enlace simbólico" in error
    assert (root / "live.json").read_bytes() == before


def test_publish_verifies_the_onnx_and_never_unpickles_the_joblib(root, capsys, monkeypatch):
    """Solo se sirve ONNX: publicar no carga el pickle (cargarlo ejecuta código), aunque esté dañado."""
    import joblib

    loaded = []
    monkeypatch.setattr(joblib, "load", lambda *args, **kwargs: loaded.append(args))
    path = root / "versions" / NAMES[2] / "model.joblib"
    path.chmod(0o644)
    path.write_bytes(b"un pickle que nadie debe abrir")
    code, out, error = cli(root, "publish", NAMES[2], capsys=capsys)
    assert code == 0, error
    assert loaded == [] and pointer(root)["version"] == NAMES[2]


# ------------------------------------------------------------------ rollback

def test_rollback_goes_to_the_previous_version_and_back(root, capsys):
    code, out, _ = cli(root, "rollback", capsys=capsys)
    assert code == 0 and "Vuelta atrás" in out
    assert (pointer(root)["version"], pointer(root)["previous"]) == (NAMES[0], NAMES[1])
    assert cli(root, "rollback", capsys=capsys)[0] == 0
    assert (pointer(root)["version"], pointer(root)["previous"]) == (NAMES[1], NAMES[0])
    assert cli(root, "rollback", NAMES[2], capsys=capsys)[0] == 0
    assert (pointer(root)["version"], pointer(root)["previous"]) == (NAMES[2], NAMES[1])


def test_rollback_refuses_a_broken_previous_version_or_a_missing_one(root, capsys):
    break_version(root, NAMES[0])
    before = (root / "live.json").read_bytes()
    code, _, error = cli(root, "rollback", capsys=capsys)
    assert code == 1 and "no se puede servir" in error
    assert_one_spanish_sentence(error)
    assert (root / "live.json").read_bytes() == before
    versions.write_pointer(root, NAMES[1], previous=None)
    code, _, error = cli(root, "rollback", capsys=capsys)
    assert code == 1 and "no tiene anterior" in error
    assert_one_spanish_sentence(error)


# ------------------------------------------------------------------ prune

def test_prune_keeps_the_newest_plus_the_live_and_previous_versions(tmp_path, trained, capsys):
    root = tmp_path / "modelo"
    names = [f"v-00000000000{day}" for day in range(1, 8)]
    for day, name in enumerate(names, start=1):
        add_version(root, trained, name, day)
    versions.write_pointer(root, names[0], previous=names[1])  # las dos más antiguas, protegidas
    stale, fresh = root / "versions" / ".v-x.abc.tmp", root / "versions" / ".v-y.def.tmp"
    stale.mkdir(), fresh.mkdir()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))

    code, out, _ = cli(root, "prune", "--keep", "2", capsys=capsys)
    assert code == 0 and "Versiones borradas" in out
    left = sorted(path.name for path in (root / "versions").iterdir() if path.name != ".lock")
    assert left == sorted([".v-y.def.tmp", names[0], names[1], names[5], names[6]])
    assert pointer(root)["version"] == names[0]


# ------------------------------------------------------------------ reload (etapa 02: make reload = serving.reload)

def test_reload_without_a_server_says_so_in_one_sentence(root, tmp_path):
    env = {**os.environ, "PIDFILE": str(tmp_path / "no-existe.pid")}
    result = subprocess.run([sys.executable, "-m", "serving.reload", "--model-dir", str(root)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "no hay ninguna API con gunicorn en marcha" in result.stderr
    assert_one_spanish_sentence(result.stderr)


def test_reload_never_signals_a_process_that_is_not_gunicorn(root, tmp_path, monkeypatch, capsys):
    other = subprocess.Popen(["sleep", "30"])
    try:
        pidfile = tmp_path / "viejo.pid"
        pidfile.write_text(f"{other.pid}\n")
        monkeypatch.setenv("PIDFILE", str(pidfile))
        code, _, error = cli(root, "reload", capsys=capsys)
        assert code == 3 and "no es un maestro de gunicorn" in error
        assert_one_spanish_sentence(error)
        assert other.poll() is None, "SIGHUP habría terminado el proceso"
    finally:
        stop(other)


def test_reload_checks_the_version_before_looking_for_the_server(root, tmp_path, monkeypatch, capsys):
    break_version(root, NAMES[1])
    monkeypatch.setenv("PIDFILE", str(tmp_path / "no-existe.pid"))
    code, _, error = cli(root, "reload", capsys=capsys)
    assert code == 1 and "no se puede servir" in error


@pytest.mark.slow
def test_publish_and_reload_switch_a_running_gunicorn(root, tmp_path):
    pidfile = tmp_path / "gunicorn.pid"
    env = {"MODEL_DIR": str(root), "PIDFILE": str(pidfile), "WEB_CONCURRENCY": "1"}
    commands = ([sys.executable, "-m", "diabetes_model.versions", "--model-dir", str(root), "publish", NAMES[2]],
                [sys.executable, "-m", "serving.reload", "--model-dir", str(root)])
    with running_gunicorn(tmp_path, env=env) as (base_url, master):
        assert requests.get(base_url + "/health", timeout=5).json()["model_version"] == NAMES[1]
        assert pidfile.read_text().strip() == str(master.pid)
        for command in commands:
            result = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                                    text=True, timeout=60)
            assert result.returncode == 0, result.stderr
        assert "SIGHUP" in result.stdout
        deadline = time.monotonic() + 30
        while requests.get(base_url + "/health", timeout=5).json()["model_version"] != NAMES[2]:
            assert time.monotonic() < deadline, "gunicorn no sirvió la versión nueva tras la recarga"
            time.sleep(0.2)
        assert master.poll() is None


# ------------------------------------------------------------------ Escrituras atómicas

def test_the_pointer_is_replaced_never_rewritten_in_place(root, monkeypatch, capsys):
    opened = []
    real_open = builtins.open

    def spy(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            opened.append(os.path.basename(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    assert cli(root, "publish", NAMES[2], capsys=capsys)[0] == 0
    assert "live.json" not in opened and any(name.startswith(".live.json.") for name in opened)


def test_a_pointer_write_that_fails_leaves_the_old_pointer_whole(root, monkeypatch, capsys):
    before = (root / "live.json").read_bytes()

    def power_cut(source, target):
        raise OSError(28, "No queda espacio en el dispositivo")

    monkeypatch.setattr(model_card.os, "replace", power_cut)
    code, _, error = cli(root, "publish", NAMES[2], capsys=capsys)
    assert code == 1 and "No queda espacio" in error
    assert (root / "live.json").read_bytes() == before
    assert sorted(path.name for path in root.iterdir()) == ["live.json", "versions"], "sin temporales sueltos"


def test_a_version_folder_never_appears_half_written(tmp_path):
    target = tmp_path / "versions" / "v-aaaaaaaaaaaa"

    def interrupted(folder):
        (folder / "model.json").write_text("{}")
        assert not target.exists(), "mientras se escribe, la versión no existe con su nombre"
        raise KeyboardInterrupt  # un Ctrl+C a mitad

    with pytest.raises(KeyboardInterrupt):
        versions.write_version(tmp_path, target.name, interrupted)
    assert list((tmp_path / "versions").iterdir()) == []

    folder, created = versions.write_version(tmp_path, target.name, lambda f: (f / "model.json").write_text("{}"))
    assert created and folder == target
    assert target.stat().st_mode & 0o777 == 0o755, "legible por la API aunque corra con otro usuario"
    assert (target / "model.json").stat().st_mode & 0o777 == 0o444, "los archivos de una versión son de solo lectura"
    untouched = versions.write_version(tmp_path, target.name, lambda f: pytest.fail("no debe reescribirse"))
    assert untouched == (target, False)


# ------------------------------------------------------------------ make demo-0

def test_summary_shows_the_live_version_card(root):
    result = subprocess.run([sys.executable, "-m", "diabetes_model.summary", str(root)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"versión {NAMES[1]}" in result.stdout and "Paridad ONNX" in result.stdout
    (root / "live.json").unlink()
    result = subprocess.run([sys.executable, "-m", "diabetes_model.summary", str(root)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "make model" in result.stderr and "Traceback" not in result.stderr
