"""La clave de la API de Lightsail fuera de deploy.py: nunca viaja sin cifrar a otro equipo (la prueba de
humo con --url http://…) y el fichero se escribe sin seguir enlaces. Sin AWS: otro «equipo» es un
servidor en 127.0.0.1 al que llegan las peticiones por HTTP_PROXY, como llegarían a quien responda."""

import json
import os
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lightsail import keys
from support import ROOT

KEY = "clave-real-" + "x" * 32


class Remote:
    """Un host remoto que responde como la API con clave (401 sin ella) y guarda todo lo que recibe."""

    def __init__(self, card):
        self.received = []
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                remote.received.append(f"{self.requestline}\n{self.headers}")
                self.answer(200, {"status": "ok"} if self.path.endswith("/health") else card)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                remote.received.append(f"{self.requestline}\n{self.headers}\n{body}")
                self.answer(401, {"error": {"code": "unauthorized", "message": "Falta la clave."}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def smoke(url, key_file, proxy):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("LIGHTSAIL_")}
    env.update({"HTTP_PROXY": proxy, "http_proxy": proxy, keys.KEY_FILE_ENV: str(key_file)})
    return subprocess.run([sys.executable, "03_lightsail/deploy.py", "smoke", "--url", url], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_smoke_never_sends_the_key_over_plain_http_to_another_host(card, tmp_path, monkeypatch):
    monkeypatch.setenv(keys.KEY_FILE_ENV, str(tmp_path / "api-key"))
    keys.save({"current": KEY, "previous": None})
    with Remote(card) as remote:
        result = smoke("http://api.ejemplo.test", tmp_path / "api-key", f"http://127.0.0.1:{remote.server.server_port}")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "la URL es http:// (sin cifrar) y no es de este equipo: la clave viajaría legible" in result.stderr
    assert len(remote.received) == 3  # salud, vista del modelo y la predicción sin clave (401): nada más
    assert not [request for request in remote.received if KEY in request or "Authorization" in request]
    assert KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("link", [".api-key.tmp", ".api-key"])
def test_the_key_file_is_written_without_following_links(tmp_path, monkeypatch, link):
    """Un enlace que alguien deja junto al fichero (el temporal de antes, o el propio .api-key) no hace que
    la clave acabe en otro fichero ni que se pise lo que hay detrás."""
    victim = tmp_path / "de-otro.txt"
    victim.write_text("no me toques\n", encoding="utf-8")
    victim.chmod(0o644)
    (tmp_path / link).symlink_to(victim)
    monkeypatch.setenv(keys.KEY_FILE_ENV, str(tmp_path / ".api-key"))
    keys.save({"current": KEY, "previous": None})
    assert victim.read_text(encoding="utf-8") == "no me toques\n" and stat.S_IMODE(victim.stat().st_mode) == 0o644
    written = tmp_path / ".api-key"
    assert not written.is_symlink() and stat.S_IMODE(written.stat().st_mode) == 0o600
    assert keys.load()["current"] == KEY
    left = {path.name for path in tmp_path.iterdir()} - {victim.name, ".api-key", link}
    assert left == set()  # ningún temporal olvidado
