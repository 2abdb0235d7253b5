"""Etapa 04, base de datos compartida: el trabajo por lotes es idempotente, incremental y todo-o-nada.

Cada prueba corre con SQLite (un archivo) y con PostgreSQL (un servidor real de Debian en 127.0.0.1,
arrancado por esta sesión de pruebas y parado al acabar, también si falla).
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from diabetes_model.patients import random_patients
from schemes import servers
from schemes.batch import BatchJob, app_view, column_name, ensure_schema, opened, write_patients
from schemes.common import live_model, row_from_patient
from support import add_version, free_port, model_home, need, run_to_exit, stop, wait_until
from support import publish as publish_version
from workshop.processes import start

# Arranca servidores reales en 127.0.0.1: fuera de `make test-fast`.
pytestmark = pytest.mark.server

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def pg_tools():
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else PG_BIN


@pytest.fixture(scope="session")
def postgres():
    """Un PostgreSQL de Debian en 127.0.0.1 (sus binarios, como los instala `.ci/run`). Devuelve su URL base."""
    tools = pg_tools()
    need((tools / "pg_ctl").is_file(), "falta PostgreSQL (apt-get install postgresql)")
    # En /tmp y no en la carpeta temporal de pytest (solo root puede entrar en ella).
    folder = Path(tempfile.mkdtemp(prefix="esquemas-pg-"))
    as_postgres = []
    if os.geteuid() == 0:  # initdb no se ejecuta como root: el servidor corre como el usuario postgres
        need(shutil.which("runuser") is not None, "falta runuser para arrancar PostgreSQL como root")
        shutil.chown(folder, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = folder / "data"

    def pg(tool, *args):
        result = subprocess.run([*as_postgres, str(tools / tool), *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{tool} falló:\n{result.stdout}{result.stderr}"

    try:
        pg("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        pg("pg_ctl", "-D", str(data), "-o", f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off",
           "-l", str(folder / "log"), "-w", "start")
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_postgres, str(tools / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Una base de datos vacía: un archivo SQLite nuevo o una base nueva en el PostgreSQL de la sesión."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'taller.sqlite3'}"
    import psycopg

    base = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


@pytest.fixture()
def home(model_dir, tmp_path):
    """Un MODEL_DIR privado con la versión publicada del taller (se le pueden publicar versiones)."""
    return model_home(model_dir, tmp_path / "modelo")


def quiet(*_):
    pass


def add_patients(url, card, count, first_id=1, seed=0):
    patients = list(enumerate(random_patients(card["features"], count, seed=seed), first_id))
    with opened(url) as db:
        ensure_schema(db, card["features"])
        write_patients(db, card["features"], patients)
    return patients


def table(url, name, order, columns="*"):
    with opened(url) as db:
        return db.query(f"SELECT {columns} FROM {name} ORDER BY {order}")


def predictions(url):
    """(paciente, versión, predicción, probabilidad, hora, revisión puntuada) de cada predicción."""
    return table(url, "predictions", "patient_id, model_version",
                 "patient_id, model_version, prediction, probability, scored_at, patient_revision")


def test_running_twice_gives_the_same_rows(database_url, home, card):
    add_patients(database_url, card, 40)
    job = BatchJob(database_url, home, log=quiet)
    first = job.run_once()
    before = predictions(database_url)
    second = job.run_once()  # nada cambió: no puntúa nada y no toca ninguna fila
    assert (first["scored"], second["scored"]) == (40, 0)
    assert predictions(database_url) == before
    # Aunque se pierdan las revisiones apuntadas y se repita todo, el upsert no duplica: mismas filas.
    with opened(database_url) as db:
        db.execute("UPDATE predictions SET patient_revision = 0")
    assert job.run_once()["scored"] == 40
    after = predictions(database_url)
    assert len(after) == 40
    assert [row[:4] for row in after] == [row[:4] for row in before]  # paciente, versión, predicción, probabilidad


def test_only_what_changed_is_rescored(database_url, home, card):
    patients = add_patients(database_url, card, 30)
    job = BatchJob(database_url, home, log=quiet)
    job.run_once()
    before = {row[0]: row for row in predictions(database_url)}
    changed = {3, 17, 29}
    new_data = random_patients(card["features"], len(changed), seed=99)
    with opened(database_url) as db:
        write_patients(db, card["features"], list(zip(sorted(changed), new_data, strict=True)))
        stale = {row["patient_id"] for row in app_view(db) if not row["fresh"]}
    assert stale == changed  # la app ve predicciones obsoletas hasta el siguiente lote
    add_patients(database_url, card, 2, first_id=31, seed=5)  # y dos pacientes nuevas
    summary = job.run_once()
    after = {row[0]: row for row in predictions(database_url)}
    rescored = {pid for pid in after if pid not in before or after[pid][4] != before[pid][4]}
    assert summary["scored"] == 5 and rescored == changed | {31, 32}
    assert all(after[pid] == before[pid] for pid in before if pid not in changed)
    with opened(database_url) as db:
        assert all(row["fresh"] for row in app_view(db))
    assert len(patients) + 2 == len(after)


def test_a_new_model_version_rescores_every_patient(database_url, home, card):
    add_patients(database_url, card, 25)
    job = BatchJob(database_url, home, log=quiet)
    first = job.run_once()["model_version"]
    add_version(home, "v-prueba-nueva")
    publish_version(home, "v-prueba-nueva")
    summary = job.run_once()
    assert summary == {**summary, "model_version": "v-prueba-nueva", "scored": 25}
    rows = predictions(database_url)
    assert len(rows) == 50 and {row[1] for row in rows} == {first, "v-prueba-nueva"}
    with opened(database_url) as db:
        assert {row["model_version"] for row in app_view(db)} == {"v-prueba-nueva"}
    assert job.run_once()["scored"] == 0


@pytest.mark.slow
def test_a_run_that_dies_halfway_leaves_the_previous_state(database_url, home, card, tmp_path):
    add_patients(database_url, card, 10)
    BatchJob(database_url, home, log=quiet).run_once()
    before = (predictions(database_url), table(database_url, "job_runs", "run_id"))
    add_patients(database_url, card, 1200, first_id=11, seed=1)  # tres bloques de 500 dentro de la transacción
    env = {"DATABASE_URL": database_url, "MODEL_DIR": str(home)}
    # Un modelo «más pesado» (coste simulado de 2 ms por paciente): cada bloque tarda ~1 s.
    job = start(servers.python_module("batch", "--cost-ms", "2"), tmp_path / "lote.log", env=env)
    try:
        wait_until(lambda: "bloque 1/3" in job.log_path.read_text() or job.poll() is not None, 60,
                   "el trabajo no escribió su primer bloque")
        assert job.poll() is None, job.log_path.read_text()
        job.send_signal(signal.SIGKILL)  # se cae la máquina a mitad de la transacción
        job.wait(10)
    finally:
        stop(job)
    assert (predictions(database_url), table(database_url, "job_runs", "run_id")) == before
    # La siguiente ejecución lo hace todo, una vez.
    code, out, err = run_to_exit([sys.executable, "-m", "schemes", "batch"], env=env)
    assert code == 0, err
    assert "1.200 pacientes nuevas o cambiadas puntuadas" in out
    assert len(predictions(database_url)) == 1210


def test_sqlite_and_postgresql_give_the_same_predictions(postgres, home, card, tmp_path):
    import psycopg

    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as connection:
        connection.execute("CREATE DATABASE misma_tabla")
    urls = [f"sqlite:///{tmp_path / 'misma.sqlite3'}", f"{postgres}/misma_tabla"]
    for url in urls:
        add_patients(url, card, 60, seed=7)
        BatchJob(url, home, log=quiet).run_once()
    sqlite_rows, postgres_rows = ([row[:4] for row in predictions(url)] for url in urls)
    assert len(sqlite_rows) == 60
    assert sqlite_rows == postgres_rows


def test_cli_patients_batch_and_app_view(tmp_path, home):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "MODEL_DIR": str(home)}

    def cli(*args):
        code, out, err = run_to_exit([sys.executable, "-m", "schemes", *args], env=env)
        assert code == 0 and "Traceback" not in err, err
        return out

    assert "guardó 12 pacientes nuevas" in cli("patients", "--add", "12")
    assert "12 sin predicción" in cli("app", "--limit", "0")
    assert "12 pacientes nuevas o cambiadas puntuadas" in cli("batch")
    assert "cambió 2" in cli("patients", "--add", "0", "--change", "2", "--seed", "1")
    view = cli("app", "--limit", "0")
    assert view.count("OBSOLETA") == 2 and "0 sin predicción y 2 con una predicción obsoleta" in view
    assert "2 pacientes nuevas o cambiadas puntuadas" in cli("batch")
    assert "OBSOLETA" not in cli("app")


@pytest.mark.parametrize("url, message", [
    ("postgresql://postgres@127.0.0.1:{port}/nada", "No puedo abrir la base de datos"),
    ("mysql://localhost/taller", "no es válida: usa sqlite:///"),
])
def test_an_unreachable_or_unknown_database_is_one_spanish_sentence(url, message, home):
    url = url.format(port=free_port())
    for command in (["batch"], ["app"], ["patients"]):
        code, out, err = run_to_exit([sys.executable, "-m", "schemes", *command],
                                     env={"DATABASE_URL": url, "MODEL_DIR": str(home)})
        assert code == 1 and message in err, err
        assert "Traceback" not in err and err.count("\n") == 1


def test_scheduled_job_keeps_going_when_the_database_fails(tmp_path, home):
    """Con --every, una ejecución que falla se dice y se reintenta en la siguiente; SIGTERM lo para con 0."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nada"
    job = start(servers.python_module("batch", "--every", "0.2"), tmp_path / "cada.log",
                env={"DATABASE_URL": url, "MODEL_DIR": str(home)})
    try:
        wait_until(lambda: job.log_path.read_text().count("se reintentará") >= 2 or job.poll() is not None, 60,
                   "el trabajo programado no reintentó")
        assert job.poll() is None
        job.send_signal(signal.SIGTERM)
        assert job.wait(15) == 0
    finally:
        stop(job)
    assert "Traceback" not in job.log_path.read_text()


