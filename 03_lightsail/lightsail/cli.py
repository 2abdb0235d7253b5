"""deploy.py: lee las opciones, comprueba la configuración antes de tocar AWS y ejecuta el subcomando.

Cada grupo de subcomandos vive en su módulo:

- options.py: las opciones de cada subcomando (argparse en español) y los errores de uso;
- service.py: el contexto, las esperas acotadas y create, scale y destroy;
- releases.py: Docker, push, deploy, rotate-key, deployments y rollback;
- checks.py: status, url, logs y la prueba de humo (smoke);
- plan.py: plan (cada llamada con sus parámetros y el coste, sin tocar AWS);
- keys.py: la clave de la API (key): el archivo 0600 fuera de git, la rotación y **** en la salida.
"""

import sys
import time
from datetime import UTC, datetime

from lightsail import DeployError, ExitCode, aws, checks, config, keys, releases, service
from lightsail.options import parse_args
from lightsail.plan import plan


def capacity(args):
    """Potencia y nodos: opción, variable de entorno o (al crear o planificar) el valor por defecto."""
    power = args.power or config.from_env("power")
    scale = args.scale if args.scale is not None else config.from_env("scale")
    if args.command in {"plan", "create"}:
        power, scale = power or config.default("power"), config.default("scale") if scale is None else scale
    elif power is None and scale is None:
        raise DeployError("scale necesita --power, --scale o ambos.", ExitCode.USAGE)
    try:
        return power, None if scale is None else int(scale)
    except ValueError:
        raise DeployError(f"LIGHTSAIL_SCALE «{scale}» no es un número entero.", ExitCode.USAGE) from None


def run(args, ctx, client):
    """Comprueba las opciones y la configuración (antes de tocar AWS) y ejecuta el subcomando."""
    power, scale = capacity(args) if "power" in vars(args) else (None, None)
    config.check_service(ctx.region, ctx.service, power, scale)
    if args.timeout < ctx.interval:
        raise DeployError(f"--timeout debe ser al menos {ctx.interval} s.", ExitCode.USAGE)
    if getattr(args, "lines", 1) < 1:
        raise DeployError("--lines debe ser al menos 1.", ExitCode.USAGE)
    deployment = config.load_deployment(args.config, getattr(args, "rate_limit", None)) if "config" in vars(args) \
        else None
    image = getattr(args, "image", None) or config.default("image")
    candidate = config.candidate_environment(getattr(args, "candidate", None), getattr(args, "weight", None))
    if args.command == "key":
        return print(keys.current())  # la única salida con la clave: a petición, para `curl` o la app
    if args.command == "smoke" and args.url:
        return checks.smoke(args.url, ctx.sleep)
    if args.command == "plan":
        return plan(ctx, power, scale, image, deployment, plan_prices(ctx, client, args.offline), args.public)
    connect(ctx, client)
    return {
        "create": lambda: service.create(ctx, power, scale),
        "push": lambda: releases.push(ctx, image, deployment),
        "deploy": lambda: releases.deploy(ctx, deployment, args.image_ref, args.public, candidate),
        "rotate-key": lambda: releases.rotate_key(ctx, deployment, args.image_ref),
        "deployments": lambda: releases.deployments(ctx),
        "rollback": lambda: releases.rollback(ctx, args.version),
        "status": lambda: checks.status(ctx),
        "logs": lambda: checks.logs(ctx, deployment.endpoint["containerName"], args.lines),
        "url": lambda: print(checks.public_url(ctx)),
        "smoke": lambda: checks.smoke_deployed(ctx),
        "scale": lambda: service.scale_service(ctx, power, scale),
        "destroy": lambda: service.destroy(ctx, args.yes),
    }[args.command]()


def plan_prices(ctx, client, offline):
    """Los precios en vivo si hay credenciales (y no --offline); si no, o si fallan, la tabla documentada."""
    documented = config.documented_prices()  # se lee siempre: si prices.json está mal, se sabe ya
    if not offline and (client or aws.has_credentials(ctx.region)):
        try:
            return config.live_prices(connect(ctx, client).get_powers())
        except DeployError as error:
            print(f"No se pudo leer el precio en vivo ({error.message}); se usa la tabla documentada.")
    return documented


def connect(ctx, client):
    ctx.api = aws.Lightsail(client or aws.create_client(ctx.region), ctx.service, ctx.region)
    return ctx.api


def main(argv=None, *, client=None, sleep=time.sleep, now=None, ask=input):
    """Punto de entrada de deploy.py. Las pruebas pasan un cliente con Stubber y un sleep que no espera."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    ctx = service.Context(args.service or config.default("service"), args.region or config.default("region"),
                          args.timeout, sleep, now or (lambda: datetime.now(UTC)), ask)
    try:
        run(args, ctx, client)
    except DeployError as error:
        print(f"Error: {keys.mask(error.message)}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("\nInterrumpido. Comprueba el estado con `deploy.py status`.", file=sys.stderr)
        return 130
    return int(ExitCode.OK)
