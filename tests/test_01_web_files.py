"""Los archivos de la app en /app/ (diabetes_api/webapp.py) contra gunicorn real en 127.0.0.1 (2 workers):
comprimidos con gzip, revalidados con su ETag (304), un 406 para quien no acepta gzip en los grandes y
un cupo de bytes por dirección (429 con Retry-After). Y la compresión de `make web`
(workshop.precompress), determinista.

Cada prueba usa su propia dirección (X-Forwarded-For, con PROXY_HOPS=1): el cupo de una no toca a otra.
"""

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from diabetes_api.webapp import ByteBudget
from support import ROOT, have, need, running_gunicorn
from workshop.precompress import precompress_tree

WEB = ROOT / "mobile_client" / "web"
VENDOR = WEB / "vendor"
WASM = "vendor/ort-wasm-simd-threaded.wasm"
BUDGET_MB = 10  # entre los 2 workers: 5 MB cada uno, un motor comprimido (3,8 MB) por worker
WORKERS = 2
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
def web_copy(tmp_path_factory):
    """Una copia de mobile_client/web con el motor (`make web`): las pruebas pueden añadir archivos."""
    if not (VENDOR / "vendor.json").exists() and have("node"):
        result = subprocess.run([sys.executable, "-m", "mobile_client.web_build"], cwd=ROOT, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
    need((VENDOR / "vendor.json").exists(), "falta el motor de la app web en mobile_client/web/vendor/ (make web, "
         "necesita Node 18 o posterior)")
    copy = tmp_path_factory.mktemp("web") / "web"
    shutil.copytree(WEB, copy)
    return copy


@pytest.fixture(scope="module")
def api(web_copy, served_model_dir, tmp_path_factory):
    env = {"MODEL_DIR": str(served_model_dir), "WEB_DIR": str(web_copy), "WEB_CONCURRENCY": str(WORKERS),
           "WEB_BUDGET_MB": str(BUDGET_MB), "PROXY_HOPS": "1", "ACCESS_LOG": "0", "GUNICORN_ACCESSLOG": "off"}
    with running_gunicorn(tmp_path_factory.mktemp("api-web-files"), env=env) as (url, _process):
        yield url


def fetch(api, path, address, headers=None):
    """GET de /app/<path> desde `address`; devuelve (respuesta, bytes tal como viajaron, sin descomprimir)."""
    with requests.get(f"{api}/app/{path}", headers={"X-Forwarded-For": address, **(headers or {})}, stream=True,
                      timeout=30) as response:
        return response, response.raw.read(decode_content=False)


def sha16(data):
    return hashlib.sha256(data).hexdigest()[:16]


# ------------------------------------------------------------------ Comprimidos

@pytest.mark.slow
@pytest.mark.parametrize("path", [WASM, "vendor/ort.wasm.min.js", "vendor/ort-wasm-simd-threaded.mjs", "app.js",
                                  "index.html", "styles.css", ""])
def test_files_travel_gzip_and_decompress_to_the_same_bytes(api, web_copy, path):
    original = (web_copy / (path or "index.html")).read_bytes()
    response, raw = fetch(api, path, f"198.51.100.{len(path)}", GZIP)
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert int(response.headers["Content-Length"]) == len(raw) < len(original)
    assert gzip.decompress(raw) == original
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["ETag"] == f'"{sha16(original)}-gzip"'
    assert response.headers["Cache-Control"] == "no-cache"
    if path == WASM:  # application/wasm: el navegador compila mientras descarga
        assert response.headers["Content-Type"] == "application/wasm" and len(raw) < len(original) / 3


@pytest.mark.slow
def test_a_stale_gz_is_never_sent(api, web_copy):
    """Se editó el archivo y no se volvió a ejecutar `make web`: su .gz viejo no vale."""
    current, old = b"const version = 'nueva';\n" * 800, b"const version = 'vieja';\n" * 800
    (web_copy / "cambiado.js").write_bytes(current)
    (web_copy / "cambiado.js.gz").write_bytes(gzip.compress(old, mtime=0))
    response, raw = fetch(api, "cambiado.js", "198.51.100.50", GZIP)
    assert response.status_code == 200 and gzip.decompress(raw) == current


# ------------------------------------------------------------------ Revalidar con la huella

@pytest.mark.slow
@pytest.mark.parametrize("path", [WASM, "app.js"])
def test_a_file_the_browser_already_has_is_a_304_without_body(api, path):
    address = f"198.51.100.{60 + len(path)}"
    first, _ = fetch(api, path, address, GZIP)
    etag = first.headers["ETag"]
    again, raw = fetch(api, path, address, {**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and raw == b"" and again.headers["ETag"] == etag
    other, raw = fetch(api, path, address + "1", {**GZIP, "If-None-Match": '"0000000000000000-gzip"'})
    assert other.status_code == 200 and len(raw) == int(first.headers["Content-Length"])


@pytest.mark.slow
def test_a_changed_file_gets_a_new_etag_and_only_a_hashed_url_is_immutable(api, web_copy):
    path, address = web_copy / "version.js", "198.51.100.70"
    path.write_text("console.log(1);\n" * 100, encoding="utf-8")
    before, _ = fetch(api, "version.js", address, GZIP)
    path.write_text("console.log(2);\n" * 100, encoding="utf-8")
    after, raw = fetch(api, "version.js", address, {**GZIP, "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert gzip.decompress(raw) == path.read_bytes()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for version, expected in ((digest, "public, max-age=31536000, immutable"), (digest[:16], "public, "
                              "max-age=31536000, immutable"), (sha16(b"otro"), "no-cache"), ("", "no-cache")):
        response, _ = fetch(api, f"version.js?v={version}", address, GZIP)
        assert response.headers["Cache-Control"] == expected, version


# ------------------------------------------------------------------ Sin gzip

@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["identity", "gzip;q=0, identity", "br"])
def test_without_gzip_large_files_are_a_spanish_406_and_small_ones_go_as_they_are(api, web_copy, encoding):
    address = "198.51.100.80"
    response, raw = fetch(api, WASM, address, {"Accept-Encoding": encoding})
    assert response.status_code == 406 and len(raw) < 1000
    error = json.loads(gzip.decompress(raw) if response.headers.get("Content-Encoding") else raw)["error"]
    assert error["code"] == "not_acceptable" and "Accept-Encoding: gzip" in error["message"]
    assert "14,8 MB" in error["message"] and "ETag" not in response.headers
    assert "Accept-Encoding" in response.headers["Vary"]
    small, raw = fetch(api, "app.js", address, {"Accept-Encoding": encoding})
    assert small.status_code == 200 and "Content-Encoding" not in small.headers
    assert raw == (web_copy / "app.js").read_bytes() and small.headers["ETag"] == f'"{sha16(raw)}"'


# ------------------------------------------------------------------ El cupo por dirección

@pytest.mark.slow
def test_large_downloads_have_a_byte_budget_per_address(api):
    """12 descargas del motor desde una dirección, 6 a la vez (se reparten entre los 2 workers): las
    que caben en BUDGET_MB pasan, el resto recibe 429 con Retry-After; otra dirección no se entera."""
    address = "198.51.100.90"
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: fetch(api, WASM, address, GZIP), range(12)))
    served = [raw for response, raw in results if response.status_code == 200]
    refused = [(response, raw) for response, raw in results if response.status_code == 429]
    assert len(served) + len(refused) == 12 and served and refused
    assert sum(len(raw) for raw in served) <= BUDGET_MB * 1_000_000
    response, raw = refused[0]
    assert 1 <= int(response.headers["Retry-After"]) <= 120 and "ETag" not in response.headers
    error = json.loads(raw)["error"]
    assert error["code"] == "too_many_requests" and f"{BUDGET_MB} MB por minuto" in error["message"]
    # Lo que ya tiene el navegador no gasta cupo: revalidar sigue dando 304.
    etag = f'"{sha16(gzip.decompress(served[0]))}-gzip"'
    assert fetch(api, WASM, address, {**GZIP, "If-None-Match": etag})[0].status_code == 304
    assert fetch(api, WASM, "198.51.100.91", GZIP)[0].status_code == 200


