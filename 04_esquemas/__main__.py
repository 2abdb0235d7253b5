"""Línea de órdenes de la etapa 04: `python -m schemes <orden>` (ver `--help` de cada una).

    batch     el trabajo por lotes (una vez, o cada N segundos con --every)
    patients  la app guarda pacientes nuevas o cambia algunas (lado de la app, base de datos)
    app       lo que vería la app: la predicción más reciente de cada paciente
    produce   la app publica eventos de pacientes en el stream de Redis
    worker    un consumidor del grupo: predice y publica resultados
    status    lag, pendientes, ocupación frente al límite, productor retenido, consumidores y muertos
    demo      los tres esquemas con las mismas pacientes y la tabla de la charla (`make demo-4`)

Base de datos: DATABASE_URL (SQLite en results/ por defecto). Redis: REDIS_URL (127.0.0.1:6379).
Las URL se imprimen siempre con la contraseña tapada (****). Redis y PostgreSQL necesitan los paquetes
de `make setup-dev`; la ayuda y el trabajo por lotes con SQLite funcionan sin ellos.
"""

import argparse
import random
import sys

from diabetes_model.patients import random_patients
from workshop.argparse_es import SpanishArgumentParser
from workshop.spanish import number

from .common import event_cost_from_env, exit_code, live_model, stop_flag


def cmd_batch(args):
    from .batch import BatchJob

    job = BatchJob(args.database, args.model_dir, args.cost_ms)
    if args.every:
        job.run_every(args.every, stop_flag())
    else:
        job.run_once()


def cmd_patients(args):
    from .batch import ensure_schema, opened, write_patients

    features = live_model(args.model_dir).card["features"]
    with opened(args.database) as db:
        ensure_schema(db, features)
        ids = [row[0] for row in db.query("SELECT id FROM patients ORDER BY id")]
        start = (ids[-1] + 1) if ids else 1
        new = list(enumerate(random_patients(features, args.add, seed=args.seed or start), start))
        rng = random.Random(args.seed)
        changed = rng.sample(ids, min(args.change, len(ids)))
        # Un cambio: datos nuevos para esas pacientes (como si la app los hubiera editado).
        edits = list(zip(changed, random_patients(features, len(changed), seed=rng.randrange(10**9)), strict=True))
        if new or edits:
            write_patients(db, features, new + edits)
    print(f"La app guardó {number(len(new), 0)} pacientes nuevas y cambió {number(len(edits), 0)} "
          f"en {db.label}." + (f" Cambiadas: {', '.join(map(str, sorted(changed)))}." if changed else ""))


def cmd_app(args):
    from .batch import app_view, clock, opened

    with opened(args.database) as db:
        view = app_view(db)
    if not view:
        print("La app no tiene pacientes todavía: guarda algunas con `python -m schemes patients --add 10`.")
        return
    print(f"{'paciente':>8}  {'versión':<16} {'riesgo':<7} {'probabilidad':>12}  {'puntuada a las':<14} estado")
    for row in view[-args.limit:] if args.limit else view:
        if row["model_version"] is None:
            print(f"{row['patient_id']:>8}  {'—':<16} {'—':<7} {'—':>12}  {'—':<14} sin predicción todavía")
            continue
        state = "al día" if row["fresh"] else "OBSOLETA: los datos cambiaron después"
        print(f"{row['patient_id']:>8}  {row['model_version']:<16} {'alto' if row['prediction'] else 'bajo':<7} "
              f"{number(row['probability'], 3):>12}  {clock(row['scored_at']):<14} {state}")
    missing = sum(1 for row in view if row["model_version"] is None)
    stale = sum(1 for row in view if row["model_version"] is not None and not row["fresh"])
    print(f"{number(len(view), 0)} pacientes: {number(missing, 0)} sin predicción y {number(stale, 0)} con una "
          "predicción obsoleta (esperan al siguiente lote).")


def cmd_produce(args):
    from .stream import RedisStreams

    features = live_model(args.model_dir).card["features"]
    broker = RedisStreams(args.redis_url)
    patients = random_patients(features, args.patients, seed=args.seed)
    ids = broker.publish(list(enumerate(patients, args.first_id)))
    print(f"La app publicó {number(len(ids), 0)} eventos en {broker.events} ({broker.label}).")


def cmd_worker(args):
    from .stream import RedisStreams, Worker

    broker = RedisStreams(args.redis_url)
    worker = Worker(broker, name=args.name, model_dir=args.model_dir, max_attempts=args.max_attempts,
                    claim_idle_ms=args.claim_idle_ms, count=args.count, cost_ms=args.cost_ms,
                    log=lambda text: print(text, flush=True))
    worker.run(stop_flag())


def cmd_status(args):
    from .stream import RedisStreams

    broker = RedisStreams(args.redis_url)
    state = broker.status()
    print(f"Redis en {broker.label}; en {broker.events} caben {number(broker.maxlen, 0)} eventos sin confirmar "
          "(SCHEMES_STREAM_MAXLEN): lleno, el productor espera; solo se borra lo que el grupo ya confirmó.")
    print(f"{broker.events}: {number(state['events'], 0)} eventos · lag (sin entregar) {number(state['lag'], 0)} · "
          f"pendientes (entregados sin confirmar) {number(state['pending'], 0)}")
    fill = state["events"] / state["maxlen"]
    held = state["held"]
    print(f"ocupación: {number(state['events'], 0)} de {number(state['maxlen'], 0)} ({number(100 * fill, 0)} %) · "
          + (f"productor RETENIDO desde hace {number(held['seconds'], 1)} s: espera sitio para "
             f"{number(held['waiting'], 0)} eventos" if held else "productor sin retener"))
    print(f"{broker.results}: {number(state['results'], 0)} resultados · {broker.dead}: {number(state['dead'], 0)} "
          "mensajes muertos")
    for consumer in state["consumers"]:
        print(f"  consumidor {consumer['name']}: {number(consumer['pending'], 0)} pendientes, inactivo "
              f"{number(consumer['idle_ms'] / 1000, 1)} s")


