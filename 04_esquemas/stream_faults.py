"""El stream frente a caídas de Redis y frente a su propio límite: esperar, reintentar y recortar sin perder nada.

- `Backoff`: esperas crecientes y acotadas entre reintentos (0,1 s, 0,2 s, 0,4 s… hasta 2 s).
- `Outage`: UNA línea cuando Redis deja de responder y otra cuando vuelve, no una por reintento.
- `trim_acknowledged`: el stream de eventos solo se recorta (XTRIM MINID) por debajo del evento más
  antiguo que algún grupo todavía necesita (pendiente de confirmar o sin entregar): nunca se borra un
  evento que no se ha confirmado. Redis 7.0 no tiene XADD … ACKED; esto hace lo mismo desde fuera.
- `Producer`: publica por trozos con un script Lua que añade solo los eventos que caben por debajo del
  límite. Si no cabe ninguno, recorta lo confirmado y, si sigue lleno, ESPERA (retenido, visible en
  `status`) a que los consumidores hagan sitio; si Redis no responde, reintenta. Tras `wait_s` segundos
  sin poder avanzar, se rinde y dice cuántos eventos no pudo enviar (`PublishError`).
  Cada llamada al script lleva un testigo: si se pierde la respuesta y se repite, Redis devuelve los ids
  de la primera vez en lugar de publicar dos veces.
"""

import json
import time
import uuid

import redis

from workshop.secrets import mask_text
from workshop.spanish import duration, number

from .common import SchemesError

# Errores tras los que se reintenta: conexión caída, plazo agotado y Redis cargando su AOF (BusyLoadingError
# es un ConnectionError en redis-py).
RETRYABLE = (redis.ConnectionError, redis.TimeoutError)
BACKOFF_FIRST_S, BACKOFF_CAP_S = 0.1, 2.0
HELD = "pacientes:productor:retenido"  # existe mientras el productor espera sitio: {"since": …, "waiting": …}
HELD_TTL_S = 5  # si el productor muere esperando, la marca desaparece sola
BATCH_PREFIX = "pacientes:lote:"  # + testigo: los ids que devolvió esa llamada (por si se repite)
CHUNK = 500  # eventos por llamada al script

# KEYS: 1 eventos, 2 testigo de esta llamada. ARGV: 1 límite, 2… tríos paciente/datos/creado.
# Añade solo los que caben (XLEN < límite) y recuerda los ids bajo el testigo una hora; sin MAXLEN: no recorta nada.
PUBLISH_WITH_ROOM = """
local done = redis.call('GET', KEYS[2])
if done then return cjson.decode(done) end
local free = tonumber(ARGV[1]) - redis.call('XLEN', KEYS[1])
local ids = {}
for i = 2, #ARGV, 3 do
  if #ids >= free then break end
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'patient_id', ARGV[i], 'data', ARGV[i + 1],
                             'created_at', ARGV[i + 2])
end
redis.call('SET', KEYS[2], cjson.encode(ids), 'EX', 3600)
return ids
"""


class PublishError(SchemesError):
    """El productor se rindió: `ids` son los eventos publicados y `unsent` los que no pudo enviar."""

    def __init__(self, message, ids, unsent):
        super().__init__(message)
        self.ids, self.unsent = ids, unsent


class Backoff:
    """Espera creciente y acotada: first, 2·first, 4·first… hasta cap. `reset()` al recuperarse."""

    def __init__(self, first=BACKOFF_FIRST_S, cap=BACKOFF_CAP_S):
        self.first, self.cap, self.next = first, cap, first

    def reset(self):
        self.next = self.first

    def sleep(self, should_stop=lambda: False):
        """Espera la vez que toca (se corta antes si `should_stop()`) y dobla la siguiente, sin pasar de cap."""
        deadline = time.monotonic() + self.next
        self.next = min(self.cap, self.next * 2)
        while not should_stop() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.05, left))


class Outage:
    """Recuerda si Redis está caído para decirlo UNA vez al caer y otra al volver."""

    def __init__(self, log, who, url, label):
        self.log, self.who, self.url, self.label = log, who, url, label
        self.since = None
        self.backoff = Backoff()

    @property
    def active(self):
        return self.since is not None

    def down(self, error, doing):
        if self.since is None:
            self.since = time.monotonic()
            self.log(f"{self.who} Redis no responde en {self.label} ({mask_text(short(error), self.url)}): "
                     f"{doing}, con esperas crecientes de hasta {number(self.backoff.cap, 0)} s.")

    def up(self, doing):
        if self.since is not None:
            self.log(f"{self.who} Redis vuelve a responder tras {duration(time.monotonic() - self.since)}: {doing}.")
            self.since = None
            self.backoff.reset()


def short(error):
    text = str(error) or type(error).__name__
    return text if len(text) <= 160 else text[:160] + "…"


