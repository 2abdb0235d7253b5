"""El plan de 3 horas (docs/guia-instructor.md y README.es.md) se sostiene con margen.

El registro docs/cifras/plan.json guarda lo medido por etapa (lectura + órdenes + un ejercicio) y el
hueco que el plan le da. Estas pruebas, sin servidores, comprueban que cada hueco cubre lo medido, que
quedan al menos 20′ de margen, que las horas de las tablas suman, que la lectura registrada sigue
siendo la de los README de hoy (si un README crece mucho, hay que volver a medir) y que lo opcional
está marcado como tal en los README de etapa.
"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN = json.loads((ROOT / "docs" / "cifras" / "plan.json").read_text(encoding="utf-8"))["figures"]
GUIDE = ROOT / "docs" / "guia-instructor.md"
STAGES = {"etapa00": ("00_intro/README.md", "00"), "etapa01": ("01_flask_api/README.md", "01"),
          "etapa02": ("02_docker/README.md", "02"), "etapa03": ("03_lightsail/README.md", "03"),
          "etapa04": ("04_esquemas/README.md", "04"), "app": ("mobile_client/README.md", "La app")}
MIN_MARGIN = 20
WORDS_PER_MINUTE = 200
READING_TOLERANCE_MIN = 1.5  # unas 300 palabras: más que eso, y el registro ya no describe los README


def main_path(text):
    """El camino principal, contado como en tests/test_docs.py: hasta «## Para saber más», sin código ni <details>."""
    text = text.split("\n## Para saber más", 1)[0]
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    return re.sub(r"<details>.*?</details>", " ", text, flags=re.S)


def words(text):
    return len(re.findall(r"[\wÀ-ÿ][\w'’.,:/@-]*", re.sub(r"<!--.*?-->", " ", text, flags=re.S)))


def test_each_slot_covers_what_the_stage_measured_and_the_margin_is_real():
    for stage in STAGES:
        total = PLAN[f"{stage}.lectura_min"] + PLAN[f"{stage}.ordenes_min"] + PLAN[f"{stage}.ejercicio_min"]
        assert abs(total - PLAN[f"{stage}.total_min"]) < 0.15, stage
        assert PLAN[f"{stage}.hueco_min"] >= PLAN[f"{stage}.total_min"], \
            f"{stage}: el hueco ({PLAN[f'{stage}.hueco_min']}′) no cubre lo medido ({PLAN[f'{stage}.total_min']}′)"
    slots = sum(PLAN[f"{stage}.hueco_min"] for stage in STAGES)
    assert slots == PLAN["etapas.hueco_min"]
    margin = PLAN["sesion_min"] - PLAN["inicio_min"] - PLAN["descanso_min"] - slots
    assert margin == PLAN["margen_min"] and margin >= MIN_MARGIN, f"margen de {margin}′ (mínimo {MIN_MARGIN}′)"


def table_rows(text, header):
    """Las filas (hora, minutos del hueco) de la tabla markdown que empieza por `header`."""
    block = text[text.index(header):].split("\n\n", 1)[0]
    rows = []
    for line in block.splitlines()[2:]:
        cells = [re.sub(r"<!--.*?-->", "", cell).strip() for cell in line.strip("|").split("|")]
        clock = re.fullmatch(r"(\d):(\d\d)", cells[0])
        if clock:
            minutes = sum(int(m) for m in re.findall(r"(\d+)′", cells[2]))
            rows.append((int(clock[1]) * 60 + int(clock[2]), minutes))
    return rows


def assert_clock_adds_up(rows, where):
    assert rows, f"{where}: no encuentro la tabla del plan"
    for (start, length), (following, _) in zip(rows, rows[1:], strict=False):
        assert start + length == following, f"{where}: {start // 60}:{start % 60:02d} + {length}′ ≠ siguiente fila"
    last_start, last_length = rows[-1]
    assert last_start + last_length == PLAN["sesion_min"], f"{where}: el plan no acaba a las 3:00"


def test_the_plan_tables_add_up_to_three_hours():
    guide = GUIDE.read_text(encoding="utf-8")
    assert_clock_adds_up(table_rows(guide, "| hora | etapa | hueco | medido"), "guía, el plan")
    assert_clock_adds_up(table_rows(guide, "| hora | etapa | hueco |\n"), "guía, el orden alternativo")
    readme = (ROOT / "README.es.md").read_text(encoding="utf-8")
    assert_clock_adds_up(table_rows(readme, "| hora | etapa | tiempo | la orden |"), "README.es.md")


def test_the_recorded_reading_time_is_still_that_of_the_readmes():
    path = (ROOT / "README.es.md").read_text(encoding="utf-8")
    sections = {m[1]: m[0] for m in re.finditer(r"(?ms)^### (00|01|02|03|04|La app)\b.*?(?=^##)", path)}
    for stage, (readme, section) in STAGES.items():
        count = words(main_path((ROOT / readme).read_text(encoding="utf-8"))) + words(main_path(sections[section]))
        minutes = count / WORDS_PER_MINUTE
        assert abs(minutes - PLAN[f"{stage}.lectura_min"]) <= READING_TOLERANCE_MIN, \
            (f"{readme}: hoy se lee en {minutes:.1f}′ y plan.json dice {PLAN[f'{stage}.lectura_min']}′: vuelve a "
             "medir el plan (ver la «nota» de docs/cifras/plan.json) y actualiza la guía")


def test_what_is_optional_says_so_in_the_stage_readmes():
    def section(path, title):
        text = (ROOT / path).read_text(encoding="utf-8")
        return text[text.index(title):][:600]
    assert "**Opcional**" in section("00_intro/README.md", "## El cuaderno")
    assert "**Opcional**" in section("02_docker/README.md", "## Varias réplicas detrás de nginx")
    assert "**Opcional**" in section("02_docker/bench/README.md", "# Benchmark")
    stage_05 = ROOT / "05_mantenimiento" / "README.md"
    guide = GUIDE.read_text(encoding="utf-8")
    assert "**para después del taller**" in guide and "05" in guide
    if stage_05.exists():
        assert "después del taller" in stage_05.read_text(encoding="utf-8")[:1500], \
            "05_mantenimiento/README.md: di al principio que es para después del taller"
