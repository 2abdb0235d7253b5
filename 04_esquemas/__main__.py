"""Línea de órdenes de la etapa 04: `python -m schemes <orden>` (ver `--help` de cada una).

    batch     el trabajo por lotes (una vez, o cada N segundos con --every)
    patients  la app guarda pacientes nuevas o cambia algunas (lado de la app, base de datos)
    app       lo que vería la app: la predicción más reciente de cada paciente
    produce   la app publica eventos de pacientes en el stream de Redis
    worker    un consumidor del grupo: predice y publica resultados
    status    lag, pendientes, consumidores y mensajes muertos del stream
    demo      los tres esquemas con las mismas pacientes y la tabla de la charla (`make demo-4`)

Base de datos: DATABASE_URL (SQLite en results/ por defecto). Redis: REDIS_URL (127.0.0.1:6379).
"""

import argparse
import random
import sys

import redis

from diabetes_api.argparse_es import SpanishArgumentParser

from .common import ModelError, SchemesError, env_float, es_number, load_model, make_patients


def cost_default():
    return env_float("SCHEMES_EVENT_COST_MS", 0.0)


def cmd_batch(args):
    from .batch import BatchJob
    from .stream import stop_flag

    job = BatchJob(args.database, args.model_dir, args.cost_ms)
    if args.every:
        job.run_every(args.every, stop_flag())
    else:
        job.run_once()


def cmd_patients(args):
    from .batch import ensure_schema, opened, write_patients

    features = load_model(args.model_dir).card["features"]
    with opened(args.database) as db:
        ensure_schema(db, features)
        ids = [row[0] for row in db.query("SELECT id FROM patients ORDER BY id")]
        start = (ids[-1] + 1) if ids else 1
        new = list(enumerate(make_patients(features, args.add, seed=args.seed or start), start))
        rng = random.Random(args.seed)
        changed = rng.sample(ids, min(args.change, len(ids)))
        # Un cambio: datos nuevos para esas pacientes (como si la app los hubiera editado).
        edits = list(zip(changed, make_patients(features, len(changed), seed=rng.randrange(10**9)), strict=True))
        if new or edits:
            write_patients(db, features, new + edits)
    print(f"La app guardó {es_number(len(new))} pacientes nuevas y cambió {es_number(len(edits))} "
          f"en {db.url}." + (f" Cambiadas: {', '.join(map(str, sorted(changed)))}." if changed else ""))


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
              f"{es_number(row['probability'], 3):>12}  {clock(row['scored_at']):<14} {state}")
    missing = sum(1 for row in view if row["model_version"] is None)
    stale = sum(1 for row in view if row["model_version"] is not None and not row["fresh"])
    print(f"{es_number(len(view))} pacientes: {es_number(missing)} sin predicción y {es_number(stale)} con una "
          "predicción obsoleta (esperan al siguiente lote).")


def cmd_produce(args):
    from .stream import RedisStreams

    features = load_model(args.model_dir).card["features"]
    broker = RedisStreams(args.redis_url)
    patients = make_patients(features, args.patients, seed=args.seed)
    ids = broker.publish(list(enumerate(patients, args.first_id)))
    print(f"La app publicó {es_number(len(ids))} eventos en {broker.events} ({broker.url}).")


def cmd_worker(args):
    from .stream import RedisStreams, Worker, stop_flag

    broker = RedisStreams(args.redis_url)
    worker = Worker(broker, name=args.name, model_dir=args.model_dir, max_attempts=args.max_attempts,
                    claim_idle_ms=args.claim_idle_ms, count=args.count, cost_ms=args.cost_ms,
                    log=lambda text: print(text, flush=True))
    worker.run(stop_flag())


def cmd_status(args):
    from .stream import RedisStreams

    broker = RedisStreams(args.redis_url)
    state = broker.status()
    print(f"{broker.events}: {es_number(state['events'])} eventos · lag (sin entregar) {es_number(state['lag'])} · "
          f"pendientes (entregados sin confirmar) {es_number(state['pending'])}")
    print(f"{broker.results}: {es_number(state['results'])} resultados · {broker.dead}: {es_number(state['dead'])} "
          "mensajes muertos")
    for consumer in state["consumers"]:
        print(f"  consumidor {consumer['name']}: {es_number(consumer['pending'])} pendientes, inactivo "
              f"{es_number(consumer['idle_ms'] / 1000, 1)} s")


