"""Esquema 1, base de datos compartida: un trabajo por lotes puntúa lo nuevo y la app lee una tabla.

    app ──INSERT/UPDATE──▶ patients ──(cada N s o cada noche)──▶ trabajo por lotes ──▶ predictions
    app ◀──SELECT──────────────────────────────────────────────────────────────────────┘

El trabajo, en UNA transacción:
  1. lee la marca de agua de la versión publicada del modelo en `job_runs` (ninguna = versión nueva:
     se puntúan todas las pacientes);
  2. lee de `patients` las filas con `updated_at` posterior a la marca (nuevas o cambiadas);
  3. predice y escribe `predictions` con upsert por (patient_id, model_version);
  4. apunta la ejecución y la marca nueva en `job_runs`, y confirma.
Si muere a medias, la base de datos no ve nada (ni predicciones sueltas ni marca adelantada); la
siguiente ejecución repite el trabajo. Repetirlo no duplica filas: el upsert sobrescribe.

SQLite (un archivo, sin servidor) por defecto; PostgreSQL si DATABASE_URL empieza por postgresql://.
Con los controladores DB-API (sqlite3 y psycopg 3) y el mismo SQL en los dos: ver el README.
Las horas son segundos desde 1970 (UTC) en DOUBLE PRECISION: igual en los dos motores.
"""

import os
import re
import sqlite3
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path

from workshop.modelfiles import ModelError
from workshop.secrets import mask_text, mask_url
from workshop.settings import root
from workshop.spanish import number

from .common import SchemesError, event_cost, live_model, live_version, row_from_patient

DEFAULT_URL = "sqlite:///results/esquemas.sqlite3"  # relativa a la raíz del repositorio
CHUNK = 500  # filas por executemany dentro de la transacción


def database_url():
    return os.environ.get("DATABASE_URL", "").strip() or DEFAULT_URL


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
    def transaction(self):
        """Todo o nada. En SQLite, BEGIN IMMEDIATE toma ya el turno de escritura: así nadie escribe
        entre nuestra lectura y nuestra escritura."""
        if self.kind == "postgresql":
            with self.connection.transaction():
                yield
            return
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

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


def ensure_schema(db, features):
    """Crea las tres tablas si faltan. `patients` tiene una columna por variable de la ficha."""
    columns = ",\n  ".join(f"{column_name(f['name'])} {'BIGINT' if f['type'] == 'integer' else 'DOUBLE PRECISION'}"
                           for f in features)
    with db.transaction():
        db.execute(f"""CREATE TABLE IF NOT EXISTS patients (
  id BIGINT PRIMARY KEY,
  {columns},
  updated_at DOUBLE PRECISION NOT NULL)""")
        db.execute("""CREATE TABLE IF NOT EXISTS predictions (
  patient_id BIGINT NOT NULL,
  model_version TEXT NOT NULL,
  prediction INTEGER NOT NULL,
  probability DOUBLE PRECISION NOT NULL,
  scored_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (patient_id, model_version))""")
        db.execute("""CREATE TABLE IF NOT EXISTS job_runs (
  run_id TEXT PRIMARY KEY,
  model_version TEXT NOT NULL,
  started_at DOUBLE PRECISION NOT NULL,
  finished_at DOUBLE PRECISION NOT NULL,
  watermark DOUBLE PRECISION,
  patients_scored INTEGER NOT NULL)""")
        db.execute("CREATE INDEX IF NOT EXISTS patients_updated_at ON patients (updated_at)")


# ------------------------------------------------------------------ lado de la app


