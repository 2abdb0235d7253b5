"""La versión candidata junto a la publicada: las dos puntúan cada petición y responde una.

Qué versión es la candidata y con qué peso lo dice `diabetes_model.candidate` (MODEL_DIR/candidate.json,
o los ajustes CANDIDATE_VERSION y CANDIDATE_WEIGHT, que mandan sobre el archivo). Bajo gunicorn la
comprueba el maestro (etapa 02) junto a la publicada; con `flask run` o en las pruebas, `create_app`.
Una candidata que no se puede servir no tumba nada: se sirve solo la publicada, con una línea de log
y la ruta de salud lo dice. Sin candidata, la ruta de predicción ni siquiera llega a este archivo.

El reparto es pegajoso: la misma paciente del mismo cliente recibe siempre la misma versión.

    cubeta = primeros 8 bytes de blake2b(cliente + "\\0" + filas) como entero sin signo / 2**64
    responde la candidata si cubeta < peso

- cliente: la cabecera X-Client-Id (1 a 64 caracteres ASCII visibles) o, sin ella, la dirección del cliente.
- filas: cada fila validada (los valores en el orden de la ficha) como float64 little-endian, seguidas.
  Un lote es una sola cubeta: responde UNA versión el lote entero.

Si la candidata falla al predecir, responde la publicada (la paciente no lo nota) y las métricas
cuentan un 500 para la candidata. Lo que las métricas necesitan lo dejan en `g.predictions`:
(filas, aciertos de caché, versión que responde, {versión: resultados} de cada versión que puntuó).
"""

import hashlib
import logging
import re
import struct

from flask import g, request

from diabetes_model.candidate import resolve_candidate

from .model import Model

log = logging.getLogger("diabetes_api.versions")
CLIENT_ID = re.compile(r"[\x21-\x7e]{1,64}")
SCALE = 2**64


def client_of(environ_request=None):
    """El cliente del reparto: X-Client-Id si es válido; si no, la dirección (remote_addr)."""
    current = environ_request or request
    given = current.headers.get("X-Client-Id", "")
    return given if CLIENT_ID.fullmatch(given) else (current.remote_addr or "-")


def bucket(client, rows):
    """La cubeta de (cliente, filas) en [0, 1): la misma entrada, la misma cubeta en cualquier proceso."""
    packed = b"".join(struct.pack(f"<{len(row)}d", *row) for row in rows)
    digest = hashlib.blake2b(client.encode("utf-8") + b"\0" + packed).digest()
    return int.from_bytes(digest[:8], "big") / SCALE


class Split:
    """La publicada y la candidata: ambas puntúan, el peso (pegajoso) decide cuál responde."""

    def __init__(self, live, candidate, weight):
        self.live, self.candidate, self.weight = live, candidate, float(weight)
        self.failed_once = False

    def chooses_candidate(self, rows):
        return self.weight > 0 and bucket(client_of(), rows) < self.weight

    def score(self, rows):
        """Predice con las dos; devuelve (resultados, aciertos, versión) de la que responde."""
        live_results, live_hits = self.live.predict_rows(rows)
        scored = {self.live.version: live_results}
        try:
            candidate_results, candidate_hits = self.candidate.predict_rows(rows)
            scored[self.candidate.version] = candidate_results
        except Exception:  # noqa: BLE001 (la candidata nunca tumba una respuesta: contesta la publicada)
            self._failed()
            g.candidate_failed = True
        if self.candidate.version in scored and self.chooses_candidate(rows):
            answer = (candidate_results, candidate_hits, self.candidate.version)
        else:
            answer = (live_results, live_hits, self.live.version)
        g.predictions = (rows, answer[1], answer[2], scored)
        return answer

    def _failed(self):
        if not self.failed_once:
            self.failed_once = True
            log.exception("La candidata %s falló al predecir: responde la publicada %s (se cuenta como un 500 "
                          "de la candidata).", self.candidate.version, self.live.version)


def load_split(config, live, given=None):
    """(Split o None, estado para la ruta de salud o None). `given` es la candidata que comprobó el
    maestro de gunicorn (diabetes_model.candidate.Candidate o False si no hay); None: se lee aquí."""
    if given is None:
        given = resolve_candidate(config["MODEL_DIR"], config["MODEL_RUNTIME"], config["CANDIDATE_VERSION"] or None,
                                  config["CANDIDATE_WEIGHT"])
        if given is not None and given.problem:
            log.warning("Candidata rechazada: %s Se sirve solo la versión %s.", given.problem, live.version)
    if not given:
        return None, None
    if given.problem or given.verified.runtime != live.runtime:
        return None, {"version": given.version, "weight": given.weight,
                      "error": given.problem or "comprobada con otro motor"}
    split = Split(live, Model(given.verified, config["CACHE_SIZE"]), given.weight)
    return split, {"version": given.version, "weight": given.weight}
