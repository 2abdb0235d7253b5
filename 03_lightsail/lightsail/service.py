"""El servicio de contenedores: crear, escalar y borrar."""

from lightsail import calls, pricing
from lightsail.errors import DeployError, ExitCode
from lightsail.polling import wait_until

SETTLED = {"READY", "RUNNING"}  # estados en los que el servicio acepta cambios
BROKEN_DETAILS = {"CERTIFICATE_LIMIT_EXCEEDED", "UNKNOWN_ERROR"}


def describe(ctx):
    """El servicio según GetContainerServices; NOT_FOUND si no existe."""
    services = ctx.api.call(calls.get_services(ctx.service)).get("containerServices", [])
    if not services:
        raise DeployError(f"El servicio «{ctx.service}» no existe en la región {ctx.region}.", ExitCode.NOT_FOUND)
    return services[0]


def state_text(service):
    detail = (service.get("stateDetail") or {}).get("code")
    return service["state"] + (f" ({detail})" if detail else "")


def wait_for(ctx, what, is_done):
    """Espera (acotada) a que el servicio cumpla is_done; devuelve su última descripción."""
    latest = {}

    def check():
        service = latest["service"] = describe(ctx)
        detail = (service.get("stateDetail") or {}).get("code")
        if detail in BROKEN_DETAILS:
            message = (service.get("stateDetail") or {}).get("message", "")
            raise DeployError(f"Lightsail no pudo preparar el servicio: {detail}. {message}", ExitCode.FAILED)
        return is_done(service), state_text(service)

    wait_until(check, what=what, ctx=ctx)
    return latest["service"]


def create(ctx, power, scale):
    print(f"Creando el servicio «{ctx.service}» en {ctx.region}: potencia {power}, {scale} nodo(s).")
    try:
        existing = describe(ctx)
    except DeployError as error:
        if error.exit_code != ExitCode.NOT_FOUND:
            raise
    else:
        raise DeployError(f"El nombre «{ctx.service}» ya está en uso en {ctx.region} (estado {existing['state']}). "
                          "Elige otro con --service, o despliega en él con `push` y `deploy`.", ExitCode.CONFLICT)
    print(pricing.cost_line(pricing.live(ctx.api), power, scale))
    print(pricing.BILLING_WARNING)
    ctx.api.call(calls.create_service(ctx.service, power, scale))
    service = wait_for(ctx, "el servicio esté listo", lambda s: s["state"] in SETTLED)
    print(f"Servicio listo ({service['state']}). URL pública: {service.get('url', '(aún sin URL)')}")


def scale(ctx, power=None, scale=None):
    """UpdateContainerService con lo que cambia (potencia, nodos o ambos) y espera a que se aplique."""
    current = describe(ctx)
    target = (power or current["power"], current["scale"] if scale is None else scale)
    print(f"Escalando «{ctx.service}»: {current['power']} × {current['scale']} → {target[0]} × {target[1]} nodo(s).")
    ctx.api.call(calls.update_service(ctx.service, power, scale))
    wait_for(ctx, "se aplique el cambio", lambda s: s["state"] in SETTLED and (s["power"], s["scale"]) == target)
    print(pricing.cost_line(pricing.live(ctx.api), *target))


def destroy(ctx, yes):
    try:
        service = describe(ctx)
    except DeployError as error:
        if error.exit_code != ExitCode.NOT_FOUND:
            raise
        names = [s["containerServiceName"] for s in ctx.api.call(calls.get_services()).get("containerServices", [])]
        print(f"No existe el servicio «{ctx.service}» en {ctx.region}: no hay nada que borrar.")
        print(f"Servicios en {ctx.region}: {', '.join(names) or 'ninguno'}.")
        return
    print(f"Se va a BORRAR «{ctx.service}» ({ctx.region}, {service['power']} × {service['scale']}, "
          f"{state_text(service)}) con sus imágenes y despliegues.")
    if not yes and ask(ctx, "Escribe el nombre del servicio para confirmar: ") != ctx.service:
        raise DeployError("Borrado cancelado: el servicio sigue existiendo (y facturando).", ExitCode.FAILED)
    ctx.api.call(calls.delete_service(ctx.service))
    wait_until(lambda: gone(ctx), what="el servicio desaparezca", ctx=ctx)
    print(f"Servicio «{ctx.service}» borrado: ya no factura.")


def ask(ctx, prompt):
    try:
        return ctx.ask(prompt).strip()
    except EOFError:
        return ""


def gone(ctx):
    try:
        return False, state_text(describe(ctx))
    except DeployError as error:
        if error.exit_code != ExitCode.NOT_FOUND:
            raise
        return True, "ya no existe"