# ------------------------------------------------------------------ cada cambio, puntuado una vez (sin relojes)


def unscored_or_stale(url, model_dir):
    """Las pacientes sin predicción de la versión publicada y las que la tienen de otros datos: se
    vuelve a predecir con los datos de ahora y se compara la probabilidad (sin mirar revisiones ni horas)."""
    model = live_model(model_dir)
    names = [column_name(f["name"]) for f in model.card["features"]]
    with opened(url) as db:
        rows = db.query(f"SELECT p.id, {', '.join(f'p.{n}' for n in names)}, r.probability FROM patients p "
                        "LEFT JOIN predictions r ON r.patient_id = p.id AND r.model_version = ? ORDER BY p.id",
                        (model.version,))
    missing = {row[0] for row in rows if row[-1] is None}
    scored = [row for row in rows if row[-1] is not None]
    results, _ = model.predict_rows([row_from_patient(dict(zip(model.feature_names, row[1:-1], strict=True)),
                                                      model.feature_names) for row in scored])
    stale = {row[0] for row, result in zip(scored, results, strict=True) if abs(result["probability"] - row[-1]) > 1e-9}
    return missing, stale


@pytest.mark.timeout(60)  # un lote que esperase el bloqueo de A sin límite no la colgaría
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_write_that_commits_after_a_later_one_is_scored(database_url, home, card):
    """A guarda (y marca su hora) en una transacción que sigue abierta; B guarda después y confirma; el lote
    puntúa a B; A confirma: el lote siguiente puntúa a A, aunque su hora sea anterior a la de B."""
    features = card["features"]
    first, second = random_patients(features, 2, seed=3)
    job = BatchJob(database_url, home, log=quiet)
    with opened(database_url) as writer_a, opened(database_url) as writer_b:
        ensure_schema(writer_a, features)
        with writer_a.transaction():  # dentro, write_patients es un SAVEPOINT: A no confirma todavía
            stamp_a = write_patients(writer_a, features, [(1, first)])
            stamp_b = write_patients(writer_b, features, [(2, second)])
            assert stamp_a < stamp_b
            assert job.run_once()["scored"] == 1  # solo B: el lote no ve lo que A no ha confirmado
        assert job.run_once()["scored"] == 1  # A
    assert unscored_or_stale(database_url, home) == (set(), set())
    with opened(database_url) as db:
        assert all(row["fresh"] for row in app_view(db))


