"""El servicio de contenedores: el contexto que comparten los subcomandos, las esperas acotadas y los
subcomandos que cambian su capacidad o su existencia: create, scale y destroy."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lightsail import DeployError, ExitCode, aws, config
from workshop.spanish import duration, number

POLL_SECONDS, DEFAULT_TIMEOUT = 10, 20 * 60  # sondeo del estado: Lightsail no tiene «waiters» en botocore
SETTLED = {"READY", "RUNNING"}  # estados en los que el servicio acepta cambios
BROKEN = {"CERTIFICATE_LIMIT_EXCEEDED", "UNKNOWN_ERROR"}
BILLING_WARNING = ("AVISO: el servicio factura cada hora desde que se crea hasta que se BORRA, aunque esté "
                   "deshabilitado o sin desplegar. Bórralo al terminar: make destroy-lightsail")


@dataclass
class Context:
    """Lo que comparten los subcomandos; las pruebas sustituyen sleep, now y ask."""
    service: str
    region: str
    timeout: int
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ask: Callable[[str], str] = input
    api: aws.Lightsail | None = None
    interval: int = POLL_SECONDS


def waited(seconds):
    """El tiempo de espera con el formato del taller («10,00 s», «1 min 05 s»); al empezar, «0 s»."""
    return duration(seconds) if seconds else "0 s"


def poll_until(ctx, what, read, done, text=str):
    """Sondea AWS: llama a read() cada ctx.interval s hasta que done(valor) o se agote ctx.timeout, con una línea de
    progreso por vuelta; devuelve el último valor."""
    attempts = max(1, math.ceil(ctx.timeout / ctx.interval))
    for attempt in range(1, attempts + 1):
        value = read()
        print(f"  [{attempt}/{attempts}] {what}: {text(value)} ({waited((attempt - 1) * ctx.interval)})", flush=True)
        if done(value):
            return value
        if attempt < attempts:
            ctx.sleep(ctx.interval)
    raise DeployError(f"Tiempo agotado ({waited(ctx.timeout)}) esperando {what}. Consulta `deploy.py status` "
                      "y amplía la espera con --timeout si hace falta.", ExitCode.TIMEOUT)


def find(ctx):
    """El servicio según GetContainerServices, o None si no existe."""
    try:
        return (ctx.api.get_services().get("containerServices") or [None])[0]
    except DeployError as error:
        if error.exit_code != ExitCode.NOT_FOUND:
            raise
        return None


def describe(ctx):
    """El servicio, que debe existir y no estar roto (si no, DeployError)."""
    service = find(ctx)
    if service is None:
        raise DeployError(f"El servicio «{ctx.service}» no existe en la región {ctx.region}.", ExitCode.NOT_FOUND)
    detail = service.get("stateDetail") or {}
    if detail.get("code") in BROKEN:
        raise DeployError(f"Lightsail no pudo preparar el servicio: {detail['code']}. {detail.get('message', '')}",
                          ExitCode.FAILED)
    return service


def state_text(service):
    if service is None:
        return "ya no existe"
    detail = (service.get("stateDetail") or {}).get("code")
    return service["state"] + (f" ({detail})" if detail else "")


def images(deployment, names=True):
    """Las imágenes de un despliegue: «contenedor=imagen, …» (o solo las imágenes)."""
    return ", ".join(f"{name}={c['image']}" if names else c["image"]
                     for name, c in deployment.get("containers", {}).items())


def cost_line(prices, power, scale):
    return (f"Coste: {power} × {scale} nodo(s) = {number(prices.powers[power]['price'] * scale)} USD/mes "
            f"({prices.source}).")


def create(ctx, power, scale):
    print(f"Creando el servicio «{ctx.service}» en {ctx.region}: potencia {power}, {scale} nodo(s).")
    if existing := find(ctx):
        raise DeployError(f"El nombre «{ctx.service}» ya está en uso en {ctx.region} (estado {existing['state']}). "
                          "Elige otro con --service, o despliega en él con `push` y `deploy`.", ExitCode.CONFLICT)
    print(cost_line(config.live_prices(ctx.api.get_powers()), power, scale))
    print(BILLING_WARNING)
    ctx.api.create_service(power, scale)
    service = poll_until(ctx, "el servicio esté listo", lambda: describe(ctx), lambda s: s["state"] in SETTLED,
                         state_text)
    print(f"Servicio listo ({service['state']}). URL pública: {service.get('url', '(aún sin URL)')}")


def scale_service(ctx, power=None, scale=None):
    """UpdateContainerService con lo que cambia y espera a que el servicio tenga la nueva capacidad."""
    current = describe(ctx)
    target = (power or current["power"], current["scale"] if scale is None else scale)
    print(f"Escalando «{ctx.service}»: {current['power']} × {current['scale']} → {target[0]} × {target[1]} nodo(s).")
    ctx.api.update_service(power, scale)
    poll_until(ctx, "se aplique el cambio", lambda: describe(ctx),
               lambda s: s["state"] in SETTLED and (s["power"], s["scale"]) == target, state_text)
    print(cost_line(config.live_prices(ctx.api.get_powers()), *target))


def destroy(ctx, yes):
    """Pide el nombre del servicio (salvo --yes), lo borra y espera a que ya no exista."""
    service = find(ctx)
    if service is None:
        names = [s["containerServiceName"] for s in ctx.api.get_services(every=True).get("containerServices", [])]
        print(f"No existe el servicio «{ctx.service}» en {ctx.region}: no hay nada que borrar.")
        print(f"Servicios en {ctx.region}: {', '.join(names) or 'ninguno'}.")
        return
    print(f"Se va a BORRAR «{ctx.service}» ({ctx.region}, {service['power']} × {service['scale']}, "
          f"{state_text(service)}) con sus imágenes y despliegues.")
    try:
        answer = "" if yes else ctx.ask("Escribe el nombre del servicio para confirmar: ").strip()
    except EOFError:
        answer = ""
    if not yes and answer != ctx.service:
        raise DeployError("Borrado cancelado: el servicio sigue existiendo (y facturando).", ExitCode.FAILED)
    ctx.api.delete_service()
    poll_until(ctx, "el servicio desaparezca", lambda: find(ctx), lambda s: s is None, state_text)
    print(f"Servicio «{ctx.service}» borrado: ya no factura.")