def write_patients(db, features, patients, updated_at=None):
    """La app guarda pacientes nuevas o cambiadas [(id, datos)] (upsert por id) y marca `updated_at`."""
    names = [column_name(f["name"]) for f in features]
    text = (f"INSERT INTO patients (id, {', '.join(names)}, updated_at) VALUES ({', '.join('?' * (len(names) + 2))}) "
            f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{n} = excluded.{n}' for n in [*names, 'updated_at'])}")
    stamp = time.time() if updated_at is None else updated_at
    rows = [(patient_id, *(data[f["name"]] for f in features), stamp) for patient_id, data in patients]
    with db.transaction():
        db.executemany(text, rows)
    return stamp


def app_view(db, limit=None):
    """Lo que vería la app: la predicción más reciente de cada paciente y si sus datos cambiaron después."""
    rows = db.query("""
SELECT p.id, r.model_version, r.prediction, r.probability, r.scored_at, p.updated_at
FROM patients p
LEFT JOIN predictions r ON r.patient_id = p.id
  AND r.scored_at = (SELECT MAX(scored_at) FROM predictions WHERE patient_id = p.id)
ORDER BY p.id""")
    view = [{"patient_id": row[0], "model_version": row[1], "prediction": row[2], "probability": row[3],
             "scored_at": row[4], "updated_at": row[5], "fresh": row[4] is not None and row[4] >= row[5]}
            for row in rows]
    return view[:limit] if limit else view


def predicted_ids(db, low, high):
    """Las pacientes con id en [low, high] que ya tienen alguna predicción (la app ya puede leerla)."""
    return {row[0] for row in db.query("SELECT DISTINCT patient_id FROM predictions WHERE patient_id BETWEEN ? AND ?",
                                       (low, high))}


# ------------------------------------------------------------------ el trabajo por lotes


def run_batch(db, model, cost_ms=0.0, chunk=CHUNK, log=print):
    """Una ejecución del trabajo (ver el docstring del módulo). Devuelve su resumen."""
    features = model.card["features"]
    ensure_schema(db, features)
    started = time.time()
    names = [column_name(f["name"]) for f in features]
    with db.transaction():
        (watermark,), = db.query("SELECT MAX(watermark) FROM job_runs WHERE model_version = ?", (model.version,))
        select = f"SELECT id, {', '.join(names)}, updated_at FROM patients"
        if watermark is None:  # versión nueva (o ninguna paciente todavía): todas
            log(f"Versión {model.version} sin marca de agua: se puntúan todas las pacientes.")
            rows = db.query(select + " ORDER BY updated_at, id")
        else:
            rows = db.query(select + " WHERE updated_at > ? ORDER BY updated_at, id", (watermark,))
        chunks = [rows[i:i + chunk] for i in range(0, len(rows), chunk)]
        skipped = 0
        for block, part in enumerate(chunks, 1):
            event_cost(cost_ms, len(part))
            valid, values = [], []
            for row in part:  # una fila con un dato imposible no para el lote: se salta y se dice
                try:
                    values.append(row_from_patient(dict(zip(model.feature_names, row[1:-1], strict=True)),
                                                   model.feature_names))
                    valid.append(row)
                except ValueError as error:
                    skipped += 1
                    log(f"  paciente {row[0]}: {error}; no se puntúa")
            part = valid
            results, _ = model.predict_rows(values) if values else ([], [])
            scored_at = time.time()
            db.executemany("""
INSERT INTO predictions (patient_id, model_version, prediction, probability, scored_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (patient_id, model_version) DO UPDATE SET
  prediction = excluded.prediction, probability = excluded.probability, scored_at = excluded.scored_at""",
                           [(row[0], model.version, result["prediction"], result["probability"], scored_at)
                            for row, result in zip(part, results, strict=True)])
            if len(chunks) > 1:
                log(f"  bloque {block}/{len(chunks)}: {len(part)} predicciones escritas (sin confirmar todavía)")
        new_watermark = rows[-1][-1] if rows else watermark
        finished = time.time()
        db.execute("INSERT INTO job_runs (run_id, model_version, started_at, finished_at, watermark, patients_scored) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (uuid.uuid4().hex, model.version, started, finished, new_watermark, len(rows) - skipped))
    summary = {"model_version": model.version, "scored": len(rows) - skipped, "skipped": skipped,
               "started_at": started, "finished_at": finished, "watermark": new_watermark,
               "seconds": finished - started}
    log(f"[lote {time.strftime('%H:%M:%S', time.localtime(started))}] {model.version}: "
        f"{number(summary['scored'], 0)} pacientes nuevas o cambiadas puntuadas en {number(summary['seconds'], 3)} s"
        + (f"; marca de agua → {clock(new_watermark)}" if new_watermark is not None else ""))
    return summary


class BatchJob:
    """El trabajo con su modelo: lo recarga solo cuando se publica otra versión."""

    def __init__(self, url=None, model_dir=None, cost_ms=0.0, log=print):
        self.url, self.model_dir, self.cost_ms, self.log = url, model_dir, cost_ms, log
        self.model = None

    def run_once(self):
        if self.model is None or live_version(self.model_dir) != self.model.version:
            self.model = live_model(self.model_dir)
        with opened(self.url) as db:
            return run_batch(db, self.model, self.cost_ms, log=self.log)

    def run_every(self, seconds, should_stop):
        """Cada `seconds` segundos, a horas fijas (no «espera tras acabar»): la obsolescencia media de
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
