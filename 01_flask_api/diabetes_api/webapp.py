"""La app web en /app/ (y los archivos de /docs): comprimidos, revalidados por su huella y con un cupo de bytes.

La API sirve la app desde el mismo origen (el navegador no necesita CORS para llamarla) cuando WEB_DIR
nombra su carpeta: la API no sabe dónde vive la app. /app/ no pide clave ni cuenta para RATE_LIMIT,
así que lo que cuesta ancho de banda tiene su propio límite. La página /docs (docs_page.py) sirve sus
archivos con estas mismas reglas y el mismo cupo:

- **Comprimido** (gzip; workshop.precompress): el `.gz` que escribe `make web` junto a cada archivo
  grande (solo si corresponde al archivo de ahora) o, para los pequeños, el que la API comprime en
  memoria la primera vez. `Vary: Accept-Encoding`.
- **Revalidado por su huella**: `ETag` fuerte = los 16 primeros caracteres hexadecimales del sha256
  del archivo (con «-gzip» si va comprimido) y `Cache-Control: no-cache`: el navegador pregunta y un
  archivo que no cambió cuesta un 304 sin cuerpo. Solo si la URL lleva la huella (`?v=<sha256 o sus
  16 primeros caracteres>`) y coincide: `public, max-age=31536000, immutable` (un año sin preguntar).
- **Sin gzip**: los archivos pequeños van tal cual; los grandes (LARGE_BYTES o más: el motor
  WebAssembly, 14,8 MB) responden 406 en español: todos los navegadores aceptan gzip.
- **Cupo por dirección** (WEB_BUDGET_MB, 60 por defecto; 0 = sin cupo): MB de archivos grandes que
  puede descargar cada dirección por minuto (ventana deslizante de `limits`). Pasado, 429 con
  `Retry-After`. La cuenta vive en la memoria de cada worker: cada uno admite su parte
  (WEB_BUDGET_MB ÷ WEB_CONCURRENCY, los workers de gunicorn, 2 por defecto), así que el total por
  dirección no pasa de WEB_BUDGET_MB. Como mucho MAX_ADDRESSES direcciones a la vez por worker (se
  olvidan primero las más antiguas). Un 304 no gasta cupo. Cada worker debe poder enviar al menos
  un motor comprimido (3,8 MB): con 2 workers, WEB_BUDGET_MB de 8 o más.
"""

import hashlib
import io
import math
import mimetypes
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_file
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

from workshop.precompress import compressible, gz_matches, gzip_bytes
from workshop.spanish import number

from .errors import ApiError

web = Blueprint("web", __name__)

LARGE_BYTES = 1_000_000  # desde este tamaño (sin comprimir): solo con gzip y con cupo
ETAG_CHARS = 16
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MAX_ADDRESSES = 10_000
WINDOW_SECONDS = 60
# Tipos que importan al navegador (application/wasm permite compilar mientras descarga) y que
# mimetypes no conoce en todas las máquinas (p. ej. en una imagen Docker sin /etc/mime.types).
TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
         ".webmanifest": "application/manifest+json", ".json": "application/json", ".svg": "image/svg+xml",
         ".css": "text/css", ".html": "text/html", ".png": "image/png", ".gz": "application/gzip"}


def has_web_app(config):
    """True si WEB_DIR nombra una carpeta que existe: entonces se sirve /app/."""
    return config.get("WEB_DIR") is not None and Path(config["WEB_DIR"]).is_dir()


# ------------------------------------------------------------------ Los archivos

@dataclass(frozen=True)
class WebFile:
    """Un archivo de la app tal como se sirve: su huella, su tipo y su versión comprimida (si la hay)."""

    path: Path
    size: int
    sha256: str
    mimetype: str
    gz_path: Path | None = None  # el .gz de `make web`, comprobado
    gz_data: bytes | None = None  # o el comprimido en memoria
    gz_size: int = 0

    @property
    def large(self):
        return self.size >= LARGE_BYTES

    @property
    def has_gzip(self):
        return self.gz_size > 0

    def etag(self, gzipped):
        return self.sha256[:ETAG_CHARS] + ("-gzip" if gzipped else "")


def describe(path):
    """Lee un archivo y prepara cómo servirlo (una vez por versión del archivo y worker)."""
    data = path.read_bytes()
    mimetype = TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    found = WebFile(path, len(data), hashlib.sha256(data).hexdigest(), mimetype)
    if not compressible(path.name):
        return found
    gz_path = path.with_name(path.name + ".gz")
    if gz_matches(gz_path, data):
        return replace(found, gz_path=gz_path, gz_size=gz_path.stat().st_size)
    packed = gzip_bytes(data)
    if len(packed) >= len(data):
        return found
    return replace(found, gz_data=packed, gz_size=len(packed))


class Catalogue:
    """Los archivos ya descritos, por ruta; se vuelven a describir si cambian (fecha, tamaño o su .gz)."""

    def __init__(self):
        self.files = {}

    def get(self, path):
        key = (_stat_key(path), _stat_key(path.with_name(path.name + ".gz")))
        cached = self.files.get(path)
        if cached is None or cached[0] != key:
            cached = self.files[path] = (key, describe(path))
        return cached[1]


def _stat_key(path):
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


# ------------------------------------------------------------------ El cupo de bytes

class BoundedMemoryStorage(MemoryStorage):
    """El almacén en memoria de `limits` con un máximo de claves: al llenarse, olvida las caducadas y,
    si no basta, las que caducan antes. Nadie llena la memoria de un worker con direcciones nuevas."""

    def __init__(self, max_keys):
        super().__init__()
        self.max_keys = max_keys

    def incr(self, key, expiry, amount=1):
        if key not in self.storage and len(self.storage) >= self.max_keys:
            self._make_room()
        return super().incr(key, expiry, amount)

    def _make_room(self):
        now = time.time()
        for key in [key for key, when in self.expirations.items() if when <= now]:
            self.clear(key)
        while len(self.storage) >= self.max_keys and self.expirations:
            self.clear(min(self.expirations, key=self.expirations.get))


