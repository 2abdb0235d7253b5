"""`deploy.py plan`: cada llamada del ciclo completo con sus parámetros y el coste mensual, sin tocar AWS.

Los parámetros salen de `aws.Plan`, que construye las mismas llamadas que envían los subcomandos. La clave
de la API nunca se lee aquí: en el plan es siempre API_KEY=****.
"""

import json

from lightsail import aws, keys
from lightsail.releases import PLATFORM, PUBLIC
from lightsail.service import BILLING_WARNING, cost_line
from workshop.environment import shared
from workshop.spanish import number

WIDE = 90  # unos parámetros más largos que esto se escriben con una clave por línea


def plan(ctx, power, scale, image, deployment, prices, public=False):
    """Imprime los pasos (subcomando, qué hace y sus llamadas), la tabla de precios y el coste."""
    print("Plan de despliegue en AWS Lightsail: no crea ni cambia nada; los valores <…> se conocen al ejecutar.")
    print(f"Servicio «{ctx.service}» en {ctx.region}: potencia {power}, {scale} nodo(s); imagen local {image}.")
    environment = deployment.with_image("", api_key=None if public else keys.MASK)[
        deployment.endpoint["containerName"]].get("environment", {})
    if public:
        print(PUBLIC.format(limit=f"RATE_LIMIT={environment.get('RATE_LIMIT') or '(vacío: sin límite)'}"))
    else:
        print(f"Con clave de la API ({keys.VARIABLE}={keys.MASK}): se guarda en {keys.shown_path()} (0600, fuera de "
              "git), la crea el primer deploy y se ve con deploy.py key.")
    print(f"Entorno del contenedor: {keys.environment_text(environment)}")
    for step, (command, what, items) in enumerate(steps(ctx, power, scale, image, deployment, public), start=1):
        print(f"\n{step}. deploy.py {command}: {what}")
        for item, note in items:
            print(f"   {call_text(item)}" + (f"   # {note}" if note else ""))
    print(f"\nPrecios por potencia ({prices.source}):")
    print(f"  {'potencia':<9}{'vCPU':>6}{'RAM (GB)':>10}{'USD/mes por nodo':>18}")
    for name, row in prices.powers.items():
        print(f"  {name:<9}{number(row['vcpu'], 2):>6}{number(row['ram_gb'], 1):>10}"
              f"{number(row['price']):>18}{'  ←' if name == power else ''}")
    print(cost_line(prices, power, scale))
    print(BILLING_WARNING)


def call_text(item):
    """Una llamada a Lightsail («lightsail:Operación {parámetros}») o una orden («$ docker …»)."""
    if not isinstance(item, aws.Call):
        return f"$ {item}"
    wide = len(json.dumps(item.params, ensure_ascii=False, default=str)) > WIDE
    params = json.dumps(item.params, ensure_ascii=False, default=str, indent=2 if wide else None)
    return f"lightsail:{item.operation} " + params.replace("\n", "\n      ")


def steps(ctx, power, scale, image, deployment, public=False):
    """(subcomando, qué hace, [(llamada u orden, nota)]) de cada paso, con los parámetros que se enviarían."""
    p, label, container = aws.Plan(ctx.service, ctx.region), deployment.label, deployment.endpoint["containerName"]
    key, bearer = (None, "") if public else (keys.MASK, f" -H 'Authorization: Bearer {keys.MASK}'")
    target, registered = f"<registro>/sr:{label}-<fecha>", f":{ctx.service}.{label}.<N>"
    other, wait = scale + 1 if scale < 20 else scale - 1, f"cada {ctx.interval} s, como mucho {ctx.timeout // 60} min"
    return [
        ("create", f"crear el servicio y esperar a READY ({wait})", [
            (p.get_services(), "el nombre debe estar libre"), (p.get_powers(), "precio en vivo"),
            (p.create_service(power, scale), ""), (p.get_services(), "sondeo hasta READY")]),
        ("push", "subir la imagen local al registro del servicio (sin lightsailctl)", [
            (p.get_services(), "el servicio existe"),
            (f"docker image inspect --format {{{{.Os}}}}/{{{{.Architecture}}}} {image}", f"debe ser {PLATFORM}"),
            (p.registry_login(), "usuario y contraseña temporales (12 h)"),
            ("docker login --username <usuario> --password-stdin <registro>", ""), (f"docker tag {image} {target}", ""),
            (f"docker push {target}", "devuelve el digest sha256:…"), (f"docker image rm {target}", "sin etiqueta"),
            ("docker logout <registro>", "borra la contraseña temporal"),
            (p.register_image(label, "<digest de docker push>"), f"devuelve {registered}")]),
        ("deploy", f"desplegar la imagen registrada y esperar a ACTIVE o FAILED ({wait})", [
            (p.get_images(), "la imagen registrada más reciente, si no se indica --image-ref"),
            (p.create_deployment(deployment.with_image(registered, api_key=key), deployment.endpoint),
             "sin API_KEY (--public)" if public else "API_KEY: la clave del archivo; en pantalla, ****"),
            (p.get_deployments(), "sondeo hasta ACTIVE o FAILED"),
            (p.get_log(container), "solo si FAILED: últimas líneas"), (p.get_services(), "la URL pública")]),
        ("smoke", "probar la URL pública", [
            (p.get_services(), "la URL pública, si no se indica --url"),
            (f"HTTP GET <url>{shared('HEALTH_PATH')}", "200 y la versión del modelo"),
            ("HTTP GET <url>/v1/model", "la vista pública: de ella sale la paciente de ejemplo"),
            ("HTTP POST <url>/v1/predict", "sin clave: 200 si es pública; 401 si pide clave"),
            *([] if public else [(f"HTTP POST <url>/v1/predict{bearer}", "con la clave: una predicción")])]),
        ("key / rotate-key", "ver la clave o cambiarla", [
            ("deploy.py key", f"imprime la clave de {keys.shown_path()} (no llama a AWS)"),
            (p.create_deployment(f"<containers con API_KEY={keys.MASK},{keys.MASK}>", deployment.endpoint),
             "rotate-key: la nueva y la anterior; el siguiente deploy deja solo la nueva")]),
        ("deployments / rollback", "ver los despliegues guardados y volver al anterior", [
            (p.get_deployments(), "versión, estado, fecha e imágenes de cada uno"),
            (p.create_deployment("<containers del anterior>", "<su publicEndpoint>"), "y se espera como en deploy")]),
        ("status / logs / url", "consultar", [
            (p.get_services(), "estado, capacidad, URL y despliegues"),
            *((p.get_metric(metric, ctx.now()), "última hora") for metric in aws.METRICS),
            (p.get_log(container), "registro del contenedor")]),
        ("scale", f"cambiar potencia o nodos (ejemplo: --scale {other})", [
            (p.get_services(), "capacidad actual"), (p.update_service(scale=other), ""),
            (p.get_services(), "sondeo hasta RUNNING con la nueva capacidad"), (p.get_powers(), "nuevo coste")]),
        ("destroy", "borrar el servicio (pide confirmación salvo --yes) y comprobar que ya no existe", [
            (p.get_services(), "qué se va a borrar"), (p.delete_service(), ""),
            (p.get_services(), "sondeo hasta NotFoundException")]),
    ]