def test_a_writer_with_its_clock_behind_is_scored(database_url, home, card):
    """Otra máquina de la app con la hora un minuto atrasada guarda una paciente nueva y cambia otra
    después de un lote: el lote siguiente puntúa las dos, y la app ve la cambiada como obsoleta hasta entonces."""
    features = card["features"]
    add_patients(database_url, card, 3)
    job = BatchJob(database_url, home, log=quiet)
    assert job.run_once()["scored"] == 3
    late = time.time() - 60
    with opened(database_url) as db:
        write_patients(db, features, list(zip([4, 2], random_patients(features, 2, seed=11), strict=True)),
                       updated_at=late)
        view = {row["patient_id"]: row for row in app_view(db)}
    assert view[4]["model_version"] is None and not view[2]["fresh"] and view[1]["fresh"]
    assert unscored_or_stale(database_url, home) == ({4}, {2})
    assert job.run_once()["scored"] == 2
    assert unscored_or_stale(database_url, home) == (set(), set())
    assert job.run_once()["scored"] == 0  # un cambio, una vez


def test_concurrent_writers_and_a_batch_loop_leave_nothing_behind(database_url, home, card):
    """4 escritoras (cada una con su conexión) guardan pacientes nuevas y cambian otras mientras el lote
    corre en bucle; tras UN lote final no queda ninguna sin predicción ni con una obsoleta."""
    features = card["features"]
    with opened(database_url) as db:
        ensure_schema(db, features)
    lock, ids, errors, writing = threading.Lock(), [0], [], threading.Event()
    deadline = time.monotonic() + 20

    def writer(seed):
        rng = random.Random(seed)
        try:
            with opened(database_url) as db:
                for _ in range(200):
                    with lock:
                        changed = rng.sample(range(1, ids[0] + 1), min(2, ids[0]))
                        new = list(range(ids[0] + 1, ids[0] + 1 + rng.randint(1, 3)))
                        ids[0] += len(new)
                    data = random_patients(features, len(new) + len(changed), seed=rng.randrange(10**9))
                    write_patients(db, features, list(zip(new + changed, data, strict=True)))
                    if time.monotonic() > deadline:
                        break
        except Exception as error:  # se comprueba al final, en el hilo de la prueba
            errors.append(error)

    def batch_loop():
        job = BatchJob(database_url, home, log=quiet)
        while writing.is_set() and not errors:
            job.run_once()

    writing.set()
    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    loop = threading.Thread(target=batch_loop)
    for thread in [loop, *threads]:
        thread.start()
    for thread in threads:
        thread.join(60)
    writing.clear()
    loop.join(60)
    assert not errors, errors
    BatchJob(database_url, home, log=quiet).run_once()
    assert ids[0] >= 400
    assert unscored_or_stale(database_url, home) == (set(), set())


