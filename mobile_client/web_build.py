"""`make web`: instala el modo sin conexión de la app web (onnxruntime-web) en web/vendor/.

Necesita Node 18 o posterior. Ejecuta `npm ci` en mobile_client/ (la versión exacta de
onnxruntime-web está fijada en package.json y package-lock.json) y copia a `web/vendor/` SOLO los
tres archivos que carga la app: la API de JavaScript (`ort.wasm.min.js`), su cargador
(`ort-wasm-simd-threaded.mjs`) y el motor WebAssembly (`ort-wasm-simd-threaded.wasm`), con
`vendor.json` (la versión, los tamaños y los sha256). Después, junto a cada archivo de texto o
WebAssembly de web/ de 10 KB o más (el motor, app.js…), escribe su versión comprimida (`.gz`,
gzip -9, siempre los mismos bytes: workshop.precompress) para que la API la envíe tal cual a los
navegadores, y borra los `.gz` que ya no corresponden a ningún archivo.

Sin Node (o con uno anterior a 18) lo dice en una frase, comprime la app igual y termina con 0: la
app sigue funcionando con conexión y avisa de que el modo sin conexión no está instalado.

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
from pathlib import Path

from workshop.argparse_es import SpanishArgumentParser
from workshop.precompress import precompress_tree

HERE = Path(__file__).resolve().parent
WEB = HERE / "web"
VENDOR = WEB / "vendor"
PACKAGE = "onnxruntime-web"
DIST = HERE / "node_modules" / PACKAGE / "dist"
# Lo que carga la app (comprobado en dist/ de la versión fijada): nada más.
FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MIN_NODE = 18
CHROMIUM = Path("/usr/bin/chromium")


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


def pinned_version():
    dependencies = json.loads((HERE / "package.json").read_text(encoding="utf-8"))["dependencies"]
    version = dependencies[PACKAGE]
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise BuildError(f"package.json debe fijar {PACKAGE} a una versión exacta (tiene «{version}»).")
    return version


def installed_version():
    package_json = DIST.parent / "package.json"
    if not package_json.exists():
        return None
    return json.loads(package_json.read_text(encoding="utf-8")).get("version")


def npm_ci(version):
    """`npm ci` (sin scripts de instalación) si node_modules no tiene ya la versión fijada."""
    if installed_version() == version:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("Falta npm (viene con Node): instálalo para preparar el modo sin conexión.")
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    result = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        raise BuildError(f"npm ci falló en mobile_client/ (código {result.returncode}): {detail[0]}")
    if installed_version() != version:
        raise BuildError(f"npm ci no instaló {PACKAGE} {version} (¿package-lock.json desactualizado?).")


def copy_vendor(version):
    """Copia los archivos que carga la app y vendor.json; borra lo que sobre en vendor/ (salvo los .gz)."""
    VENDOR.mkdir(exist_ok=True)
    wanted = {"vendor.json", *FILES, *(f"{name}.gz" for name in FILES)}
    for old in VENDOR.iterdir():
        if old.name not in wanted:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    files = {}
    for name in FILES:
        source = DIST / name
        if not source.exists():
            raise BuildError(f"{PACKAGE} {version} no trae dist/{name}: revisa la lista FILES de web_build.py.")
        data = source.read_bytes()
        if not (VENDOR / name).is_file() or (VENDOR / name).read_bytes() != data:
            (VENDOR / name).write_bytes(data)  # sin cambios, la misma fecha: la API no vuelve a leerlo
        files[name] = {"size": len(data), "gzip_size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    packed = precompress_tree(WEB)
    for name, info in files.items():
        info["gzip_size"] = packed.get(f"vendor/{name}", (0, info["size"]))[1]
    manifest = {"package": PACKAGE, "version": version, "files": files}
    (VENDOR / "vendor.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return files


def build():
    major = node_major()
    if major is None or major < MIN_NODE:
        found = "no está instalado" if major is None else f"es la versión {major}"
        precompress_tree(WEB)
        print(f"El modo sin conexión de la app web necesita Node {MIN_NODE} o posterior y Node {found}: "
              "la app funciona igual con conexión a la API.")
        return 0
    version = pinned_version()
    npm_ci(version)
    files = copy_vendor(version)
    parts = [f"{name} {spanish(info['size'])} ({spanish(info['gzip_size'])} con gzip)" for name, info in files.items()]
    total = sum(info["gzip_size"] for info in files.values())
    print(f"Modo sin conexión instalado en mobile_client/web/vendor/ ({PACKAGE} {version}): " + ", ".join(parts)
          + f"; el primer acceso descarga {spanish(total)} de motor si el servidor comprime.")
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
    parser = SpanishArgumentParser(prog="python -m mobile_client.web_build",
                                   description="Modo sin conexión de la app: onnxruntime-web en web/vendor/.")
    parser.add_argument("--icons", action="store_true", help="vuelve a dibujar los PNG de los iconos desde icon.svg")
    args = parser.parse_args(argv)
    try:
        return draw_icons() if args.icons else build()
    except BuildError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