def next_id(entry_id):
    """El id justo después de `entry_id` («ms-seq» → «ms-(seq+1)»)."""
    ms, seq = entry_id.split("-")
    return f"{ms}-{int(seq) + 1}"


def id_key(entry_id):
    return tuple(int(part) for part in entry_id.split("-"))


def acknowledged_floor(client, events):
    """El primer id que algún grupo aún necesita; lo anterior está confirmado por TODOS los grupos.

    Por grupo: su pendiente más antiguo o, sin pendientes, el siguiente al último entregado. None si no hay
    grupos (nadie ha leído nada: no se puede borrar nada). Solo puede subir con el tiempo (entregar y
    confirmar lo hacen avanzar), así que calcularlo fuera de Redis y recortar después es seguro.
    """
    if not client.exists(events):
        return None
    floors = []
    for group in client.xinfo_groups(events):
        oldest = client.xpending(events, group["name"])["min"] if group["pending"] else None
        floors.append(oldest or next_id(group["last-delivered-id"]))
    return min(floors, key=id_key) if floors else None


def trim_acknowledged(client, events):
    """XTRIM MINID al primer id que aún se necesita: borra solo eventos confirmados. Devuelve cuántos."""
    floor = acknowledged_floor(client, events)
    return client.xtrim(events, minid=floor, approximate=False) if floor else 0


class Producer:
    """El lado de la app: publica sin perder ni duplicar eventos, con Redis caído o con el stream lleno."""

    def __init__(self, client, events, maxlen, *, wait_s, log, url, label):
        self.client, self.events, self.maxlen, self.wait_s, self.log = client, events, maxlen, wait_s, log
        self.outage = Outage(log, "[productor]", url, label)
        self.script = client.register_script(PUBLISH_WITH_ROOM)

    def publish(self, events):
        """`events`: [(paciente, datos JSON, creado)]. Devuelve los ids; PublishError si se rinde."""
        ids, pending, held_since = [], list(events), None
        token, progress_at = uuid.uuid4().hex, time.monotonic()
        room = Backoff(0.02, 0.5)
        try:
            while pending:
                try:
                    added = self._add(token, pending[:CHUNK])
                    self.outage.up("sigo publicando")
                except RETRYABLE as error:
                    self.outage.down(error, "reintento la publicación")
                    self._give_up_if_stuck(progress_at, ids, pending, f"Redis no respondió ({short(error)})")
                    self.outage.backoff.sleep()
                    continue
                token = uuid.uuid4().hex  # la llamada se completó: la siguiente es otra
                if added:
                    ids += added
                    pending, progress_at = pending[len(added):], time.monotonic()
                    if held_since:  # ya hay sitio: deja de estar retenido
                        held_since = self._release()
                    room.reset()
                    continue
                held_since = held_since or time.time()
                if self._make_room(held_since, len(pending)):
                    continue
                self._give_up_if_stuck(progress_at, ids, pending, self._full_reason())
                room.sleep()
        finally:
            if held_since:
                self._release()
        return ids

    def _add(self, token, chunk):
        flat = [str(item) for event in chunk for item in event]
        return self.script(keys=[self.events, BATCH_PREFIX + token], args=[self.maxlen, *flat])

    def _make_room(self, held_since, waiting):
        """Recorta lo ya confirmado; si no libera nada, marca al productor como retenido. ¿Hay sitio ahora?"""
        try:
            if trim_acknowledged(self.client, self.events):
                return True
            self.client.set(HELD, json.dumps({"since": held_since, "waiting": waiting}), ex=HELD_TTL_S)
        except RETRYABLE:
            pass  # el siguiente intento de publicar lo dirá
        return False

    def _release(self):
        try:
            self.client.delete(HELD)
        except RETRYABLE:
            pass  # caduca sola en HELD_TTL_S
        return None

    def _full_reason(self):
        return (f"el stream {self.events} está lleno ({number(self.maxlen, 0)} eventos sin confirmar, "
                "SCHEMES_STREAM_MAXLEN) y ningún consumidor hizo sitio")

    def _give_up_if_stuck(self, progress_at, ids, pending, reason):
        if time.monotonic() - progress_at < self.wait_s:
            return
        total = len(ids) + len(pending)
        raise PublishError(f"La app publicó {number(len(ids), 0)} de {number(total, 0)} eventos y no pudo enviar "
                           f"{number(len(pending), 0)}: {reason} en {number(self.wait_s, 0)} s "
                           "(SCHEMES_PRODUCER_WAIT_S). Publícalos otra vez cuando `python -m schemes status` "
                           "muestre sitio y consumidores en marcha.", ids, len(pending))


def held_back(client):
    """Si el productor está esperando sitio: {"seconds": desde cuándo, "waiting": cuántos eventos}; si no, None."""
    raw = client.get(HELD)
    if not raw:
        return None
    state = json.loads(raw)
    return {"seconds": max(0.0, time.time() - state["since"]), "waiting": state["waiting"]}