def test_an_old_database_with_a_watermark_is_brought_up_to_date(database_url, home, card):
    """Las tablas de antes (marca de agua en job_runs, sin revisiones): el lote les añade las columnas,
    vuelve a puntuar una vez todo lo que había y después sigue como siempre."""
    features = card["features"]
    names = [column_name(f["name"]) for f in features]
    patients = list(enumerate(random_patients(features, 5, seed=2), 1))
    columns = ", ".join(f"{name} DOUBLE PRECISION" for name in names)
    with opened(database_url) as db:
        db.execute(f"CREATE TABLE patients (id BIGINT PRIMARY KEY, {columns}, updated_at DOUBLE PRECISION NOT NULL)")
        db.execute("CREATE TABLE predictions (patient_id BIGINT NOT NULL, model_version TEXT NOT NULL, prediction "
                   "INTEGER NOT NULL, probability DOUBLE PRECISION NOT NULL, scored_at DOUBLE PRECISION NOT NULL, "
                   "PRIMARY KEY (patient_id, model_version))")
        db.execute("CREATE TABLE job_runs (run_id TEXT PRIMARY KEY, model_version TEXT NOT NULL, started_at DOUBLE "
                   "PRECISION NOT NULL, finished_at DOUBLE PRECISION NOT NULL, watermark DOUBLE PRECISION, "
                   "patients_scored INTEGER NOT NULL)")
        db.executemany(f"INSERT INTO patients VALUES ({', '.join('?' * (len(names) + 2))})",
                       [(pid, *(data[f["name"]] for f in features), 1.0) for pid, data in patients])
        db.execute("INSERT INTO predictions VALUES (1, ?, 0, 0.5, 2.0)", (live_model(home).version,))
        db.execute("INSERT INTO job_runs VALUES ('viejo', 'v', 0.0, 2.0, 1.0, 1)")
    job = BatchJob(database_url, home, log=quiet)
    assert job.run_once()["scored"] == 5
    assert unscored_or_stale(database_url, home) == (set(), set())
    with opened(database_url) as db:
        write_patients(db, features, [(3, patients[0][1])])
    assert job.run_once()["scored"] == 1 and job.run_once()["scored"] == 0


# ------------------------------------------------------------------ PostgreSQL: un bloqueo se espera con límite