def cmd_demo(args):
    from .demo import main

    return main()


def parser():
    top = SpanishArgumentParser(prog="python -m schemes", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True, metavar="orden")

    def add(name, function, text):
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(function=function)
        sub.add_argument("--model-dir", default=None, metavar="CARPETA",
                         help="carpeta del modelo (por defecto MODEL_DIR de workshop.env)")
        return sub

    def database(sub):
        sub.add_argument("--database", default=None, metavar="URL",
                         help="URL de la base de datos (por defecto DATABASE_URL o SQLite)")

    def broker(sub):
        sub.add_argument("--redis-url", default=None, metavar="URL",
                         help="URL de Redis (por defecto REDIS_URL o 127.0.0.1:6379)")

    sub = add("batch", cmd_batch, "Trabajo por lotes: puntúa las pacientes nuevas o cambiadas desde la última vez.")
    database(sub)
    sub.add_argument("--every", type=positive_float, default=None, metavar="SEGUNDOS",
                     help="repetir cada tantos segundos hasta Ctrl+C (sin esto, una sola ejecución)")
    sub.add_argument("--cost-ms", type=non_negative_float, default=0.0, metavar="MS",
                     help="coste simulado por paciente en ms (un modelo más pesado); 0 = desactivado (0)")

    sub = add("patients", cmd_patients, "La app guarda pacientes nuevas y cambia algunas existentes.")
    database(sub)
    sub.add_argument("--add", type=non_negative_int, default=10, metavar="N", help="pacientes nuevas (10)")
    sub.add_argument("--change", type=non_negative_int, default=0, metavar="N",
                     help="pacientes existentes que cambian (0)")
    sub.add_argument("--seed", type=int, default=None, metavar="N", help="semilla de los datos inventados")

    sub = add("app", cmd_app, "Lo que vería la app: la predicción más reciente de cada paciente.")
    database(sub)
    sub.add_argument("--limit", type=non_negative_int, default=20, metavar="N",
                     help="cuántas pacientes mostrar (20; 0 = todas)")

    sub = add("produce", cmd_produce, "La app publica eventos de pacientes en el stream.")
    broker(sub)
    sub.add_argument("--patients", type=non_negative_int, default=10, metavar="N", help="cuántos eventos (10)")
    sub.add_argument("--first-id", type=int, default=1, metavar="ID", help="id de la primera paciente (1)")
    sub.add_argument("--seed", type=int, default=0, metavar="N", help="semilla de los datos inventados (0)")

    sub = add("worker", cmd_worker, "Un consumidor del grupo: predice y publica resultados (Ctrl+C para parar).")
    broker(sub)
    sub.add_argument("--name", default=None, metavar="NOMBRE", help="nombre del consumidor en el grupo (máquina-PID)")
    sub.add_argument("--max-attempts", type=positive_int, default=3, metavar="N",
                     help="intentos antes de ir a muertos (3)")
    sub.add_argument("--claim-idle-ms", type=positive_int, default=5000, metavar="MS",
                     help="reclamar pendientes sin confirmar desde hace tantos ms (5000)")
    sub.add_argument("--count", type=positive_int, default=50, metavar="N", help="eventos por lectura (50)")
    sub.add_argument("--cost-ms", type=non_negative_float, default=None, metavar="MS",
                     help="coste simulado por evento en ms; por defecto SCHEMES_EVENT_COST_MS o 0 (desactivado)")

    sub = add("status", cmd_status, "Lag, pendientes, consumidores y mensajes muertos del stream.")
    broker(sub)
    add("demo", cmd_demo, "Los tres esquemas con las mismas pacientes y la tabla de la charla (make demo-4).")
    return top


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
    try:
        if getattr(args, "cost_ms", 0) is None:
            args.cost_ms = cost_default()
        return args.function(args) or 0
    except (SchemesError, ModelError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except (redis.ConnectionError, redis.TimeoutError) as error:
        print(f"Error: se perdió la conexión con Redis ({error}). Comprueba que sigue arrancado y vuelve a "
              "lanzar la orden.", file=sys.stderr)
        return 1
    except redis.RedisError as error:
        print(f"Error: Redis respondió con un error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # p. ej. `python -m schemes status | head -1`
        return 0
    except KeyboardInterrupt:
        print("\nInterrumpido (Ctrl+C).", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
