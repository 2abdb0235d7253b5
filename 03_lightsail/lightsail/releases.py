"""Imágenes y despliegues: Docker (sin lightsailctl), push, deploy, rotate-key, deployments y rollback.

Cada despliegue lleva la clave de la API (API_KEY) salvo con --public; en la salida siempre va como ****.
"""

import re
import subprocess
from datetime import UTC

from lightsail import DeployError, ExitCode, keys
from lightsail.checks import logs
from lightsail.service import describe, images, poll_until
from workshop.environment import shared
from workshop.spanish import number

DOCKER_TIMEOUT = 30 * 60  # subir una imagen por una conexión lenta puede tardar
PLATFORM = "linux/amd64"  # Lightsail no ejecuta arm64: «exec format error»
DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
FINISHED = {"ACTIVE", "FAILED", "INACTIVE"}  # estados finales de un despliegue
FAILED_LOG_LINES = 30


def run_docker(args, input_text=None):
    """`docker <args>` con la salida capturada. Todas las órdenes de Docker pasan por aquí."""
    try:
        return subprocess.run(["docker", *args], input=input_text, capture_output=True, text=True,
                              timeout=DOCKER_TIMEOUT, check=False)
    except FileNotFoundError:
        raise DeployError("No se encuentra la orden «docker». Instala Docker (Docker Desktop o docker.io) y "
                          "comprueba que `docker version` funciona.", ExitCode.DOCKER) from None
    except subprocess.TimeoutExpired:
        raise DeployError(f"`docker {args[0]}` no terminó en {DOCKER_TIMEOUT} s.", ExitCode.DOCKER) from None


def docker(args, what, input_text=None):
    result = run_docker(args, input_text)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise DeployError(f"Docker falló al {what}:\n  " + "\n  ".join(detail), ExitCode.DOCKER)
    return result.stdout


def push(ctx, image, deployment):
    """Registro del servicio → docker login, tag y push → RegisterContainerImage (sin lightsailctl)."""
    describe(ctx)  # falla pronto, antes de subir nada, si el servicio no existe
    found = run_docker(["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", image])
    if found.returncode != 0:
        raise DeployError(f"La imagen «{image}» no está en este equipo (o Docker no responde). Constrúyela con "
                          f"`make docker-build` o indica otra con --image.\n  {found.stderr.strip()}", ExitCode.DOCKER)
    if found.stdout.strip() != PLATFORM:
        raise DeployError(f"La imagen «{image}» es {found.stdout.strip()}, pero Lightsail ejecuta {PLATFORM}: el "
                          "despliegue fallaría con «exec format error» (típico en Mac con Apple Silicon). "
                          f"Reconstrúyela con `docker build --platform {PLATFORM} …`.", ExitCode.DOCKER)
    print("Pidiendo credenciales temporales del registro del servicio (válidas 12 h)…")
    login = ctx.api.registry_login()["registryLogin"]
    docker(["login", "--username", login["username"], "--password-stdin", login["registry"]],
           "iniciar sesión en el registro", login["password"])
    target = f"{login['registry']}/sr:{deployment.label}-{ctx.now():%Y%m%d%H%M%S}"
    try:
        docker(["tag", image, target], f"etiquetar {image} como {target}")
        print(f"Subiendo {image} → {target} (puede tardar unos minutos)…", flush=True)
        digest = DIGEST.search(output := docker(["push", target], f"subir {target}"))
    finally:
        run_docker(["image", "rm", target])  # solo la etiqueta temporal: la imagen local sigue ahí
        run_docker(["logout", login["registry"]])  # borra la contraseña temporal de ~/.docker/config.json
    if not digest:
        raise DeployError(f"`docker push` no mostró el digest de la imagen:\n{output[-500:]}", ExitCode.DOCKER)
    print(f"Imagen subida: {digest.group(1)}")
    registered = ctx.api.register_image(deployment.label, digest.group(1))["containerImage"]["image"]
    print(f"Imagen registrada en «{ctx.service}»: {registered}")


PUBLIC = ("Despliegue público (--public): la API no pide clave, así que cualquiera que conozca la URL puede "
          "usarla y solo la frena el límite de peticiones ({limit}).")