@contextmanager
def locked(url, statement):
    """Otra sesión de PostgreSQL con `statement` (un LOCK TABLE) en una transacción abierta. Devuelve su PID."""
    import psycopg

    with psycopg.connect(url) as connection:  # sin autocommit: la transacción sigue abierta hasta salir
        connection.execute(statement)
        try:
            yield connection.info.backend_pid
        finally:
            connection.rollback()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("statement, waited", [
    ("LOCK TABLE predictions IN EXCLUSIVE MODE", "el bloqueo de la tabla predictions para escribir las predicciones"),
    ("LOCK TABLE patients IN ACCESS EXCLUSIVE MODE", "el bloqueo de la tabla patients para comprobar las tablas"),
])
def test_a_batch_waiting_for_a_lock_gives_up_and_says_which(database_url, home, card, statement, waited):
    add_patients(database_url, card, 5)
    env = {"DATABASE_URL": database_url, "MODEL_DIR": str(home), "SCHEMES_LOCK_TIMEOUT_S": "0,5"}
    with locked(database_url, statement) as pid:
        # Sin lock_timeout esperaría para siempre: la orden se para a los 30 s y la prueba falla.
        code, out, err = run_to_exit([sys.executable, "-m", "schemes", "batch"], env=env, timeout=30)
    assert code == 1, (code, out, err)
    assert waited in err and f"la sesión de PostgreSQL con PID {pid} lo tiene" in err, err
    assert "esperó 0,5 s (SCHEMES_LOCK_TIMEOUT_S)" in err and "no escribió nada" in err, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert predictions(database_url) == []
    code, out, err = run_to_exit([sys.executable, "-m", "schemes", "batch"], env=env)  # sin el bloqueo, sí
    assert code == 0 and "5 pacientes nuevas o cambiadas puntuadas" in out, err


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_scheduled_batch_keeps_going_after_a_lock_timeout(database_url, home, card, tmp_path):
    add_patients(database_url, card, 5)
    env = {"DATABASE_URL": database_url, "MODEL_DIR": str(home), "SCHEMES_LOCK_TIMEOUT_S": "0,3"}
    with locked(database_url, "LOCK TABLE predictions IN EXCLUSIVE MODE"):
        job = start(servers.python_module("batch", "--every", "0.2"), tmp_path / "cada.log", env=env)
        try:
            wait_until(lambda: job.log_path.read_text().count("la tabla predictions para escribir") >= 2
                       or job.poll() is not None, 60, "el lote programado no se rindió dos veces")
            assert job.poll() is None, job.log_path.read_text()
        except BaseException:
            stop(job)
            raise
    try:  # sin el bloqueo, la siguiente ejecución puntúa
        wait_until(lambda: "5 pacientes nuevas o cambiadas puntuadas" in job.log_path.read_text()
                   or job.poll() is not None, 60, "el lote programado no volvió a puntuar")
        assert job.poll() is None
        job.send_signal(signal.SIGTERM)
        assert job.wait(15) == 0
    finally:
        stop(job)
    assert "se reintentará" in job.log_path.read_text() and "Traceback" not in job.log_path.read_text()



# ------------------------------------------------------------------ nada secreto en la salida

SECRET = "Cl4ve-del-Taller"  # la contraseña de las URL de estas pruebas: no puede salir en ninguna parte


def test_mask_url_hides_only_the_password():
    from workshop.secrets import mask_text, mask_url

    assert mask_url("postgresql://taller:taller@127.0.0.1:5432/taller") == "postgresql://taller:****@127.0.0.1:5432/taller"
    assert mask_url(f"redis://:{SECRET}@127.0.0.1:6379/0") == "redis://:****@127.0.0.1:6379/0"
    assert mask_url(f"redis://usuaria:{SECRET}@redis:6379/0") == "redis://usuaria:****@redis:6379/0"
    assert mask_url(f"postgresql://db/taller?sslmode=disable&password={SECRET}") == \
        "postgresql://db/taller?sslmode=disable&password=****"
    # Una contraseña sin escapar con «@», «/» o «?»: se tapa de más, nunca de menos.
    assert SECRET not in mask_url(f"postgresql://taller:{SECRET}/@?x@127.0.0.1/taller")
    for plain in ("sqlite:///results/esquemas.sqlite3", "redis://127.0.0.1:6379/0", "postgresql://taller@db/taller"):
        assert mask_url(plain) == plain
    url = f"postgresql://taller:{SECRET.replace('-', '%2D')}@db/taller"
    assert SECRET not in mask_text(f"el controlador dijo: {SECRET} en {url}", url)