def test_the_budget_remembers_a_bounded_number_of_addresses():
    budget = ByteBudget(1_000_000, max_addresses=50)
    for index in range(500):
        assert budget.spend(f"10.0.{index // 256}.{index % 256}", 600_000)
        assert len(budget.storage.storage) <= 100  # dos claves por dirección
    assert not budget.spend("10.0.1.243", 600_000)  # la última sigue contada
    assert 1 <= budget.retry_after("10.0.1.243", 600_000) <= 120


# ------------------------------------------------------------------ make web: la compresión

def test_precompression_is_deterministic_and_only_for_large_text_and_wasm(tmp_path):
    (tmp_path / "sub").mkdir()
    files = {"grande.js": b"let x = 1;\n" * 2000, "sub/motor.wasm": bytes(range(256)) * 100,
             "pequeno.css": b"body { color: red; }\n" * 10, "imagen.png": b"\x89PNG" + b"\x00" * 20000}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "huerfano.js.gz").write_bytes(gzip.compress(b"ya no existe"))
    first = precompress_tree(tmp_path)
    packed = {name: (tmp_path / f"{name}.gz").read_bytes() for name in ("grande.js", "sub/motor.wasm")}
    assert sorted(first) == ["grande.js", "sub/motor.wasm"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.gz")) == [
        "grande.js.gz", "sub/motor.wasm.gz"]  # ni el pequeño, ni el PNG, ni el huérfano
    for name, data in packed.items():
        assert gzip.decompress(data) == files[name] and data[4:8] == b"\x00\x00\x00\x00"  # sin fecha
    mtimes = {name: (tmp_path / f"{name}.gz").stat().st_mtime_ns for name in packed}
    assert precompress_tree(tmp_path) == first
    for name, data in packed.items():  # los mismos bytes, y sin reescribir lo que no cambió
        assert (tmp_path / f"{name}.gz").read_bytes() == data
        assert (tmp_path / f"{name}.gz").stat().st_mtime_ns == mtimes[name]
