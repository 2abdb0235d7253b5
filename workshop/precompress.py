"""Archivos web comprimidos de antemano con gzip: la misma regla para quien los escribe (`make web`,
mobile_client/web_build.py) y para quien los sirve (la API en /app/, diabetes_api/webapp.py).

- Qué se comprime: el texto (HTML, CSS, JavaScript, JSON, SVG, manifiesto) y el WebAssembly.
  Las imágenes PNG ya van comprimidas.
- `make web` escribe `<archivo>.gz` junto a cada uno de PRECOMPRESS_MIN_BYTES o más; la API comprime
  en memoria los demás la primera vez que se piden.
- Siempre igual: gzip -9 sin fecha ni nombre dentro (mtime=0): los mismos bytes en cada ejecución.
- Un `.gz` solo vale si corresponde a su archivo: su cola (CRC32 y tamaño, RFC 1952) debe ser la
  del archivo de ahora. Uno viejo (se editó el archivo y no se volvió a ejecutar `make web`) no se usa.
"""

import gzip
import struct
import zlib
from pathlib import Path

COMPRESSIBLE = (".html", ".css", ".js", ".mjs", ".json", ".webmanifest", ".svg", ".txt", ".wasm")
PRECOMPRESS_MIN_BYTES = 10_000
GZIP_LEVEL = 9


def compressible(name):
    """¿Se envía comprimido un archivo con este nombre? (Un `.gz` ya lo está.)"""
    return str(name).lower().endswith(COMPRESSIBLE)


def gzip_bytes(data):
    """gzip -9 determinista: sin fecha (mtime=0) ni nombre de archivo en la cabecera."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def gzip_trailer(data):
    """Los 8 últimos bytes que tiene el gzip de `data`: su CRC32 y su tamaño módulo 2^32."""
    return struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


def gz_matches(gz_path, data):
    """True si `gz_path` existe y es el gzip de `data` (por su cola: un `.gz` viejo no pasa)."""
    try:
        with open(gz_path, "rb") as handle:
            if handle.seek(0, 2) < 18:  # cabecera (10) + cola (8): menos no es un gzip
                return False
            handle.seek(-8, 2)
            return handle.read(8) == gzip_trailer(data)
    except OSError:
        return False


def precompress_tree(folder, min_bytes=PRECOMPRESS_MIN_BYTES):
    """Escribe `<archivo>.gz` junto a cada archivo comprimible de `folder` (y subcarpetas) de `min_bytes`
    o más, si comprimido ocupa menos; borra los `.gz` que ya no corresponden a ninguno.

    Solo reescribe un `.gz` si cambia su contenido. Devuelve {ruta relativa: (tamaño, tamaño gzip)}.
    """
    folder = Path(folder)
    written = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or not compressible(path.name):
            continue
        data = path.read_bytes()
        gz_path = path.with_name(path.name + ".gz")
        packed = gzip_bytes(data) if len(data) >= min_bytes else None
        if packed is None or len(packed) >= len(data):
            continue
        if not gz_path.is_file() or gz_path.read_bytes() != packed:
            gz_path.write_bytes(packed)
        written[path.relative_to(folder).as_posix()] = (len(data), len(packed))
    for gz_path in sorted(folder.rglob("*.gz")):
        source = gz_path.with_name(gz_path.name[:-3])
        if source.relative_to(folder).as_posix() not in written:
            gz_path.unlink()
    return written