@pytest.fixture()
def redis_with_password(tmp_path):
    """Un redis-server en 127.0.0.1 que pide la contraseña SECRET. Devuelve su URL (con la contraseña)."""
    from schemes.common import SchemesError

    try:
        binary = servers.redis_server_binary()
    except SchemesError:
        binary = None
    need(binary is not None, "falta redis-server (apt-get install redis-server)")
    import redis

    port = free_port()
    process = start([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                     "--dir", str(tmp_path), "--requirepass", SECRET], tmp_path / "redis.log")
    url = f"redis://:{SECRET}@127.0.0.1:{port}/0"

    def answers():
        try:
            return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    try:
        wait_until(lambda: answers() or process.poll() is not None, 15, "redis-server no respondió")
        assert process.poll() is None, process.log_path.read_text()
        yield url
    finally:
        stop(process)


def run_schemes(*args, env, timeout=60):
    code, out, err = run_to_exit([sys.executable, "-m", "schemes", *args], env=env, timeout=timeout)
    return code, out + err


@pytest.mark.slow
def test_no_command_prints_a_password(postgres, redis_with_password, home, served_model_dir, tmp_path):
    """Cada orden que recibe DATABASE_URL o REDIS_URL con contraseña la imprime tapada (****), también en
    los errores, en el trabajo programado, en la demo y en el informe que escribe; nunca la contraseña."""
    import psycopg

    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as connection:
        connection.execute("CREATE DATABASE con_clave")
    # El PostgreSQL de las pruebas confía en 127.0.0.1 (trust): acepta la URL con cualquier contraseña.
    database = postgres.replace("://postgres@", f"://postgres:{SECRET}@") + "/con_clave"
    assert SECRET in database
    env = {"DATABASE_URL": database, "REDIS_URL": redis_with_password, "MODEL_DIR": str(home)}
    outputs = {}
    for command in (["patients", "--add", "5"], ["batch"], ["app"], ["produce", "--patients", "3"], ["status"]):
        code, outputs[" ".join(command)] = run_schemes(*command, env=env)
        assert code == 0, outputs[" ".join(command)]
    assert "postgres:****@127.0.0.1" in outputs["patients --add 5"]
    assert ":****@127.0.0.1" in outputs["produce --patients 3"] and ":****@127.0.0.1" in outputs["status"]
    # Los errores: una URL que no se entiende, un servidor que no responde.
    nobody = free_port()
    for name, value, command in (
            ("DATABASE_URL", f"mysql://taller:{SECRET}@127.0.0.1/taller", ["batch"]),
            ("DATABASE_URL", f"postgresql://taller:{SECRET}@127.0.0.1:{nobody}/nada", ["batch"]),
            ("REDIS_URL", f"redis://:{SECRET}@127.0.0.1:{nobody}/0", ["status"]),
            ("REDIS_URL", f"http://:{SECRET}@127.0.0.1:{nobody}/0", ["produce"])):
        code, outputs[f"{name}={value}"] = run_schemes(*command, env={**env, name: value})
        assert code == 1 and "****" in outputs[f"{name}={value}"], outputs[f"{name}={value}"]
    # El trabajo programado (el servicio `batch` de Docker Compose) dice al arrancar sobre qué base trabaja.
    job = start(servers.python_module("batch", "--every", "0.2"), tmp_path / "cada.log", env=env)
    try:
        wait_until(lambda: "[lote" in job.log_path.read_text() or job.poll() is not None, 60, "el lote no corrió")
    finally:
        stop(job)
    outputs["batch --every"] = job.log_path.read_text()
    assert "sobre postgresql://postgres:****@127.0.0.1" in outputs["batch --every"]
    # La demo corta contra esos dos servidores, y el informe que escribe.
    short = {"SCHEMES_PATIENTS": "12", "SCHEMES_SECONDS": "1", "SCHEMES_BATCH_INTERVAL": "0.5",
             "SCHEMES_BURST": "200", "SCHEMES_OUTPUT": str(tmp_path / "results"), "MODEL_DIR": str(served_model_dir)}
    code, outputs["demo"] = run_schemes("demo", env={**env, **short}, timeout=240)
    assert code == 0, outputs["demo"][-3000:]
    assert "Redis: el de REDIS_URL (redis://:****@127.0.0.1" in outputs["demo"]
    for report in ("esquemas.json", "esquemas.md"):
        outputs[report] = (tmp_path / "results" / report).read_text(encoding="utf-8")
    assert "postgres:****@" in outputs["esquemas.json"]
    leaks = [name for name, text in outputs.items() if SECRET in text]
    assert not leaks, f"la contraseña sale en: {leaks}"
