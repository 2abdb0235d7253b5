"""Esquema 1, base de datos compartida: un trabajo por lotes puntúa lo nuevo y la app lee una tabla.

    app ──INSERT/UPDATE──▶ patients ──(cada N s o cada noche)──▶ trabajo por lotes ──▶ predictions
    app ◀──SELECT──────────────────────────────────────────────────────────────────────┘

Cada escritura de la app sube la **revisión** de la paciente (`patients.revision`, un contador que la
propia base de datos incrementa en el upsert) y cada predicción apunta la revisión que puntuó
(`predictions.patient_revision`). El trabajo, en UNA transacción:
  1. lee las pacientes sin predicción de la versión publicada del modelo o cuya revisión cambió desde
     que se puntuaron (una versión nueva no tiene ninguna: se puntúan todas);
  2. predice y escribe `predictions` con upsert por (patient_id, model_version), con la revisión leída;
  3. apunta la ejecución en `job_runs` y confirma.
Así cada paciente se puntúa una vez por cambio, sin mirar ningún reloj: un cambio que se confirma
tarde (o desde una máquina con la hora atrasada) sigue teniendo otra revisión y se puntúa en el
siguiente lote. Si el trabajo muere a medias, la base de datos no ve nada; la siguiente ejecución
repite el trabajo y el upsert no duplica filas. `updated_at` y `scored_at` son solo informativas.

SQLite (un archivo, sin servidor) por defecto; PostgreSQL si DATABASE_URL empieza por postgresql://.
Con los controladores DB-API (sqlite3 y psycopg 3) y el mismo SQL en los dos: ver el README.
En PostgreSQL, el lote espera un bloqueo como mucho SCHEMES_LOCK_TIMEOUT_S segundos (10) y, si no
llega, lo dice y no escribe nada. Las horas son segundos desde 1970 (UTC) en DOUBLE PRECISION.
"""

import os
import re
import sqlite3
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path

from diabetes_model.store import ModelError
from workshop.environment import env_number, root
from workshop.secrets import mask_text, mask_url
from workshop.spanish import number

from .common import SchemesError, event_cost, live_model, live_version, row_from_patient

DEFAULT_URL = "sqlite:///results/esquemas.sqlite3"  # relativa a la raíz del repositorio
CHUNK = 500  # filas por executemany dentro de la transacción
LOCK_TIMEOUT_S = 10.0  # cuánto espera el lote un bloqueo en PostgreSQL (SCHEMES_LOCK_TIMEOUT_S)
LOCK_NOT_AVAILABLE = "55P03"  # el SQLSTATE de PostgreSQL cuando se agota lock_timeout


def database_url():
    return os.environ.get("DATABASE_URL", "").strip() or DEFAULT_URL


def lock_timeout_from_env():
    """SCHEMES_LOCK_TIMEOUT_S: segundos que el lote espera un bloqueo en PostgreSQL (10; admite coma decimal)."""
    return env_number("SCHEMES_LOCK_TIMEOUT_S", LOCK_TIMEOUT_S, float, minimum=0.01)