def cmd_demo(args):
    from .demo import main

    return main()


def parser():
    top = SpanishArgumentParser(prog="python -m schemes", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True, metavar="orden")
    add_database_commands(commands)
    add_stream_commands(commands)
    add_command(commands, "demo", cmd_demo,
                "Los tres esquemas con las mismas pacientes y la tabla de la charla (make demo-4).")
    return top


def add_command(commands, name, function, text, connection=None):
    """Una orden con --model-dir y, según `connection`, --database o --redis-url."""
    sub = commands.add_parser(name, help=text, description=text)
    sub.set_defaults(function=function)
    sub.add_argument("--model-dir", default=None, metavar="CARPETA",
                     help="carpeta del modelo (por defecto MODEL_DIR de workshop.env)")
    if connection == "database":
        sub.add_argument("--database", default=None, metavar="URL",
                         help="URL de la base de datos (por defecto DATABASE_URL o SQLite)")
    elif connection == "redis":
        sub.add_argument("--redis-url", default=None, metavar="URL",
                         help="URL de Redis (por defecto REDIS_URL o 127.0.0.1:6379)")
    return sub


def add_database_commands(commands):
    """Esquema 1: el trabajo por lotes y el lado de la app (guardar pacientes, leer predicciones)."""
    sub = add_command(commands, "batch", cmd_batch,
                      "Trabajo por lotes: puntúa las pacientes nuevas o cambiadas desde la última vez.", "database")
    sub.add_argument("--every", type=positive_float, default=None, metavar="SEGUNDOS",
                     help="repetir cada tantos segundos hasta Ctrl+C (sin esto, una sola ejecución)")
    sub.add_argument("--cost-ms", type=non_negative_float, default=0.0, metavar="MS",
                     help="coste simulado por paciente en ms (un modelo más pesado); 0 = desactivado (0)")
    sub = add_command(commands, "patients", cmd_patients,
                      "La app guarda pacientes nuevas y cambia algunas existentes.", "database")
    sub.add_argument("--add", type=non_negative_int, default=10, metavar="N", help="pacientes nuevas (10)")
    sub.add_argument("--change", type=non_negative_int, default=0, metavar="N",
                     help="pacientes existentes que cambian (0)")
    sub.add_argument("--seed", type=int, default=None, metavar="N", help="semilla de los datos inventados")
    sub = add_command(commands, "app", cmd_app,
                      "Lo que vería la app: la predicción más reciente de cada paciente.", "database")
    sub.add_argument("--limit", type=non_negative_int, default=20, metavar="N",
                     help="cuántas pacientes mostrar (20; 0 = todas)")


def add_stream_commands(commands):
    """Esquema 3: publicar eventos, el consumidor y el estado del stream."""
    sub = add_command(commands, "produce", cmd_produce, "La app publica eventos de pacientes en el stream.", "redis")
    sub.add_argument("--patients", type=non_negative_int, default=10, metavar="N", help="cuántos eventos (10)")
    sub.add_argument("--first-id", type=int, default=1, metavar="ID", help="id de la primera paciente (1)")
    sub.add_argument("--seed", type=int, default=0, metavar="N", help="semilla de los datos inventados (0)")
    sub = add_command(commands, "worker", cmd_worker,
                      "Un consumidor del grupo: predice y publica resultados (Ctrl+C para parar).", "redis")
    sub.add_argument("--name", default=None, metavar="NOMBRE", help="nombre del consumidor en el grupo (máquina-PID)")
    sub.add_argument("--max-attempts", type=positive_int, default=3, metavar="N",
                     help="intentos antes de ir a muertos (3)")
    sub.add_argument("--claim-idle-ms", type=positive_int, default=5000, metavar="MS",
                     help="reclamar pendientes sin confirmar desde hace tantos ms (5000)")
    sub.add_argument("--count", type=positive_int, default=50, metavar="N", help="eventos por lectura (50)")
    sub.add_argument("--cost-ms", type=non_negative_float, default=None, metavar="MS",
                     help="coste simulado por evento en ms; por defecto SCHEMES_EVENT_COST_MS o 0 (desactivado)")
    add_command(commands, "status", cmd_status, "Lag, pendientes, ocupación, productor retenido, consumidores y "
                "mensajes muertos del stream.", "redis")


def _number(convert, minimum, strict):
    def check(text):
        try:
            value = convert(text.replace(",", "."))
        except ValueError:
            raise argparse.ArgumentTypeError(f"«{text}» no es un número válido") from None
        if value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"«{text}» debe ser {'mayor que' if strict else 'al menos'} {minimum}")
        return value

    return check


positive_int = _number(int, 0, strict=True)
non_negative_int = _number(int, 0, strict=False)
positive_float = _number(float, 0, strict=True)
non_negative_float = _number(float, 0, strict=False)


def main(argv=None):
    args = parser().parse_args(argv)

    def run():
        if getattr(args, "cost_ms", 0) is None:  # el consumidor sin --cost-ms: SCHEMES_EVENT_COST_MS
            args.cost_ms = event_cost_from_env()
        return args.function(args)

    return exit_code(run, "Interrumpido (Ctrl+C).")


if __name__ == "__main__":
    sys.exit(main())
