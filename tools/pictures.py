"""Regenera las imágenes que muestran los README (docs/img/): `make pictures`.

    .venv/bin/python -m tools.pictures      # desde la raíz del repositorio

    app-formulario.png, app-riesgo-alto.png, app-riesgo-bajo.png, app-sin-conexion.png
        la app a 360 px de ancho en Chromium (el de Debian, /usr/bin/chromium), servida por Gunicorn
        en 127.0.0.1 con el modelo publicado; la última, sin red y con el modelo en el dispositivo
        (necesita `make web`)
    api-docs.png    /docs (Swagger UI en español) tras «Probar» y «Ejecutar» con la paciente de ejemplo
        (necesita `make web`)
    bench.png       dibujada desde docs/cifras/bench.json (el registro que citan los README);
                    sin registro, la de results/ del último `make bench` o la variante corta
    esquemas.png    la de results/ del último `make demo-4`; si no hay, una demo corta
    05-canario.png, 05-deriva.png   dibujadas desde docs/cifras/mantenimiento.json (`make demo-5 RECORD=1`)
    paridad.png     la tabla de `make parity` (tools/parity.py, la misma medida), dibujada en Chromium

Es una orden de tools/: recorre varias etapas (puede importar cualquiera; ninguna la importa). Lo
que arranca (Gunicorn, el benchmark, la demo, Redis) lo para por su PID, también si algo falla; cada
paso tiene un tiempo máximo. Las variantes cortas escriben en una carpeta temporal, no en results/.
"""

import csv
import html
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image

from serving.launch import running_api
from tools import parity
from tools.parity import CHROMIUM, CHROMIUM_ARGS, ROOT
from workshop.environment import shared, shared_path
from workshop.processes import log_tail, port_in_use, start, stop
from workshop.spanish import number

IMG = ROOT / "docs" / "img"
RESULTS = ROOT / "results"
BENCH_RECORD = ROOT / "docs" / "cifras" / "bench.json"
WEB = ROOT / "mobile_client" / "web"
SAMPLES = ROOT / "mobile_client" / "pacientes.csv"
PHONE = {"width": 360, "height": 740}
SCALE = 2
READY = "#offline-status[data-state=ready]"
SETTLED = "#offline-status:not([data-state=preparing]):not([data-state=off])"
STEP_SECONDS = 600  # lo máximo que espera cada paso largo (benchmark, demo, paridad)


class PictureError(Exception):
    """Una imagen que no se pudo generar; el mensaje, en español, dice por qué."""


def report(name, what):
    path = IMG / name
    print(f"docs/img/{name}: {number(path.stat().st_size / 1000, 0)} KB · {what}", flush=True)


# ------------------------------------------------------------------ La app en Chromium


def patients():
    """Las pacientes de ejemplo de pacientes.csv: [(nombre, {variable: texto})]."""
    with SAMPLES.open(encoding="utf-8") as handle:
        return [(row.pop("paciente"), row) for row in csv.DictReader(handle)]


def by_risk(api_url):
    """Las pacientes de ejemplo de menos a más riesgo según la API: [(probabilidad, nombre, valores, respuesta)]."""
    answers = []
    for name, values in patients():
        body = {key: float(value) for key, value in values.items()}
        answer = requests.post(api_url + "/v1/predict", json=body, timeout=10).json()
        answers.append((answer["probability"], name, values, answer))
    return sorted(answers, key=lambda item: item[0])


def open_app(page, api_url):
    page.goto(api_url + "/app/")
    page.locator("#patient-form").wait_for(state="visible")


def submit(page, values, where):
    """Rellena el formulario, pulsa «Calcular riesgo» y espera el resultado calculado en `where`."""
    for name, value in values.items():
        page.fill(f"#f-{name}", value)
    page.click("#submit")
    page.locator(f"#result:not([hidden])[data-where={where}]").wait_for(state="visible")
    page.wait_for_timeout(400)  # la transición de la barra de probabilidad


def band(page, top_selector, bottom_selector):
    """Un trozo de la página a todo lo ancho: del borde superior de uno al inferior de otro (px de la página)."""
    scroll = page.evaluate("window.scrollY")
    top = page.locator(top_selector).bounding_box()["y"] + scroll
    bottom = page.locator(bottom_selector).bounding_box()
    end = bottom["y"] + scroll + bottom["height"]
    return Image.open(io.BytesIO(page.screenshot(full_page=True, clip={
        "x": 0, "y": max(top - 12, 0), "width": PHONE["width"], "height": end + 12 - max(top - 12, 0)})))


def result_shot(page, name):
    """Lo que importa del resultado en una imagen: la cabecera con el estado de la conexión y, tras un
    corte marcado con una línea, del botón «Calcular riesgo» al final de la tarjeta del resultado."""
    head = band(page, ".app-bar", "#status")
    tail = band(page, "#submit", "#result")
    picture = Image.new("RGB", (head.width, head.height + tail.height + 2 * SCALE), "#c9d3dd")
    picture.paste(head, (0, 0))
    picture.paste(tail, (0, head.height + 2 * SCALE))
    save(picture, name)


