"""Línea de órdenes de la etapa 05: `python -m maintenance <orden>` (ver `--help` de cada una).

    judge       el juez del canario: sombra → 5 % → 25 % → promover, o retirar, con cifras de Prometheus
    candidates  fabrica las dos candidatas de la historia (una mala que pasa la ficha, una reentrenada)
    demo        la historia entera con carga constante y Prometheus de verdad (`make demo-5`)
    drift       PSI por variable y del riesgo frente a la referencia de la ficha
    drill       simulacro: tráfico desplazado (población mayor, glucosa en mmol/L) y las alertas que saltan
    quality     calidad por versión cuando llegan los resultados (ROC AUC, Brier, calibración)

Los umbrales de todas están en 05_mantenimiento/umbrales.toml.
"""

import argparse
import importlib
import importlib.util
import sys

from workshop.argparse_es import SpanishArgumentParser

# orden → (módulo de la etapa con su `main(argv)`, ayuda de una línea)
COMMANDS = {
    "judge": ("judge", "El juez del canario: promueve o retira la candidata con cifras de Prometheus."),
    "candidates": ("candidates", "Fabrica las candidatas de la historia: una mala (≈ 0,99 para todas) y una "
                                 "reentrenada."),
    "demo": ("demo", "La historia entera con carga constante y Prometheus (make demo-5)."),
    "drift": ("drift", "PSI por variable y del riesgo frente a la referencia de la ficha."),
    "drill": ("drill", "Simulacro de deriva: tráfico desplazado y las alertas que saltan."),
    "quality": ("quality", "Calidad por versión con los resultados que van llegando."),
}


def available():
    """Las órdenes cuyo módulo existe (las de otras partes de la etapa pueden faltar todavía)."""
    return {name: entry for name, entry in COMMANDS.items()
            if importlib.util.find_spec(f"{__package__ or 'maintenance'}.{entry[0]}") is not None}


def parser(commands):
    top = SpanishArgumentParser(prog="python -m maintenance", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Órdenes:\n" + "\n".join(f"  {name:<11} {text}"
                                                               for name, (_, text) in commands.items()))
    top.add_argument("command", choices=list(commands), metavar="orden", help="una de: " + ", ".join(commands))
    top.add_argument("args", nargs=argparse.REMAINDER, metavar="…", help="argumentos de la orden (--help)")
    return top


def main(argv=None):
    commands = available()
    args = parser(commands).parse_args(argv)
    module = importlib.import_module(f"{__package__ or 'maintenance'}.{commands[args.command][0]}")
    return module.main(args.args)


if __name__ == "__main__":
    sys.exit(main())
