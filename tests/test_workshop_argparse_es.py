"""workshop.argparse_es: la ayuda y los errores de uso de argparse, en español, y solo en sus analizadores."""

import argparse

import pytest

from workshop.argparse_es import CATALOG, SpanishArgumentParser, gettext, ngettext


def parser():
    made = SpanishArgumentParser(prog="orden", description="Una orden de prueba.")
    made.add_argument("nombre", help="a quién")
    made.add_argument("--veces", type=int, default=1, help="cuántas veces")
    made.add_argument("--modo", choices=["rapido", "lento"], help="cómo")
    made.add_argument("--par", nargs=2, help="dos valores")
    return made


def usage_error(argv, capsys):
    with pytest.raises(SystemExit) as raised:
        parser().parse_args(argv)
    assert raised.value.code == 2
    return capsys.readouterr().err


def test_help_is_in_spanish(capsys):
    with pytest.raises(SystemExit) as raised:
        parser().parse_args(["--help"])
    assert raised.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("uso: orden")
    assert "argumentos:" in text and "opciones:" in text and "muestra esta ayuda y termina" in text
    assert "usage" not in text and "show this help" not in text


@pytest.mark.parametrize(("argv", "expected"), [
    ([], "orden: error: faltan estos argumentos obligatorios: nombre"),
    (["ana", "--veces", "dos"], "argumento --veces: «dos» no es un valor válido"),
    (["ana", "--modo", "medio"], "argumento --modo: «medio» no es válido (elige entre 'rapido', 'lento')"),
    (["ana", "--veces"], "argumento --veces: le falta su valor"),
    (["ana", "--par", "1"], "argumento --par: necesita 2 valores"),
    (["ana", "--otra"], "orden: error: argumentos desconocidos: --otra"),
])
def test_usage_errors_are_spanish_sentences_with_exit_code_2(argv, expected, capsys):
    assert expected in usage_error(argv, capsys)


def test_argparse_is_left_as_it_was_outside_the_spanish_parser(capsys):
    plain = argparse.ArgumentParser(prog="plain")
    plain.add_argument("name")
    parser().parse_args(["ana"])
    with pytest.raises(SystemExit):
        plain.parse_args([])
    assert "the following arguments are required: name" in capsys.readouterr().err
    assert "usage: plain" in plain.format_usage()


def test_the_catalog_falls_back_to_the_original_text():
    assert gettext("options") == CATALOG["options"] == "opciones"
    assert gettext("un texto sin traducir") == "un texto sin traducir"
    assert ngettext("expected %s argument", "expected %s arguments", 1) == "necesita %s valor"
    assert ngettext("expected %s argument", "expected %s arguments", 3) == "necesita %s valores"
    assert ngettext("%s thing", "%s things", 2) == "%s things"
