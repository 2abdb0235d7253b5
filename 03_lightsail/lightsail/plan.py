"""`plan`: cada llamada que haría el ciclo completo, con sus parámetros, y el coste. No crea ni cambia nada;
con credenciales solo lee el precio en vivo (y con --offline, ni eso)."""

import json

from lightsail import calls, deployment_config, pricing, settings
from lightsail.calls import Call

REGISTRY = "<registro>"
TAG = "<fecha>"


def steps(ctx, power, scale, image, deployment):
    """Los pasos del ciclo de vida: (subcomando, qué hace, [Call o texto de una orden])."""
    service, label = ctx.service, deployment.label
    target = f"{REGISTRY}/sr:{label}-{TAG}"
    registered = f":{service}.{label}.<N>"
    other_scale = scale + 1 if scale < 20 else scale - 1
    wait = f"cada {ctx.interval} s, como mucho {ctx.timeout // 60} min"
    return [
        ("create", f"crear el servicio y esperar a READY ({wait})", [
            (calls.get_services(service), "el nombre debe estar libre"),
            (calls.get_powers(), "precio en vivo"),
            (calls.create_service(service, power, scale), ""),
            (calls.get_services(service), "sondeo hasta READY"),
        ]),
        ("push", "subir la imagen local al registro del servicio (sin lightsailctl)", [
            (calls.get_services(service), "el servicio existe"),
            (f"docker image inspect --format {{{{.Os}}}}/{{{{.Architecture}}}} {image}", "debe ser linux/amd64"),
            (calls.registry_login(), "usuario y contraseña temporales (12 h)"),
            (f"docker login --username <usuario> --password-stdin {REGISTRY}", ""),
            (f"docker tag {image} {target}", ""),
            (f"docker push {target}", "devuelve el digest sha256:…"),
            (f"docker image rm {target}", "quita la etiqueta temporal"),
            (f"docker logout {REGISTRY}", "borra la contraseña temporal"),
            (calls.register_image(service, label, "<digest de docker push>"), f"devuelve {registered}"),
        ]),
        ("deploy", f"desplegar la imagen registrada y esperar a ACTIVE o FAILED ({wait})", [
            (calls.get_images(service), "la imagen registrada más reciente, si no se indica --image-ref"),
            (calls.create_deployment(service, deployment_config.with_image(deployment, registered)), ""),
            (calls.get_deployments(service), "sondeo hasta ACTIVE o FAILED"),
            (calls.get_log(service, deployment.container_name), "solo si FAILED: últimas líneas"),
            (calls.get_services(service), "la URL pública"),
        ]),
        ("smoke", "probar la URL pública", [
            (calls.get_services(service), "la URL pública, si no se indica --url"),
            (f"HTTP GET <url>{settings.HEALTH_PATH}", "200 y la versión del modelo"),
            ("HTTP GET <url>/v1/model", "la ficha: de ella sale el paciente de ejemplo"),
            ("HTTP POST <url>/v1/predict", "una predicción"),
        ]),
        ("status / logs / url", "consultar", [
            (calls.get_services(service), "estado, capacidad, URL y despliegues"),
            *((calls.get_metric(service, metric, ctx.now()), "última hora") for metric in calls.METRICS),
            (calls.get_log(service, deployment.container_name), "registro del contenedor"),
        ]),
        ("scale", f"cambiar potencia o nodos (ejemplo: --scale {other_scale})", [
            (calls.get_services(service), "capacidad actual"),
            (calls.update_service(service, scale=other_scale), ""),
            (calls.get_services(service), "sondeo hasta RUNNING con la nueva capacidad"),
            (calls.get_powers(), "nuevo coste"),
        ]),
        ("destroy", "borrar el servicio (pide confirmación salvo --yes) y comprobar que ya no existe", [
            (calls.get_services(service), "qué se va a borrar"),
            (calls.delete_service(service), ""),
            (calls.get_services(service), "sondeo hasta NotFoundException"),
        ]),
    ]


def render(item):
    if not isinstance(item, Call):
        return f"$ {item}"
    params = json.dumps(item.params, ensure_ascii=False, default=str)
    if len(params) > 90:
        params = json.dumps(item.params, ensure_ascii=False, default=str, indent=2).replace("\n", "\n      ")
    return f"lightsail:{item.operation} {params}"


def show(ctx, power, scale, image, deployment, prices):
    print("Plan de despliegue en AWS Lightsail: no crea ni cambia nada; los valores <…> se conocen al ejecutar.")
    print(f"Servicio «{ctx.service}» en {ctx.region}: potencia {power}, {scale} nodo(s); imagen local {image}.")
    for number, (command, what, items) in enumerate(steps(ctx, power, scale, image, deployment), start=1):
        print(f"\n{number}. deploy.py {command}: {what}")
        for item, note in items:
            print(f"   {render(item)}" + (f"   # {note}" if note else ""))
    print()
    pricing.print_table(prices, power)
    print(pricing.cost_line(prices, power, scale))
    print(pricing.BILLING_WARNING)
