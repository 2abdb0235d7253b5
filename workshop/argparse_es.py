"""argparse en español: la ayuda y los errores de uso de todas las órdenes del taller (también la etapa 03).

argparse marca sus textos para traducirlos con gettext (`_("usage: ")`, `_("options")`…), pero
Python no trae traducción al español. `CATALOG` es esa traducción, con las mismas claves (msgid)
que usa argparse, y `SpanishArgumentParser` la activa solo mientras construye el analizador,
escribe la ayuda o analiza los argumentos; fuera de él, argparse queda como estaba. Un texto que
falte en el catálogo saldría en inglés, no roto: las pruebas lo vigilan en `--help` y en los errores.
"""

import argparse
from contextlib import contextmanager

CATALOG = {
    "usage: ": "uso: ",
    "positional arguments": "argumentos",
    "options": "opciones",
    "show this help message and exit": "muestra esta ayuda y termina",
    "show program's version number and exit": "muestra la versión del programa y termina",
    "%(prog)s: error: %(message)s\n": "%(prog)s: error: %(message)s\n",
    "argument %(argument_name)s: %(message)s": "argumento %(argument_name)s: %(message)s",
    "unrecognized arguments: %s": "argumentos desconocidos: %s",
    "the following arguments are required: %s": "faltan estos argumentos obligatorios: %s",
    "one of the arguments %s is required": "hace falta uno de estos argumentos: %s",
    "not allowed with argument %s": "no se puede usar junto con %s",
    "ignored explicit argument %r": "no admite valor (se escribió «%s»)",
    "expected one argument": "le falta su valor",
    "expected at most one argument": "admite como mucho un valor",
    "expected at least one argument": "necesita al menos un valor",
    "ambiguous option: %(option)s could match %(matches)s": "opción ambigua: %(option)s puede ser %(matches)s",
    "unexpected option string: %s": "opción inesperada: %s",
    "invalid %(type)s value: %(value)r": "«%(value)s» no es un valor válido",
    "invalid choice: %(value)r (choose from %(choices)s)": "«%(value)s» no es válido (elige entre %(choices)s)",
}
PLURALS = {"expected %s argument": ("necesita %s valor", "necesita %s valores")}


def gettext(message):
    return CATALOG.get(message, message)


def ngettext(singular, plural, count):
    spanish = PLURALS.get(singular)
    if spanish:
        return spanish[count != 1]
    return singular if count == 1 else plural


@contextmanager
def spanish():
    """Mientras dura, argparse traduce con este catálogo (lo busca como `argparse._` y `argparse.ngettext`)."""
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = gettext, ngettext
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


class SpanishArgumentParser(argparse.ArgumentParser):
    """Un ArgumentParser normal cuya ayuda y cuyos errores de uso salen en español (código 2)."""

    def __init__(self, *args, **kwargs):
        with spanish():
            super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):
        with spanish():
            return super().parse_args(args, namespace)

    def parse_known_args(self, args=None, namespace=None):
        with spanish():
            return super().parse_known_args(args, namespace)

    def format_usage(self):
        with spanish():
            return super().format_usage()

    def format_help(self):
        with spanish():
            return super().format_help()

    def error(self, message):
        with spanish():
            super().error(message)