def latest_image(ctx, deployment):
    """La imagen registrada más reciente con la etiqueta de deployment.json."""
    prefix = f":{ctx.service}.{deployment.label}."
    found = [i for i in ctx.api.get_images().get("containerImages", []) if i["image"].startswith(prefix)]
    if not found:
        raise DeployError(f"El servicio «{ctx.service}» no tiene imágenes «{deployment.label}» registradas. "
                          "Súbela primero: deploy.py push", ExitCode.FAILED)
    return max(found, key=lambda i: i["createdAt"])["image"]


def deploy(ctx, deployment, image=None, public=False, candidate=None):
    """La imagen indicada (o la más reciente) con la clave del archivo (se crea si aún no hay) o, con
    --public, sin clave. Tras un `rotate-key`, este despliegue ya no acepta la clave anterior. `candidate`:
    CANDIDATE_VERSION y CANDIDATE_WEIGHT (config.candidate_environment) para el contenedor público."""
    image = image or latest_image(ctx, deployment)
    if candidate:
        share = number(100 * float(candidate["CANDIDATE_WEIGHT"]), 1)
        print(f"Versión candidata {candidate['CANDIDATE_VERSION']}: responde el {share} % de las peticiones "
              "(0: solo en la sombra) y puntúa todas junto a la publicada. La imagen debe llevar las dos versiones "
              "(make docker-build con la candidata en MODEL_DIR).")
    if public:
        return release(ctx, deployment, image, None, candidate)
    state, created = keys.ensure()
    print(f"Clave de la API {'nueva, guardada' if created else 'guardada'} en {keys.shown_path()} (permisos 0600, "
          "fuera de git); para verla: deploy.py key")
    if state["previous"]:
        print("La clave anterior a `rotate-key` deja de valer con este despliegue.")
    release(ctx, deployment, image, keys.accepted(state, with_previous=False), candidate)
    keys.drop_previous(state)


def rotate_key(ctx, deployment, image=None):
    """Clave nueva; el despliegue acepta la nueva y la anterior («nueva,anterior») y el siguiente `deploy`
    deja solo la nueva. Si el despliegue falla, sigue activo el anterior: el archivo vuelve a como estaba."""
    image = image or latest_image(ctx, deployment)
    state, old = keys.rotate()
    print(f"Clave nueva guardada en {keys.shown_path()} (permisos 0600). Este despliegue acepta la nueva y la "
          "anterior; el siguiente `deploy.py deploy` deja solo la nueva. Para verla: deploy.py key")
    try:
        release(ctx, deployment, image, keys.accepted(state, with_previous=True))
    except DeployError as error:
        if error.exit_code != ExitCode.TIMEOUT:  # con el tiempo agotado, el despliegue aún puede activarse
            keys.restore(old)
            error.message += f"\nLa rotación no se aplicó: {keys.shown_path()} vuelve a tener la clave de antes."
        raise


def release(ctx, deployment, image, api_key, candidate=None):
    """Crea el despliegue de la imagen con esa clave (None: sin clave) y, si la hay, la candidata en el entorno
    del contenedor público; espera a que termine."""
    endpoint = deployment.endpoint
    containers = deployment.with_image(image, api_key=api_key)
    environment = containers[endpoint["containerName"]].setdefault("environment", {})
    environment.update(candidate or {})
    if api_key is None:
        limit = f"RATE_LIMIT={environment['RATE_LIMIT']}" if environment.get("RATE_LIMIT") else "sin límite"
        print(PUBLIC.format(limit=limit))
    print(f"Desplegando {image} en «{ctx.service}»: contenedor {endpoint['containerName']}, "
          f"puerto {endpoint['containerPort']}, salud {endpoint.get('healthCheck', {}).get('path', '/')}.")
    print(f"Entorno: {keys.environment_text(environment)}")
    activate(ctx, containers, endpoint)