def column_name(feature_name):
    """«DiabetesPedigreeFunction» → «diabetes_pedigree_function»: nombres de columna sin comillas."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", feature_name).lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
        raise SchemesError(f"La variable «{feature_name}» de la ficha no sirve como nombre de columna.")
    return name


class Database:
    """Una conexión DB-API a SQLite o PostgreSQL con la misma forma de usarla.

    Las consultas se escriben con `?` (el estilo de sqlite3); para psycopg se cambia por `%s`.
    """

    def __init__(self, url=None):
        self.url = url or database_url()
        self.label = mask_url(self.url)  # lo que se imprime: sin la contraseña
        if self.url.startswith(("postgresql://", "postgres://")):
            import psycopg  # fuera del try: si falta el paquete, lo dice `common.explain` (make setup-dev)

            self.kind, self.errors = "postgresql", (psycopg.Error,)
        elif self.url.startswith("sqlite:///"):
            self.kind, self.errors = "sqlite", (sqlite3.Error,)
        else:
            raise SchemesError(f"DATABASE_URL={self.label!r} no es válida: usa sqlite:///ruta/archivo.sqlite3 "
                               "o postgresql://usuario@servidor:puerto/base.")
        try:
            if self.kind == "postgresql":  # autocommit: cada transacción se abre explícitamente con `transaction()`
                self.connection = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            else:
                self.connection = self._sqlite()
        except Exception as error:  # el controlador no conecta: una frase, sin traceback ni contraseña
            raise SchemesError(f"No puedo abrir la base de datos {self.label} ({self.mask(short(error))}): "
                               "comprueba que está arrancada y DATABASE_URL.") from None

    def _sqlite(self):
        path = Path(self.url.removeprefix("sqlite:///"))
        path = path if path.is_absolute() else root() / path
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: sin transacciones implícitas; timeout: espera si otro escribe.
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        # WAL: la app puede leer mientras el trabajo escribe (y al revés).
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def mask(self, text):
        """Un mensaje del controlador sin la contraseña de la URL."""
        return mask_text(text, self.url)

    def sql(self, text):
        return text.replace("?", "%s") if self.kind == "postgresql" else text

    def execute(self, text, params=()):
        return self.connection.execute(self.sql(text), params)

    def query(self, text, params=()):
        return list(self.execute(text, params).fetchall())

    def executemany(self, text, rows):
        cursor = self.connection.cursor()
        cursor.executemany(self.sql(text), rows)

    @contextmanager
    def transaction(self, lock_timeout=None):
        """Todo o nada. En SQLite, BEGIN IMMEDIATE toma ya el turno de escritura: así nadie escribe
        entre nuestra lectura y nuestra escritura. En PostgreSQL, `lock_timeout` (segundos) acota la
        espera de cada bloqueo dentro de la transacción (SET LOCAL); None = sin límite."""
        if self.kind == "postgresql":
            with self.connection.transaction():
                if lock_timeout is not None:  # en milisegundos; 0 sería «sin límite»
                    milliseconds = max(1, round(lock_timeout * 1000))
                    self.execute("SELECT set_config('lock_timeout', ?, true)", (f"{milliseconds}ms",))
                yield
            return
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def columns(self, table):
        """Los nombres de las columnas de una tabla que existe (para poner al día una base de datos antigua)."""
        return {column[0] for column in self.execute(f"SELECT * FROM {table} WHERE 1 = 0").description}

    def close(self):
        self.connection.close()


@contextmanager
def opened(url=None):
    """La base de datos abierta; los errores del controlador salen como SchemesError en español."""
    database = Database(url)
    try:
        with closing(database):
            yield database
    except database.errors as error:
        raise SchemesError(f"La base de datos {database.label} respondió con un error: "
                           f"{database.mask(short(error))}") from None


def ensure_schema(db, features, lock_timeout=None):
    """Crea las tres tablas si faltan y pone al día las de una versión anterior del taller.

    `patients` tiene una columna por variable de la ficha y `revision`, que sube con cada escritura.
    """
    columns = ",\n  ".join(f"{column_name(f['name'])} {'BIGINT' if f['type'] == 'integer' else 'DOUBLE PRECISION'}"
                           for f in features)
    with db.transaction(lock_timeout):
        db.execute(f"""CREATE TABLE IF NOT EXISTS patients (
  id BIGINT PRIMARY KEY,
  {columns},
  revision BIGINT NOT NULL DEFAULT 1,
  updated_at DOUBLE PRECISION NOT NULL)""")
        db.execute("""CREATE TABLE IF NOT EXISTS predictions (
  patient_id BIGINT NOT NULL,
  model_version TEXT NOT NULL,
  patient_revision BIGINT NOT NULL,
  prediction INTEGER NOT NULL,
  probability DOUBLE PRECISION NOT NULL,
  scored_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (patient_id, model_version))""")
        db.execute("""CREATE TABLE IF NOT EXISTS job_runs (
  run_id TEXT PRIMARY KEY,
  model_version TEXT NOT NULL,
  started_at DOUBLE PRECISION NOT NULL,
  finished_at DOUBLE PRECISION NOT NULL,
  patients_scored INTEGER NOT NULL)""")
        # Tablas de antes de las revisiones (con marca de agua): las predicciones viejas quedan con la
        # revisión 0, que no es la de ninguna paciente, y el siguiente lote las vuelve a puntuar todas, una vez.
        if "revision" not in db.columns("patients"):
            db.execute("ALTER TABLE patients ADD COLUMN revision BIGINT NOT NULL DEFAULT 1")
        if "patient_revision" not in db.columns("predictions"):
            db.execute("ALTER TABLE predictions ADD COLUMN patient_revision BIGINT NOT NULL DEFAULT 0")


# ------------------------------------------------------------------ lado de la app


def write_patients(db, features, patients, updated_at=None):
    """La app guarda pacientes nuevas o cambiadas [(id, datos)] (upsert por id).

    La base de datos sube `revision` en cada cambio (empieza en 1): eso es lo que mira el lote. `updated_at`
    (la hora de esta máquina, o la que se pase) es solo informativa: un reloj no ordena las confirmaciones.
    Devuelve esa hora.
    """
    names = [column_name(f["name"]) for f in features]
    text = (f"INSERT INTO patients (id, {', '.join(names)}, updated_at) VALUES ({', '.join('?' * (len(names) + 2))}) "
            f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{n} = excluded.{n}' for n in [*names, 'updated_at'])}, "
            "revision = patients.revision + 1")
    stamp = time.time() if updated_at is None else updated_at
    rows = [(patient_id, *(data[f["name"]] for f in features), stamp) for patient_id, data in patients]
    with db.transaction():
        db.executemany(text, rows)
    return stamp


def app_view(db, limit=None):
    """Lo que vería la app: la predicción más reciente de cada paciente y si puntuó sus datos actuales
    («fresh»: la revisión puntuada es la de ahora; si no, los datos cambiaron después)."""
    rows = db.query("""
