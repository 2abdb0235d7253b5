"""`make bench` (`.venv/bin/python -m bench`): mide peticiones/s y latencia con wrk en 127.0.0.1.

Variables de entorno (todas opcionales):
    BENCH_SECONDS   segundos por medida (5)
    BENCH_THREADS   hilos de wrk, como mucho uno por conexión (2)
    BENCH_CONFIGS   configuraciones separadas por comas (todas); «ci» = gevent,fastapi
    BENCH_OUTPUT    carpeta de resultados (results/)
    BENCH_RECORD    el registro de las cifras (docs/cifras/bench.json; con BENCH_OUTPUT, allí)
    BENCH_OVERLOAD_RECORD  el de la fila `lightsail` (docs/cifras/sobrecarga.json; con BENCH_OUTPUT, allí)

Necesita lo de desarrollo (psutil, matplotlib, FastAPI): `make bench` lo instala si falta.
"""

import argparse
import sys

from workshop.argparse_es import SpanishArgumentParser


def main(argv=None):
    SpanishArgumentParser(prog="python -m bench", description=__doc__,
                          formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    try:
        from .run import main as run
    except ModuleNotFoundError as error:
        sys.exit(f"Error: Falta el paquete {error.name}: instálalo con `make setup-dev` (o usa `make bench`, "
                 "que lo instala).")
    run()


if __name__ == "__main__":
    main()