def save(picture, name):
    """PNG con paleta (256 colores): la interfaz se ve igual y el archivo ocupa mucho menos."""
    picture.convert("RGB").quantize(256).save(IMG / name, optimize=True)


def wait_offline_ready(page):
    """El modelo comprobado, el motor guardado y el service worker al mando de la página (como la prueba PWA)."""
    page.locator(SETTLED).wait_for(state="attached", timeout=120_000)
    state = page.get_attribute("#offline-status", "data-state")
    if state != "ready":
        raise PictureError(f"el modo sin conexión no está listo ({page.text_content('#offline-status')}); "
                           "instálalo con `make web`")
    deadline = time.monotonic() + 10
    while not page.evaluate("Boolean(navigator.serviceWorker.controller)"):
        if time.monotonic() > deadline:
            raise PictureError("el service worker no tomó el control de la página")
        time.sleep(0.1)


def app_pictures(browser, api_url):
    ranked = by_risk(api_url)
    low, middle, high = ranked[0], ranked[len(ranked) // 2], ranked[-1]
    if high[3]["prediction"] != 1 or low[3]["prediction"] != 0:
        raise PictureError("pacientes.csv no tiene una paciente de riesgo alto y otra de riesgo bajo")
    context = browser.new_context(viewport=PHONE, device_scale_factor=SCALE, locale="es-ES")
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        open_app(page, api_url)
        save(Image.open(io.BytesIO(page.screenshot())), "app-formulario.png")
        report("app-formulario.png", "la app a 360 px, como en la pantalla del teléfono: el formulario vacío")
        for (_p, name, values, _a), file, what in ((high, "app-riesgo-alto.png", "riesgo alto"),
                                                    (low, "app-riesgo-bajo.png", "riesgo bajo")):
            submit(page, values, "server")
            result_shot(page, file)
            report(file, f"{what} ({name}), calculado en el servidor")
        wait_offline_ready(page)
        context.set_offline(True)
        page.reload()
        page.locator("#patient-form").wait_for(state="visible")
        submit(page, middle[2], "device")
        result_shot(page, "app-sin-conexion.png")
        report("app-sin-conexion.png", f"sin red ({middle[1]}): calculado en este dispositivo")
    finally:
        context.close()


def docs_picture(browser, api_url):
    """/docs en español: POST /v1/predict con la paciente de ejemplo, tras «Probar» y «Ejecutar» (200)."""
    from diabetes_model.patients import example_patient

    card = requests.get(api_url + "/v1/model", timeout=10).json()
    context = browser.new_context(viewport={"width": 1000, "height": 800}, locale="es-ES")
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        if page.goto(api_url + "/docs").status != 200:
            raise PictureError("/docs no está instalada: ejecuta `make web`")
        operation = page.locator(".opblock-post", has=page.locator(".opblock-summary-path", has_text="/v1/predict"))
        operation.locator(".opblock-summary-control").click()
        operation.get_by_role("button", name="Probar", exact=True).click()
        operation.locator("textarea.body-param__text").fill(json.dumps(example_patient(card), indent=2))
        operation.get_by_role("button", name="Ejecutar", exact=True).click()
        operation.locator(".live-responses-table .response-col_status", has_text="200").wait_for()
        top = operation.bounding_box()["y"] + page.evaluate("window.scrollY")
        bottom = operation.locator(".live-responses-table .response").bounding_box()
        end = bottom["y"] + page.evaluate("window.scrollY") + bottom["height"]
        save(Image.open(io.BytesIO(page.screenshot(full_page=True, clip={
            "x": 0, "y": top - 8, "width": 1000, "height": end - top + 16}))), "api-docs.png")
    finally:
        context.close()
    report("api-docs.png", "/docs en español: «Probar» y «Ejecutar» con la paciente de ejemplo, 200")


# ------------------------------------------------------------------ Gráficos de otras órdenes


def run_bounded(command, env, folder, what):
    """Ejecuta `command` (con su registro en `folder`) y lo para por su PID si falla o tarda demasiado."""
    process = start(command, log_path=folder / "registro.txt", env=env)
    try:
        code = process.wait(STEP_SECONDS)
    except subprocess.TimeoutExpired:
        raise PictureError(f"{what} no terminó en {STEP_SECONDS} s") from None
    finally:
        stop(process)
    if code != 0:
        raise PictureError(f"{what} terminó con código {code}:\n{log_tail(process)}")
    return (folder / "registro.txt").read_text(encoding="utf-8", errors="replace")


def copy_or_make(name, source, command, env, output_variable, what):
    """Copia results/<source> si existe; si no, lo genera con la variante corta en una carpeta temporal."""
    if (RESULTS / source).is_file():
        shutil.copyfile(RESULTS / source, IMG / name)
        report(name, f"copia de results/{source} ({what})")
        return
    with tempfile.TemporaryDirectory(prefix="pictures-") as folder:
        run_bounded(command, {**env, output_variable: folder}, Path(folder), f"la variante corta de {what}")
        shutil.copyfile(Path(folder) / source, IMG / name)
    report(name, f"variante corta de {what} (no había results/{source})")


def bench_picture():
    """Desde el registro de la ejecución que citan los README (docs/cifras/bench.json): así una ejecución
    tranquila se vuelve a dibujar sin repetirla; sin registro, como las demás."""
    if BENCH_RECORD.is_file():
        from bench.report import chart_from_record

        chart_from_record(BENCH_RECORD, IMG / "bench.png")
        report("bench.png", f"dibujada desde {BENCH_RECORD.relative_to(ROOT)}")
        return
    copy_or_make("bench.png", "bench.png", [sys.executable, "-m", "bench"],
                 {"BENCH_SECONDS": "1", "BENCH_CONFIGS": "ci"}, "BENCH_OUTPUT", "make bench")


def schemes_picture():
    copy_or_make("esquemas.png", "esquemas.png", [sys.executable, "-m", "schemes", "demo"],
                 {"SCHEMES_PATIENTS": "40", "SCHEMES_SECONDS": "2", "SCHEMES_BURST": "1000"},
                 "SCHEMES_OUTPUT", "make demo-4")


# ------------------------------------------------------------------ La tabla de paridad


def maintenance_pictures():
    """Las de la etapa 05, desde su registro (maintenance/chart.py)."""
    from maintenance.chart import draw

    record = ROOT / "docs" / "cifras" / "mantenimiento.json"
    for path in draw(record, IMG):
        report(path.name, f"dibujada desde {record.relative_to(ROOT)}")


def parity_table():
    """(frase de contexto, filas) de la tabla de `make parity`: la misma medida (tools.parity.measure)."""
    model_dir = shared_path("MODEL_DIR")
    card = json.loads((parity.live_version_dir(model_dir) / "model.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="pictures-") as folder:
        result = parity.measure(model_dir, card, Path(folder))
    if result.problems:
        raise PictureError("la paridad falla: " + "; ".join(result.problems))
    return result.context, [[cell.replace("\\|", "|") for cell in row] for row in result.rows]


PARITY_STYLE = """
body { margin: 0; padding: 16px; font: 14px/1.4 system-ui, "Noto Sans", sans-serif; color: #1c2733;
       background: #fff; width: 1040px; }
h1 { font-size: 18px; margin: 0 0 4px; } p { margin: 0 0 10px; color: #556270; font-size: 12.5px; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #c9d3dd; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #0b5cad; color: #fff; } tr:nth-child(even) td { background: #eef2f6; }
td:nth-child(2), td:nth-child(3), td:nth-child(4) { text-align: right; white-space: nowrap; }
"""


def parity_picture(browser):
    context_line, body = parity_table()
    header = [cell.replace("\\|", "|") for cell in parity.HEADER]
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in body)
    page_html = (f"<!doctype html><html lang='es'><meta charset='utf-8'><style>{PARITY_STYLE}</style>"
                 "<h1>Paridad entre motores: el mismo riesgo por cada camino</h1>"
                 f"<p>{html.escape(context_line)}</p><table><tr>"
                 + "".join(f"<th>{html.escape(cell)}</th>" for cell in header) + f"</tr>{cells}</table>")
    context = browser.new_context(viewport={"width": 1072, "height": 400}, device_scale_factor=1)
    try:
        page = context.new_page()
        page.set_content(page_html)
        page.locator("body").screenshot(path=str(IMG / "paridad.png"))
    finally:
        context.close()
    report("paridad.png", f"la tabla de make parity ({len(body)} caminos)")


# ------------------------------------------------------------------ Todo junto


def main():
    if not CHROMIUM.exists():
        sys.exit(f"Error: falta Chromium en {CHROMIUM} (sudo apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    IMG.mkdir(parents=True, exist_ok=True)
    env = {"WEB_DIR": str(WEB), "MODEL_DIR": str(shared_path("MODEL_DIR")), "WEB_CONCURRENCY": "1",
           "GUNICORN_ACCESSLOG": "off"}
    port = None if port_in_use(int(shared("PORT"))) else int(shared("PORT"))  # la URL de `make app`, si está libre
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                with tempfile.TemporaryDirectory(prefix="pictures-") as folder, \
                        running_api(folder, port, env) as (api_url, _process):
                    app_pictures(browser, api_url)
                    docs_picture(browser, api_url)
                parity_picture(browser)
            finally:
                browser.close()
        bench_picture()
        schemes_picture()
        maintenance_pictures()
    except PictureError as error:
        sys.exit(f"Error: {error}")


if __name__ == "__main__":
    main()