SELECT p.id, r.model_version, r.prediction, r.probability, r.scored_at, p.updated_at, r.patient_revision, p.revision
FROM patients p
LEFT JOIN predictions r ON r.patient_id = p.id
  AND r.scored_at = (SELECT MAX(scored_at) FROM predictions WHERE patient_id = p.id)
ORDER BY p.id""")
    view = [{"patient_id": row[0], "model_version": row[1], "prediction": row[2], "probability": row[3],
             "scored_at": row[4], "updated_at": row[5], "fresh": row[6] is not None and row[6] == row[7]}
            for row in rows]
    return view[:limit] if limit else view


def predicted_ids(db, low, high):
    """Las pacientes con id en [low, high] que ya tienen alguna predicción (la app ya puede leerla)."""
    return {row[0] for row in db.query("SELECT DISTINCT patient_id FROM predictions WHERE patient_id BETWEEN ? AND ?",
                                       (low, high))}


# ------------------------------------------------------------------ el trabajo por lotes


# Qué necesita cada paso del lote en PostgreSQL: las tablas, para qué y los modos de bloqueo de otra
# sesión que lo hacen esperar (leer choca solo con ACCESS EXCLUSIVE; escribir, también con SHARE y EXCLUSIVE).
READ_BLOCKERS = ("AccessExclusiveLock",)
WRITE_BLOCKERS = ("ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
STEPS = {"schema": (("patients", "predictions", "job_runs"), "comprobar las tablas (crearlas o ponerlas al día)",
                    WRITE_BLOCKERS),
         "read": (("patients", "predictions"), "leer las pacientes pendientes", READ_BLOCKERS),
         "write": (("predictions",), "escribir las predicciones", WRITE_BLOCKERS),
         "log": (("job_runs",), "apuntar la ejecución", WRITE_BLOCKERS)}


def run_batch(db, model, cost_ms=0.0, chunk=CHUNK, log=print, lock_timeout=None):
    """Una ejecución del trabajo (ver el docstring del módulo). Devuelve su resumen.

    En PostgreSQL, cada bloqueo se espera como mucho `lock_timeout` s (por defecto SCHEMES_LOCK_TIMEOUT_S);
    si no llega, no escribe nada y lanza SchemesError con lo que esperaba y quién lo tiene.
    """
    lock_timeout = lock_timeout_from_env() if lock_timeout is None else lock_timeout
    step = ["schema"]  # el paso en curso, para decir qué bloqueo esperaba
    try:
        ensure_schema(db, model.card["features"], lock_timeout)
        summary = score_pending(db, model, cost_ms, chunk, log, lock_timeout, step)
    except db.errors as error:
        if getattr(error, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise SchemesError(lock_message(db, step[0], lock_timeout)) from None
    log(f"[lote {time.strftime('%H:%M:%S', time.localtime(summary['started_at']))}] {model.version}: "
        f"{number(summary['scored'], 0)} pacientes nuevas o cambiadas puntuadas en {number(summary['seconds'], 3)} s")
    return summary


def score_pending(db, model, cost_ms, chunk, log, lock_timeout, step):
    """En una transacción: las pacientes sin predicción de esta versión o con otra revisión, puntuadas."""
    started = time.time()
    names = [column_name(f["name"]) for f in model.card["features"]]
    with db.transaction(lock_timeout):
        step[0] = "read"
        if not db.query("SELECT 1 FROM predictions WHERE model_version = ? LIMIT 1", (model.version,)):
            log(f"Versión {model.version} sin predicciones todavía: se puntúan todas las pacientes.")
        rows = db.query(f"""
