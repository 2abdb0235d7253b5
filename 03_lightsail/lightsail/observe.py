"""Consultar el servicio: estado y métricas, URL pública y registros del contenedor."""

from lightsail import calls
from lightsail.errors import DeployError, ExitCode
from lightsail.service import describe, state_text


def status(ctx):
    service = describe(ctx)
    print(f"Servicio:  {ctx.service} ({ctx.region})")
    print(f"Estado:    {state_text(service)}")
    print(f"Capacidad: {service['power']} × {service['scale']} nodo(s)")
    print(f"URL:       {service.get('url', '(sin URL)')}")
    for title, key in (("Despliegue actual", "currentDeployment"), ("Despliegue en curso", "nextDeployment")):
        deployment = service.get(key)
        if deployment:
            images = ", ".join(c["image"] for c in deployment.get("containers", {}).values())
            print(f"{title}: versión {deployment['version']} ({deployment['state']}) con {images}")
    for metric in calls.METRICS:
        points = ctx.api.call(calls.get_metric(ctx.service, metric, ctx.now())).get("metricData", [])
        if points:
            last = max(points, key=lambda point: point["timestamp"])
            print(f"{metric}: media {last['average']:.1f} %, máximo {last['maximum']:.1f} % (últimos 5 min)")
        else:
            print(f"{metric}: sin datos en la última hora")


def public_url(ctx):
    """La URL pública del servicio (https://<servicio>.<id>.<región>.cs.amazonlightsail.com/)."""
    found = describe(ctx).get("url")
    if not found:
        raise DeployError(f"El servicio «{ctx.service}» aún no tiene URL pública.", ExitCode.FAILED)
    return found


def logs(ctx, container, lines):
    """Imprime las últimas `lines` líneas del registro del contenedor (GetContainerLog)."""
    events = ctx.api.call(calls.get_log(ctx.service, container)).get("logEvents", [])
    print(f"Últimas {min(lines, len(events))} líneas del registro de «{container}»:")
    for event in events[-lines:]:
        print(f"  {event['createdAt']:%Y-%m-%d %H:%M:%S}  {event['message']}")
    if not events:
        print("  (sin líneas: el contenedor aún no ha escrito nada o no llegó a arrancar)")