class ByteBudget:
    """Bytes por dirección y minuto en este worker (ventana deslizante: cuenta la anterior con su peso)."""

    def __init__(self, bytes_per_minute, max_addresses=MAX_ADDRESSES):
        self.item = RateLimitItemPerMinute(max(1, int(bytes_per_minute)))
        # Dos claves por dirección: la ventana actual y la anterior.
        self.storage = BoundedMemoryStorage(2 * max_addresses)
        self.limiter = SlidingWindowCounterRateLimiter(self.storage)

    def spend(self, address, size):
        """True (y lo descuenta) si `size` bytes caben en lo que le queda a `address`."""
        return self.limiter.hit(self.item, address, cost=size)

    def retry_after(self, address, size):
        """Segundos hasta que `size` bytes quepan otra vez (al menos 1; la ventana es de un minuto)."""
        limit, window = self.item.amount, self.item.get_expiry()
        previous, _, current, current_ttl = self.storage.get_sliding_window(self.item.key_for(address), window)
        left = current_ttl - window  # lo que falta para la ventana siguiente
        if size > limit:
            return WINDOW_SECONDS
        if current + size <= limit:  # basta con que pese menos la ventana anterior
            wait = left - (limit - size - current) * window / previous if previous else 0
        else:  # hay que esperar a la ventana siguiente y a que la actual pese menos
            wait = left + window * (1 - (limit - size) / current)
        return min(2 * WINDOW_SECONDS, max(1, math.ceil(wait)))


# ------------------------------------------------------------------ Las rutas

@web.get("/app/")
def app_index():
    return serve("index.html")


@web.get("/app/<path:filename>")
def app_file(filename):
    return serve(filename)


def serve(filename, root=None):
    """Un archivo de `root` (WEB_DIR si no se dice): comprimido si se puede, 304 si el navegador ya lo tiene,
    con cupo si es grande."""
    found = find(filename, current_app.config["WEB_DIR"] if root is None else root)
    gzipped = found.has_gzip and request.accept_encodings.quality("gzip") > 0
    vary = {"Vary": "Accept-Encoding"} if found.has_gzip else {}  # también en los errores: dependen de ella
    if found.large and found.has_gzip and not gzipped:
        raise ApiError(406, "not_acceptable", f"Este archivo ({megabytes(found.size)} MB) solo se envía comprimido: "
                       "pídelo con la cabecera «Accept-Encoding: gzip» (los navegadores lo hacen solos).",
                       headers=vary)
    headers = {**vary, "ETag": f'"{found.etag(gzipped)}"', "Cache-Control": cache_control(found)}
    if request.if_none_match.contains_weak(found.etag(gzipped)):
        return Response(status=304, headers=headers)
    size = found.gz_size if gzipped else found.size
    if found.large and request.method == "GET":
        charge(size, vary)
    response = body(found, gzipped)
    response.headers.update(headers)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    return response


def find(filename, root):
    """El archivo de `root` que nombra la URL; 404 si no existe o si la ruta sale de la carpeta (../)."""
    joined = safe_join(str(root), filename)
    if joined is None or not os.path.isfile(joined):
        raise NotFound()
    return current_app.extensions["web_files"].get(Path(os.path.abspath(joined)))  # send_file: ruta absoluta


def cache_control(found):
    """Un año sin preguntar solo si la URL lleva la huella del archivo de ahora; si no, revalidar siempre."""
    version = request.args.get("v", "").lower()
    return IMMUTABLE if len(version) >= ETAG_CHARS and found.sha256.startswith(version) else REVALIDATE


def charge(size, vary):
    """Descuenta `size` bytes del cupo de la dirección o responde 429 con Retry-After."""
    budget = current_app.extensions["web_budget"]
    if budget is None:
        return
    address = request.remote_addr or "-"
    if budget.spend(address, size):
        return
    total = current_app.config["WEB_BUDGET_MB"]
    retry = budget.retry_after(address, size)
    raise ApiError(429, "too_many_requests", f"Esta dirección ya descargó su cupo de archivos grandes (app y /docs) "
                   f"({number(total, 0 if total == int(total) else 1)} MB por minuto): vuelve a intentarlo en "
                   f"{retry} s (cabecera Retry-After).", headers={**vary, "Retry-After": str(retry)})


def body(found, gzipped):
    """La respuesta con los bytes que tocan (el archivo del disco se envía con sendfile si se puede)."""
    if gzipped and found.gz_data is not None:
        return send_file(io.BytesIO(found.gz_data), mimetype=found.mimetype, conditional=False, etag=False,
                         max_age=None)
    path = found.gz_path if gzipped else found.path
    return send_file(path, mimetype=found.mimetype, conditional=False, etag=False, last_modified=None,
                     max_age=None)


def megabytes(size):
    return number(size / 1_000_000, 1)


def enable_files(app):
    """El catálogo y el cupo (WEB_BUDGET_MB ÷ WEB_CONCURRENCY) que comparten /app/ y /docs (una vez)."""
    if "web_files" in app.extensions:
        return
    app.extensions["web_files"] = Catalogue()
    budget = app.config["WEB_BUDGET_MB"] * 1_000_000 / app.config["WEB_CONCURRENCY"]
    app.extensions["web_budget"] = ByteBudget(budget) if budget else None


def init_app(app):
    """Si WEB_DIR nombra una carpeta: el catálogo, el cupo y las rutas /app/."""
    if not has_web_app(app.config):
        return
    enable_files(app)
    app.register_blueprint(web)