SELECT p.id, {', '.join(f'p.{name}' for name in names)}, p.revision FROM patients p
LEFT JOIN predictions r ON r.patient_id = p.id AND r.model_version = ?
WHERE r.patient_id IS NULL OR r.patient_revision <> p.revision
ORDER BY p.id""", (model.version,))
        step[0] = "write"
        chunks = [rows[i:i + chunk] for i in range(0, len(rows), chunk)]
        scored = 0
        for block, part in enumerate(chunks, 1):
            written = score_chunk(db, model, part, cost_ms, log)
            scored += written
            if len(chunks) > 1:
                log(f"  bloque {block}/{len(chunks)}: {written} predicciones escritas (sin confirmar todavía)")
        step[0] = "log"
        finished = time.time()
        db.execute("INSERT INTO job_runs (run_id, model_version, started_at, finished_at, patients_scored) "
                   "VALUES (?, ?, ?, ?, ?)", (uuid.uuid4().hex, model.version, started, finished, scored))
    return {"model_version": model.version, "scored": scored, "skipped": len(rows) - scored,
            "started_at": started, "finished_at": finished, "seconds": finished - started}


def score_chunk(db, model, part, cost_ms, log):
    """Predice un bloque de filas (id, variables…, revisión) y lo escribe con su revisión. Devuelve cuántas."""
    event_cost(cost_ms, len(part))
    valid, values = [], []
    for row in part:  # una fila con un dato imposible no para el lote: se salta y se dice
        try:
            values.append(row_from_patient(dict(zip(model.feature_names, row[1:-1], strict=True)),
                                           model.feature_names))
            valid.append(row)
        except ValueError as error:
            log(f"  paciente {row[0]}: {error}; no se puntúa")
    results, _ = model.predict_rows(values) if values else ([], [])
    scored_at = time.time()
    db.executemany("""
INSERT INTO predictions (patient_id, model_version, patient_revision, prediction, probability, scored_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (patient_id, model_version) DO UPDATE SET patient_revision = excluded.patient_revision,
  prediction = excluded.prediction, probability = excluded.probability, scored_at = excluded.scored_at""",
                   [(row[0], model.version, row[-1], result["prediction"], result["probability"], scored_at)
                    for row, result in zip(valid, results, strict=True)])
    return len(valid)


def lock_message(db, step, seconds):
    """La frase de un lote que se rindió esperando un bloqueo de PostgreSQL: qué esperaba y quién lo tiene."""
    tables, purpose, blockers = STEPS[step]
    try:  # la transacción ya se deshizo; la otra sesión suele seguir con su bloqueo
        holders = db.query("SELECT c.relname, l.pid, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                           "WHERE l.granted AND l.pid <> pg_backend_pid() AND c.relname::text = ANY(?) "
                           "AND l.mode = ANY(?) ORDER BY c.relname, l.pid", (list(tables), list(blockers)))
    except db.errors:
        holders = []
    if holders:
        what = " y ".join(f"la tabla {name}" for name in dict.fromkeys(row[0] for row in holders))
        who = "; ".join(f"la sesión de PostgreSQL con PID {pid} lo tiene ({mode})" for _, pid, mode in holders)
    else:  # p. ej. filas que otra transacción está cambiando
        what = f"{'la tabla' if len(tables) == 1 else 'las tablas'} {' y '.join(tables)} (o de algunas de sus filas)"
        who = "lo tiene otra transacción"
    return (f"El trabajo por lotes esperó {number(seconds, 1)} s (SCHEMES_LOCK_TIMEOUT_S) el bloqueo de {what} "
            f"para {purpose} y no escribió nada: {who}; cuando acabe esa transacción (mira pg_stat_activity), "
            "el siguiente lote lo hará.")


class BatchJob:
    """El trabajo con su modelo: lo recarga solo cuando se publica otra versión."""

    def __init__(self, url=None, model_dir=None, cost_ms=0.0, log=print, lock_timeout=None):
        self.url, self.model_dir, self.cost_ms, self.log = url, model_dir, cost_ms, log
        self.lock_timeout = lock_timeout  # None: SCHEMES_LOCK_TIMEOUT_S
        self.model = None

    def run_once(self):
        if self.model is None or live_version(self.model_dir) != self.model.version:
            self.model = live_model(self.model_dir)
        with opened(self.url) as db:
            return run_batch(db, self.model, self.cost_ms, log=self.log, lock_timeout=self.lock_timeout)

    def run_every(self, seconds, should_stop):
        """Cada `seconds` segundos, a horas fijas (no «espera tras acabar»): la antigüedad media de
        una predicción es entonces ≈ intervalo/2 + duración de una ejecución."""
        self.log(f"Trabajo por lotes cada {number(seconds, 1)} s sobre {mask_url(self.url or database_url())}. "
                 "Ctrl+C para parar.")
        next_run = time.monotonic()
        while not should_stop():
            try:
                self.run_once()
            except (SchemesError, ModelError) as error:  # p. ej. la base de datos no responde
                self.log(f"Esta ejecución falló y se reintentará en {number(seconds, 1)} s: {error}")
            next_run = max(next_run + seconds, time.monotonic())  # si una ejecución se alarga, no se acumulan
            while not should_stop() and time.monotonic() < next_run:
                time.sleep(min(0.05, max(0.0, next_run - time.monotonic())))


def clock(epoch):
    return time.strftime("%H:%M:%S", time.localtime(epoch)) + f",{int(epoch % 1 * 1000):03d}"


def short(error):
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "…"
