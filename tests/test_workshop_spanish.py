"""workshop.spanish: los números, duraciones y fechas que ve una persona, a la española."""

import pytest

from workshop.spanish import MISSING, after_colon, date, duration, number, scientific


@pytest.mark.parametrize(("value", "decimals", "shown"), [
    (1234.5, 1, "1.234,5"), (1234567.891, 2, "1.234.567,89"), (0.5, 1, "0,5"), (999, 0, "999"),
    (1000, 0, "1.000"), (-1234.5, 1, "-1.234,5"), (0.125, 2, "0,12"), (None, 2, MISSING)])
def test_number_uses_the_thousands_point_and_the_decimal_comma(value, decimals, shown):
    assert number(value, decimals) == shown


def test_scientific_keeps_one_decimal_with_a_comma():
    assert scientific(2.7e-07) == "2,7e-07"
    assert scientific(3.14159e-5) == "3,1e-05"
    assert scientific(None) == MISSING


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.00083, "0,83 ms"), (0.0453, "45,3 ms"), (0.85, "850 ms"), (2.345, "2,35 s"), (65, "1 min 05 s"),
    (3600, "60 min 00 s"), (None, MISSING)])
def test_duration_picks_the_unit_a_person_reads(seconds, shown):
    assert duration(seconds) == shown


def test_date_is_iso_8601_in_utc_and_leaves_other_text_alone():
    assert date("2026-11-25T12:12:00+00:00") == "2026-11-25 12:12 UTC"
    assert date("ayer") == "ayer"
    assert date(None) == "None"


@pytest.mark.parametrize(("sentence", "shown"), [
    ("El modelo no está", "el modelo no está"), ("ONNX no carga", "ONNX no carga"), ("a", "a"), ("", "")])
def test_after_colon_lowers_the_first_letter_but_not_an_acronym(sentence, shown):
    assert after_colon(sentence) == shown
