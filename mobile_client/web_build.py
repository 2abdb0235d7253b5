"""`make web`: instala el modo sin conexión de la app web (onnxruntime-web) y la página /docs (Swagger UI).

Necesita Node 18 o posterior. Ejecuta `npm ci` en mobile_client/ (las versiones exactas de
onnxruntime-web y swagger-ui-dist están fijadas en package.json y package-lock.json) y copia SOLO lo
que se carga:

- a `web/vendor/`, los tres archivos de la app: la API de JavaScript (`ort.wasm.min.js`), su cargador
  (`ort-wasm-simd-threaded.mjs`) y el motor WebAssembly (`ort-wasm-simd-threaded.wasm`);
- a `01_flask_api/diabetes_api/docs_files/vendor/`, los de la página /docs de la API: Swagger UI
  (`swagger-ui-bundle.js`, `swagger-ui.css`) y sus licencias (Apache-2.0: LICENSE y NOTICE).

Cada carpeta lleva su `vendor.json` (el paquete, la versión, los tamaños y los sha256). Después, junto
a cada archivo de texto o WebAssembly de 10 KB o más (el motor, app.js, Swagger UI…), escribe su versión
comprimida (`.gz`, gzip -9, siempre los mismos bytes: workshop.precompress) para que la API la envíe
tal cual a los navegadores, y borra los `.gz` que ya no corresponden a ningún archivo.

Sin Node (o con uno anterior a 18) lo dice en una frase, comprime la app igual y termina con 0: la
app sigue funcionando con conexión (avisa de que el modo sin conexión no está instalado) y /docs
responde que falta `make web`.

    python -m mobile_client.web_build            # o: python mobile_client/web_build.py
    python -m mobile_client.web_build --icons    # vuelve a dibujar los PNG de los iconos (Chromium)

Solo usa la biblioteca estándar y workshop/ (y Playwright para --icons).
"""

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from workshop import processes
from workshop.argparse_es import SpanishArgumentParser
from workshop.precompress import precompress_tree

HERE = Path(__file__).resolve().parent
WEB = HERE / "web"
DOCS = HERE.parent / "01_flask_api" / "diabetes_api" / "docs_files"  # la página /docs de la API (etapa 01)
MIN_NODE = 18
CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class Vendor:
    """Un paquete de npm y lo que se copia de él: de `dist` (en node_modules/<package>/) a `target`."""

    package: str
    dist: str
    files: tuple
    target: Path
    root: Path  # la carpeta que se sirve (y se comprime)
    purpose: str


# Lo que carga cada página (comprobado en la versión fijada): nada más.
VENDORS = (
    Vendor("onnxruntime-web", "dist", ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"),
           WEB / "vendor", WEB, "Modo sin conexión instalado en mobile_client/web/vendor/"),
    Vendor("swagger-ui-dist", "", ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.LICENSE.txt",
                                   "LICENSE", "NOTICE"),
           DOCS / "vendor", DOCS, "Página /docs de la API instalada en 01_flask_api/diabetes_api/docs_files/vendor/"),
)
ONNX = VENDORS[0]
# Nombres de antes (las pruebas y las herramientas los leen).
VENDOR, PACKAGE, FILES = ONNX.target, ONNX.package, ONNX.files
DIST = HERE / "node_modules" / ONNX.package / ONNX.dist


class BuildError(Exception):
    """Un problema que se explica en una frase (sin traza)."""


def spanish(size_bytes):
    """Un tamaño legible en formato español: «17 KB», «3,8 MB»."""
    if size_bytes >= 1_000_000:
        return f"{size_bytes / 1_000_000:.1f} MB".replace(".", ",")
    return f"{max(1, round(size_bytes / 1000))} KB"