def activate(ctx, containers, endpoint):
    """CreateContainerServiceDeployment y espera (acotada) a ACTIVE; si falla, muestra los registros."""
    version = ctx.api.create_deployment(containers, endpoint)["containerService"]["nextDeployment"]["version"]

    def state():
        found = ctx.api.get_deployments().get("deployments", [])
        return next((d["state"] for d in found if d["version"] == version), "ACTIVATING")

    final = poll_until(ctx, f"el despliegue {version} termine", state, lambda s: s in FINISHED)
    if final != "ACTIVE":
        logs(ctx, (endpoint or {}).get("containerName") or next(iter(containers)), FAILED_LOG_LINES)
        raise DeployError(
            f"El despliegue {version} terminó en {final}; sigue activo el anterior, si lo había. Causas típicas: "
            f"imagen arm64 («exec format error»), la app no escucha en 0.0.0.0:{shared('PORT')}, o "
            f"{shared('HEALTH_PATH')} no responde 200 a tiempo. Revisa las líneas de arriba.", ExitCode.FAILED)
    print(f"Despliegue {version} ACTIVO. URL pública: {describe(ctx).get('url', '(sin URL)')}")


def deployments(ctx):
    """GetContainerServiceDeployments, del más reciente al más antiguo; * marca el activo."""
    found = sorted(ctx.api.get_deployments().get("deployments", []), key=lambda d: -d["version"])
    if not found:
        print(f"«{ctx.service}» aún no tiene despliegues: `deploy.py push` y después `deploy.py deploy`.")
        return
    print(f"Despliegues de «{ctx.service}» ({ctx.region}), del más reciente al más antiguo:")
    print(f"  {'versión':<8} {'estado':<10} {'fecha (UTC)':<16}  imágenes")
    for item in found:
        print(f"{'*' if item['state'] == 'ACTIVE' else ' '} {item['version']:<8} {item['state']:<10} "
              f"{item['createdAt'].astimezone(UTC):%Y-%m-%d %H:%M}  {images(item)}")
    print("* = el activo, el que recibe el tráfico. Volver al anterior: deploy.py rollback [--version N]")


def rollback(ctx, version=None):
    """Despliega otra vez los contenedores y el punto público de un despliegue guardado: el de `version` o
    el anterior que estuvo activo (el INACTIVE más reciente). Lightsail le da un número nuevo."""
    found = ctx.api.get_deployments().get("deployments", [])
    active = next((d for d in found if d["state"] == "ACTIVE"), None)
    if version is None:
        target = max((d for d in found if d["state"] == "INACTIVE"), key=lambda d: d["version"], default=None)
        if target is None:
            now = f"solo tiene el activo (versión {active['version']})" if active else "no tiene ninguno activo"
            raise DeployError(f"No hay un despliegue anterior al que volver: «{ctx.service}» {now}.",
                              ExitCode.NOT_FOUND)
    elif (target := next((d for d in found if d["version"] == version), None)) is None:
        raise DeployError(f"«{ctx.service}» no tiene el despliegue {version}: mira los que hay con "
                          "`deploy.py deployments`.", ExitCode.NOT_FOUND)
    elif target is active:
        return print(f"El despliegue {version} ya es el activo: no hay nada que cambiar.")
    elif target["state"] != "INACTIVE":
        raise DeployError(f"El despliegue {version} está en {target['state']}: solo se puede volver a uno que "
                          "estuvo activo (INACTIVE).", ExitCode.USAGE)
    now = f" (ahora está activo el {active['version']})" if active else ""
    print(f"Volviendo al despliegue {target['version']}{now}: {images(target)}. Lightsail lo publica como "
          "un despliegue nuevo, con otro número.")
    endpoint = target.get("publicEndpoint")
    activate(ctx, with_current_key(target["containers"], endpoint), endpoint)


def with_current_key(containers, endpoint):
    """Los contenedores de un despliegue guardado con la clave que vale hoy (volver atrás cambia la imagen,
    no la clave: una clave ya rotada no debe volver a valer). Sin API_KEY (público) se quedan así."""
    state, public = keys.load(), (endpoint or {}).get("containerName")
    for name, container in containers.items():
        environment = container.get("environment") or {}
        if environment.get(keys.VARIABLE) and state:
            environment[keys.VARIABLE] = keys.accepted(state, with_previous=True)
        elif environment.get(keys.VARIABLE):
            print(f"«{name}» conserva la clave que tenía: no existe {keys.shown_path()} en este equipo.")
        elif name == public:
            print(f"«{name}» no pedía clave en ese despliegue: la API queda pública (sin {keys.VARIABLE}).")
        if environment:
            print(f"Entorno de «{name}»: {keys.environment_text(environment)}")
    return containers
