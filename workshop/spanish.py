"""Números, duraciones y fechas a la española: lo que ve quien usa el taller.

    number(1234.5, 1)     → «1.234,5»   (punto de miles, coma decimal)
    scientific(2.7e-07)   → «2,7e-07»
    duration(0.00083)     → «0,83 ms»;  duration(2.345) → «2,35 s»;  duration(65) → «1 min 05 s»
    date("2026-11-25T12:12:00+00:00") → «2026-11-25 12:12 UTC» (ISO 8601, como en todo el taller)
"""

from datetime import datetime

MISSING = "—"


def number(value, decimals=2):
    """Un número con formato español: 1.234,5 (punto de miles, coma decimal). None → «—»."""
    if value is None:
        return MISSING
    return format(value, f",.{decimals}f").translate(str.maketrans(",.", ".,"))


def scientific(value):
    """Un número muy pequeño en notación científica con coma decimal: 2,7e-07."""
    return MISSING if value is None else f"{value:.1e}".replace(".", ",")


def duration(seconds):
    """Una duración legible: «0,83 ms», «45,3 ms», «850 ms», «2,35 s», «1 min 05 s». None → «—»."""
    if seconds is None:
        return MISSING
    if seconds < 1:
        ms = seconds * 1000
        return f"{number(ms, 2 if ms < 10 else 1 if ms < 100 else 0)} ms"
    if seconds < 60:
        return f"{number(seconds, 2)} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


def date(iso):
    """Una fecha ISO 8601 (UTC) como «2026-11-25 12:12 UTC»; un texto que no lo es, tal cual."""
    try:
        return datetime.fromisoformat(str(iso)).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(iso)


def after_colon(sentence):
    """Una frase que sigue a dos puntos empieza en minúscula (salvo siglas: ONNX, API…)."""
    if len(sentence) > 1 and sentence[0].isupper() and not sentence[1].isupper():
        return sentence[0].lower() + sentence[1:]
    return sentence
