#!/usr/bin/env python3
"""Despliega la API del taller en AWS Lightsail: plan, create, push, deploy, status, logs, url, smoke,
scale y destroy. Ayuda: python 03_lightsail/deploy.py --help

Los errores se explican en español y terminan con un código de salida (lightsail.errors.ExitCode).
"""

import sys
import time
from pathlib import Path

from lightsail import aws, deployment_config, observe, plan, pricing, release, rules, service, settings
from lightsail.cli import build_parser
from lightsail.context import Context, utc_now
from lightsail.errors import DeployError, ExitCode
from lightsail.smoke import smoke

NEEDS_CONFIG = {"plan", "push", "deploy", "logs"}


def capacity(args):
    """Potencia y nodos: opción, variable de entorno o (al crear o planificar) el valor por defecto."""
    power = args.power or settings.from_env("power")
    scale = args.scale if args.scale is not None else settings.from_env("scale")
    if args.command in {"plan", "create"}:
        power = power or settings.default("power")
        scale = settings.default("scale") if scale is None else scale
    elif power is None and scale is None:
        raise DeployError("scale necesita --power, --scale o ambos.", ExitCode.USAGE)
    try:
        return power, None if scale is None else int(scale)
    except ValueError:
        raise DeployError(f"LIGHTSAIL_SCALE «{scale}» no es un número entero.", ExitCode.USAGE) from None


def run(args, ctx, client):
    power, scale = capacity(args) if hasattr(args, "power") else (None, None)
    rules.require(rules.service_problems(region=ctx.region, service=ctx.service, power=power, scale=scale))
    if args.timeout < ctx.interval:
        raise DeployError(f"--timeout debe ser al menos {ctx.interval} s.", ExitCode.USAGE)
    if getattr(args, "lines", 1) < 1:
        raise DeployError("--lines debe ser al menos 1.", ExitCode.USAGE)
    deployment = deployment_config.load(Path(args.config)) if args.command in NEEDS_CONFIG else None
    image = getattr(args, "image", None) or settings.default("image")
    if args.command == "smoke" and args.url:
        return smoke(args.url, ctx.sleep)
    if args.command == "plan":
        prices = pricing.documented()
        if not args.offline and (client or aws.has_credentials(ctx.region)):
            try:
                prices = pricing.live(connect(ctx, client))
            except DeployError as error:
                print(f"No se pudo leer el precio en vivo ({error.message}); se usa la tabla documentada.")
        return plan.show(ctx, power, scale, image, deployment, prices)
    connect(ctx, client)
    commands = {
        "create": lambda: service.create(ctx, power, scale),
        "push": lambda: release.push(ctx, image, deployment),
        "deploy": lambda: release.deploy(ctx, deployment, args.image_ref),
        "status": lambda: observe.status(ctx),
        "logs": lambda: observe.logs(ctx, deployment.container_name, args.lines),
        "url": lambda: print(observe.public_url(ctx)),
        "smoke": lambda: smoke(observe.public_url(ctx), ctx.sleep),
        "scale": lambda: service.scale(ctx, power, scale),
        "destroy": lambda: service.destroy(ctx, args.yes),
    }
    return commands[args.command]()


def connect(ctx, client):
    """Crea (si hace falta) el cliente de Lightsail; sin credenciales, para con un mensaje claro."""
    ctx.api = aws.LightsailApi(client or aws.create_client(ctx.region), service=ctx.service, region=ctx.region,
                               sleep=ctx.sleep)
    return ctx.api


def main(argv=None, *, client=None, sleep=time.sleep, now=utc_now, ask=input):
    """Punto de entrada. Las pruebas pasan un cliente con Stubber y un sleep que no espera."""
    args = build_parser().parse_args(argv)
    ctx = Context(region=args.region or settings.default("region"), service=args.service or settings.default(
        "service"), sleep=sleep, now=now, ask=ask, timeout=args.timeout)
    try:
        run(args, ctx, client)
    except DeployError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("\nInterrumpido. Comprueba el estado con `deploy.py status`.", file=sys.stderr)
        return 130
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