def node_major():
    """La versión principal de Node, o None si no está instalado."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.", out.strip())
    return int(match.group(1)) if match else None


def pinned_version(package):
    dependencies = json.loads((HERE / "package.json").read_text(encoding="utf-8"))["dependencies"]
    version = dependencies[package]
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise BuildError(f"package.json debe fijar {package} a una versión exacta (tiene «{version}»).")
    return version


def installed_version(package):
    package_json = HERE / "node_modules" / package / "package.json"
    if not package_json.exists():
        return None
    return json.loads(package_json.read_text(encoding="utf-8")).get("version")


def npm_ci(versions):
    """`npm ci` (sin scripts de instalación) si node_modules no tiene ya las versiones fijadas."""
    if all(installed_version(package) == version for package, version in versions.items()):
        return
    try:
        processes.npm_ci(HERE)
    except processes.ProcessError as error:
        raise BuildError(f"{error} Hace falta para preparar el modo sin conexión y /docs.") from None
    for package, version in versions.items():
        if installed_version(package) != version:
            raise BuildError(f"npm ci no instaló {package} {version} (¿package-lock.json desactualizado?).")


def copy_vendor(vendor, version):
    """Copia los archivos de `vendor` y su vendor.json; borra lo que sobre en su carpeta (salvo los .gz)."""
    vendor.target.mkdir(parents=True, exist_ok=True)
    wanted = {"vendor.json", *vendor.files, *(f"{name}.gz" for name in vendor.files)}
    for old in vendor.target.iterdir():
        if old.name not in wanted:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    files = {}
    dist = HERE / "node_modules" / vendor.package / vendor.dist
    for name in vendor.files:
        source = dist / name
        if not source.exists():
            raise BuildError(f"{vendor.package} {version} no trae {vendor.dist or '.'}/{name}: revisa VENDORS "
                             "en web_build.py.")
        data = source.read_bytes()
        target = vendor.target / name
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)  # sin cambios, la misma fecha: la API no vuelve a leerlo
        files[name] = {"size": len(data), "gzip_size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    packed = precompress_tree(vendor.root)
    folder = vendor.target.relative_to(vendor.root).as_posix()
    for name, info in files.items():
        info["gzip_size"] = packed.get(f"{folder}/{name}", (0, info["size"]))[1]
    manifest = {"package": vendor.package, "version": version, "files": files}
    (vendor.target / "vendor.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return files


def build():
    major = node_major()
    if major is None or major < MIN_NODE:
        found = "no está instalado" if major is None else f"es la versión {major}"
        for vendor in VENDORS:
            precompress_tree(vendor.root)
        print(f"El modo sin conexión de la app web y la página /docs de la API necesitan Node {MIN_NODE} o "
              f"posterior y Node {found}: la app funciona igual con conexión a la API.")
        return 0
    versions = {vendor.package: pinned_version(vendor.package) for vendor in VENDORS}
    npm_ci(versions)
    for vendor in VENDORS:
        version = versions[vendor.package]
        files = copy_vendor(vendor, version)
        shown = {name: info for name, info in files.items() if "LICENSE" not in name and name != "NOTICE"}
        parts = [f"{name} {spanish(info['size'])} ({spanish(info['gzip_size'])} con gzip)"
                 for name, info in shown.items()]
        total = sum(info["gzip_size"] for info in shown.values())
        print(f"{vendor.purpose} ({vendor.package} {version}): " + ", ".join(parts)
              + f"; el primer acceso descarga {spanish(total)} si el servidor comprime.")
    return 0


# ------------------------------------------------------------------ Iconos

ICON_PAGE = """<!doctype html><html><head><style>
html, body {{ margin: 0; width: {size}px; height: {size}px; overflow: hidden; background: {background}; }}
img {{ display: block; width: {inner}px; height: {inner}px; margin: {margin}px; }}
</style></head><body><img src="{svg}"></body></html>"""


def draw_icons():
    """Dibuja los PNG de la app a partir de web/icons/icon.svg con Chromium (Playwright)."""
    from playwright.sync_api import sync_playwright

    # Como data: URI: una página hecha con set_content no puede cargar archivos file://.
    svg = "data:image/svg+xml;base64," + base64.b64encode((WEB / "icons" / "icon.svg").read_bytes()).decode()
    # (archivo, tamaño, fondo, proporción del dibujo): la maskable deja el margen de seguridad (80 %).
    icons = [("icon-192.png", 192, "transparent", 1.0), ("icon-512.png", 512, "transparent", 1.0),
             ("icon-maskable-512.png", 512, "#0b5cad", 0.72), ("apple-touch-icon.png", 180, "#0b5cad", 0.86)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            for name, size, background, share in icons:
                page = browser.new_page(viewport={"width": size, "height": size})
                inner = round(size * share)
                html = ICON_PAGE.format(size=size, background=background, inner=inner,
                                        margin=(size - inner) // 2, svg=svg)
                page.set_content(html)
                page.wait_for_load_state("load")
                page.screenshot(path=str(WEB / "icons" / name), omit_background=background == "transparent")
                page.close()
        finally:
            browser.close()
    print("Iconos dibujados en mobile_client/web/icons/ a partir de icon.svg.")
    return 0


def main(argv=None):
    parser = SpanishArgumentParser(prog="python -m mobile_client.web_build", description="Modo sin conexión de la "
                                   "app (onnxruntime-web) y la página /docs de la API (Swagger UI).")
    parser.add_argument("--icons", action="store_true", help="vuelve a dibujar los PNG de los iconos desde icon.svg")
    args = parser.parse_args(argv)
    try:
        return draw_icons() if args.icons else build()
    except BuildError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
