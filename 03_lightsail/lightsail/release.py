"""Publicar una versión: subir la imagen local al servicio y crear un despliegue con ella."""

from lightsail import calls, deployment_config, docker_cli, settings
from lightsail.errors import DeployError, ExitCode
from lightsail.observe import logs
from lightsail.polling import wait_until
from lightsail.service import describe

FINISHED = {"ACTIVE", "FAILED", "INACTIVE"}
FAILED_LOG_LINES = 30


def push(ctx, image, deployment):
    """Registro del servicio → docker login, tag y push → RegisterContainerImage (sin lightsailctl)."""
    describe(ctx)  # falla pronto, antes de subir nada, si el servicio no existe
    docker_cli.require_lightsail_platform(image)
    print("Pidiendo credenciales temporales del registro del servicio (válidas 12 h)…")
    login = ctx.api.call(calls.registry_login())["registryLogin"]
    docker_cli.login(login["registry"], login["username"], login["password"])
    target = f"{login['registry']}/sr:{deployment.label}-{ctx.now():%Y%m%d%H%M%S}"
    try:
        docker_cli.tag(image, target)
        print(f"Subiendo {image} → {target} (puede tardar unos minutos)…", flush=True)
        digest = docker_cli.push(target)
    finally:
        docker_cli.untag(target)
        docker_cli.logout(login["registry"])
    print(f"Imagen subida: {digest}")
    registered = ctx.api.call(calls.register_image(ctx.service, deployment.label, digest))["containerImage"]["image"]
    print(f"Imagen registrada en «{ctx.service}»: {registered}")
    return registered


def latest_image(ctx, label):
    """La imagen registrada más reciente con la etiqueta de deployment.json (GetContainerImages)."""
    images = ctx.api.call(calls.get_images(ctx.service)).get("containerImages", [])
    ours = [image for image in images if image["image"].startswith(f":{ctx.service}.{label}.")]
    if not ours:
        raise DeployError(f"El servicio «{ctx.service}» no tiene imágenes «{label}» registradas. "
                          "Súbela primero: deploy.py push", ExitCode.FAILED)
    return max(ours, key=lambda image: image["createdAt"])["image"]


def deploy(ctx, deployment, image=None):
    """CreateContainerServiceDeployment y espera (acotada) a ACTIVE; si falla, muestra los registros."""
    image = image or latest_image(ctx, deployment.label)
    endpoint = deployment.request["publicEndpoint"]
    print(f"Desplegando {image} en «{ctx.service}»: contenedor {deployment.container_name}, "
          f"puerto {endpoint['containerPort']}, salud {endpoint.get('healthCheck', {}).get('path', '/')}.")
    response = ctx.api.call(calls.create_deployment(ctx.service, deployment_config.with_image(deployment, image)))
    version = response["containerService"]["nextDeployment"]["version"]
    state = {}

    def check():
        found = ctx.api.call(calls.get_deployments(ctx.service)).get("deployments", [])
        state["value"] = next((d["state"] for d in found if d["version"] == version), "ACTIVATING")
        return state["value"] in FINISHED, state["value"]

    wait_until(check, what=f"el despliegue {version} termine", ctx=ctx)
    if state["value"] != "ACTIVE":
        logs(ctx, deployment.container_name, FAILED_LOG_LINES)
        raise DeployError(
            f"El despliegue {version} terminó en {state['value']}; sigue activo el anterior, si lo había. Causas "
            f"típicas: imagen arm64 («exec format error»), la app no escucha en 0.0.0.0:{settings.PORT}, o "
            f"{settings.HEALTH_PATH} no responde 200 a tiempo. Revisa las líneas de arriba.", ExitCode.FAILED)
    print(f"Despliegue {version} ACTIVO. URL pública: {describe(ctx).get('url', '(sin URL)')}")
    return version
