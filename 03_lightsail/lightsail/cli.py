"""deploy.py: las opciones (argparse con textos en español), las esperas acotadas, Docker, la prueba de humo
y los subcomandos. Las llamadas a Lightsail están en aws.py; la configuración y su validación, en config.py."""

import argparse
import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from diabetes_api.settings import shared
from lightsail import DeployError, ExitCode, aws, config

POLL_SECONDS, DEFAULT_TIMEOUT = 10, 20 * 60  # sondeo del estado: Lightsail no tiene «waiters» en botocore
DOCKER_TIMEOUT = 30 * 60  # subir una imagen por una conexión lenta puede tardar
PLATFORM = "linux/amd64"  # Lightsail no ejecuta arm64: «exec format error»
DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
SETTLED = {"READY", "RUNNING"}  # estados en los que el servicio acepta cambios
BROKEN = {"CERTIFICATE_LIMIT_EXCEEDED", "UNKNOWN_ERROR"}
FINISHED = {"ACTIVE", "FAILED", "INACTIVE"}  # estados finales de un despliegue
FAILED_LOG_LINES = 30
HTTP_TIMEOUT, HEALTH_ATTEMPTS, HEALTH_RETRY_SECONDS = 15, 6, 10  # tras desplegar, el DNS tarda un poco
BILLING_WARNING = ("AVISO: el servicio factura cada hora desde que se crea hasta que se BORRA, aunque esté "
                   "deshabilitado o sin desplegar. Bórralo al terminar: make destroy-lightsail")

# ------------------------------------------------------------------------------------------- opciones

OPTIONS = {  # opción → (nombre de su valor, o None si es un interruptor; ayuda)
    "--region": ("REGIÓN", "región de AWS (o LIGHTSAIL_REGION; por defecto us-east-1)"),
    "--service": ("NOMBRE", "nombre del servicio (o LIGHTSAIL_SERVICE; por defecto taller-diabetes)"),
    "--timeout": ("SEGUNDOS", f"espera máxima al sondear el estado (por defecto {DEFAULT_TIMEOUT})"),
    "--config": ("FICHERO", "fichero de despliegue (por defecto 03_lightsail/deployment.json)"),
    "--image": ("IMAGEN", "imagen Docker local (o IMAGE; por defecto diabetes-api:latest)"),
    "--power": ("POTENCIA", "nano, micro, small, medium, large o xlarge (o LIGHTSAIL_POWER; al crear, nano)"),
    "--scale": ("NODOS", "número de nodos, de 1 a 20 (o LIGHTSAIL_SCALE; al crear, 1)"),
    "--offline": (None, "no consultar el precio en vivo aunque haya credenciales"),
    "--image-ref": ("IMAGEN", "imagen registrada (:servicio.etiqueta.N); por defecto, la más reciente"),
    "--lines": ("N", "cuántas líneas (por defecto 50)"),
    "--url": ("URL", "probar otra URL (por ejemplo la del contenedor local, http://127.0.0.1:8000)"),
    "--version": ("N", "el despliegue al que volver (por defecto, el anterior que estuvo activo)"),
    "--yes": (None, "no pedir confirmación"),
}
DEFAULTS = {"--timeout": DEFAULT_TIMEOUT, "--lines": 50, "--config": config.DEPLOYMENT_FILE}
INTEGERS = {"--scale", "--timeout", "--lines", "--version"}
COMMANDS = {  # subcomando → (qué hace, sus opciones además de --region, --service y --timeout)
    "plan": ("muestra cada llamada con sus parámetros y el coste mensual (no toca AWS)",
             ["--config", "--image", "--power", "--scale", "--offline"]),
    "create": ("crea el servicio y espera a que esté listo (READY)", ["--power", "--scale"]),
    "push": ("sube la imagen local y la registra en el servicio", ["--config", "--image"]),
    "deploy": ("crea un despliegue y espera a ACTIVE; si falla, muestra los registros", ["--config", "--image-ref"]),
    "deployments": ("lista los despliegues: versión, estado, fecha, imágenes y cuál está activo", []),
    "rollback": ("vuelve a desplegar el despliegue anterior que estuvo activo (o el de --version)", ["--version"]),
    "status": ("estado, capacidad, URL, despliegues y uso de CPU y memoria", []),
    "logs": ("últimas líneas del registro del contenedor", ["--config", "--lines"]),
    "url": ("imprime la URL pública", []),
    "smoke": ("GET de la ruta de salud y una predicción en la URL pública", ["--url"]),
    "scale": ("cambia la potencia y/o el número de nodos (UpdateContainerService)", ["--power", "--scale"]),
    "destroy": ("borra el servicio (deja de facturar) y comprueba que ya no existe", ["--yes"]),
}
EPILOG = ("subcomandos:\n" + "".join(f"  {name:<12} {text}\n" for name, (text, _) in COMMANDS.items())
          + "\nAyuda de cada uno: deploy.py <subcomando> --help. Ejemplo: deploy.py plan --power micro --scale 2\n"
          "Variables de entorno: LIGHTSAIL_REGION, LIGHTSAIL_SERVICE, LIGHTSAIL_POWER, LIGHTSAIL_SCALE, IMAGE")


class SpanishFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "uso: ")


class SpanishParser(argparse.ArgumentParser):
    """argparse no trae textos en español: aquí son todos propios. Sin `type`, `choices` ni `required`, y con
    exit_on_error=False, argparse solo falla si a una opción le falta su valor o a un interruptor le sobra;
    los enteros y las opciones desconocidas se comprueban en parse_args."""

    def __init__(self, prog, description, **kwargs):
        super().__init__(prog=prog, description=description, formatter_class=SpanishFormatter, add_help=False,
                         allow_abbrev=False, exit_on_error=False, **kwargs)
        self.options = self.add_argument_group("opciones")
        self.options.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}.\nUsa --help para ver las opciones.\n")


def parse_args(argv):
    top = SpanishParser("deploy.py", "Despliega la API del taller en AWS Lightsail (servicios de contenedores).",
                        usage="%(prog)s <subcomando> [opciones]", epilog=EPILOG)
    if argv[:1] in (["-h"], ["--help"]):
        top.print_help()
        top.exit()
    if not argv or argv[0] not in COMMANDS:
        problem = f"subcomando desconocido «{argv[0]}»" if argv else "falta el subcomando"
        top.error(f"{problem}; elige entre: {', '.join(COMMANDS)}")
    text, extra = COMMANDS[argv[0]]
    parser = SpanishParser(f"deploy.py {argv[0]}", text)
    for option in ["--region", "--service", "--timeout", *extra]:
        metavar, help_text = OPTIONS[option]
        if metavar:
            parser.options.add_argument(option, metavar=metavar, default=DEFAULTS.get(option), help=help_text)
        else:
            parser.options.add_argument(option, action="store_true", help=help_text)
    try:
        args, unknown = parser.parse_known_args(argv[1:])
    except argparse.ArgumentError as error:
        needs_value = OPTIONS.get(error.argument_name, (None,))[0] is not None
        parser.error(f"{error.argument_name} {'necesita un valor' if needs_value else 'no admite un valor'}")
    if unknown:
        parser.error(f"no se reconoce {' '.join(unknown)}")
    for option in INTEGERS.intersection(["--timeout", *extra]):
        value = getattr(args, option[2:])
        try:
            setattr(args, option[2:], None if value is None else int(value))
        except ValueError:
            parser.error(f"{option} «{value}» no es un número entero")
    args.command = argv[0]
    return args


# -------------------------------------------------------------------------- contexto y esperas acotadas

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


def number(value, spec=",.2f"):
    """Un número a la española: 1234.5 → «1.234,50»."""
    return format(value, spec).translate(str.maketrans(",.", ".,"))


def elapsed(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def wait_until(ctx, what, read, done, text=str):
    """Llama a read() cada ctx.interval s hasta que done(valor) o se agote ctx.timeout, con una línea de
    progreso por vuelta; devuelve el último valor."""
    attempts = max(1, math.ceil(ctx.timeout / ctx.interval))
    for attempt in range(1, attempts + 1):
        value = read()
        print(f"  [{attempt}/{attempts}] {what}: {text(value)} ({elapsed((attempt - 1) * ctx.interval)})", flush=True)
        if done(value):
            return value
        if attempt < attempts:
            ctx.sleep(ctx.interval)
    raise DeployError(f"Tiempo agotado ({elapsed(ctx.timeout)}) esperando {what}. Consulta `deploy.py status` "
                      "y amplía la espera con --timeout si hace falta.", ExitCode.TIMEOUT)


# ------------------------------------------------------------------------------------------ el servicio

def find(ctx):
    """El servicio según GetContainerServices, o None si no existe."""
    try:
        return (ctx.api.get_services().get("containerServices") or [None])[0]
    except DeployError as error:
        if error.exit_code != ExitCode.NOT_FOUND:
            raise
        return None


def describe(ctx):
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
    service = wait_until(ctx, "el servicio esté listo", lambda: describe(ctx), lambda s: s["state"] in SETTLED,
                         state_text)
    print(f"Servicio listo ({service['state']}). URL pública: {service.get('url', '(aún sin URL)')}")


def scale_service(ctx, power=None, scale=None):
    """UpdateContainerService con lo que cambia y espera a que el servicio tenga la nueva capacidad."""
    current = describe(ctx)
    target = (power or current["power"], current["scale"] if scale is None else scale)
    print(f"Escalando «{ctx.service}»: {current['power']} × {current['scale']} → {target[0]} × {target[1]} nodo(s).")
    ctx.api.update_service(power, scale)
    wait_until(ctx, "se aplique el cambio", lambda: describe(ctx),
               lambda s: s["state"] in SETTLED and (s["power"], s["scale"]) == target, state_text)
    print(cost_line(config.live_prices(ctx.api.get_powers()), *target))


def destroy(ctx, yes):
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
    wait_until(ctx, "el servicio desaparezca", lambda: find(ctx), lambda s: s is None, state_text)
    print(f"Servicio «{ctx.service}» borrado: ya no factura.")


# ------------------------------------------------------------------------------- imágenes y despliegues

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


def deploy(ctx, deployment, image=None):
    """La imagen indicada o la registrada más reciente con la etiqueta de deployment.json."""
    if not image:
        prefix = f":{ctx.service}.{deployment.label}."
        images = [i for i in ctx.api.get_images().get("containerImages", []) if i["image"].startswith(prefix)]
        if not images:
            raise DeployError(f"El servicio «{ctx.service}» no tiene imágenes «{deployment.label}» registradas. "
                              "Súbela primero: deploy.py push", ExitCode.FAILED)
        image = max(images, key=lambda i: i["createdAt"])["image"]
    endpoint = deployment.endpoint
    print(f"Desplegando {image} en «{ctx.service}»: contenedor {endpoint['containerName']}, "
          f"puerto {endpoint['containerPort']}, salud {endpoint.get('healthCheck', {}).get('path', '/')}.")
    activate(ctx, deployment.with_image(image), endpoint)


def activate(ctx, containers, endpoint):
    """CreateContainerServiceDeployment y espera (acotada) a ACTIVE; si falla, muestra los registros."""
    version = ctx.api.create_deployment(containers, endpoint)["containerService"]["nextDeployment"]["version"]

    def state():
        found = ctx.api.get_deployments().get("deployments", [])
        return next((d["state"] for d in found if d["version"] == version), "ACTIVATING")

    final = wait_until(ctx, f"el despliegue {version} termine", state, lambda s: s in FINISHED)
    if final != "ACTIVE":
        logs(ctx, (endpoint or {}).get("containerName") or next(iter(containers)), FAILED_LOG_LINES)
        raise DeployError(
            f"El despliegue {version} terminó en {final}; sigue activo el anterior, si lo había. Causas típicas: "
            f"imagen arm64 («exec format error»), la app no escucha en 0.0.0.0:{shared('PORT')}, o "
            f"{shared('HEALTH_PATH')} no responde 200 a tiempo. Revisa las líneas de arriba.", ExitCode.FAILED)
    print(f"Despliegue {version} ACTIVO. URL pública: {describe(ctx).get('url', '(sin URL)')}")


def images(deployment, names=True):
    return ", ".join(f"{name}={c['image']}" if names else c["image"]
                     for name, c in deployment.get("containers", {}).items())


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
    activate(ctx, target["containers"], target.get("publicEndpoint"))


# -------------------------------------------------------------------------------------------- consultar

def status(ctx):
    service = describe(ctx)
    print(f"Servicio:  {ctx.service} ({ctx.region})")
    print(f"Estado:    {state_text(service)}")
    print(f"Capacidad: {service['power']} × {service['scale']} nodo(s)")
    print(f"URL:       {service.get('url', '(sin URL)')}")
    for title, key in (("Despliegue actual", "currentDeployment"), ("Despliegue en curso", "nextDeployment")):
        if item := service.get(key):
            print(f"{title}: versión {item['version']} ({item['state']}) con {images(item, names=False)}")
    for metric in aws.METRICS:
        if points := ctx.api.get_metric(metric, ctx.now()).get("metricData", []):
            last = max(points, key=lambda point: point["timestamp"])
            print(f"{metric}: media {number(last['average'], '.1f')} %, máximo {number(last['maximum'], '.1f')} % "
                  "(últimos 5 min)")
        else:
            print(f"{metric}: sin datos en la última hora")


def public_url(ctx):
    """La URL pública del servicio (https://<servicio>.<id>.<región>.cs.amazonlightsail.com/)."""
    if url := describe(ctx).get("url"):
        return url
    raise DeployError(f"El servicio «{ctx.service}» aún no tiene URL pública.", ExitCode.FAILED)


def logs(ctx, container, lines):
    events = ctx.api.get_log(container).get("logEvents", [])
    print(f"Últimas {min(lines, len(events))} líneas del registro de «{container}»:")
    for event in events[-lines:]:
        print(f"  {event['createdAt']:%Y-%m-%d %H:%M:%S}  {event['message']}")
    if not events:
        print("  (sin líneas: el contenedor aún no ha escrito nada o no llegó a arrancar)")


def smoke(base_url, sleep):
    """GET de la salud (con reintentos) y una predicción con un paciente sacado de la ficha que sirve la API."""
    if not base_url.startswith(("http://", "https://")):
        raise DeployError(f"La URL «{base_url}» debe empezar por http:// o https://.", ExitCode.USAGE)
    base, health_path = base_url.rstrip("/"), shared("HEALTH_PATH")
    print(f"Prueba de humo contra {base}")
    for attempt in range(1, HEALTH_ATTEMPTS + 1):
        try:
            health = requests.get(base + health_path, timeout=HTTP_TIMEOUT)
            if health.status_code == 200:
                break
            problem = f"respondió {health.status_code}"
        except requests.RequestException as error:
            problem = f"sin respuesta ({type(error).__name__})"
        print(f"  [{attempt}/{HEALTH_ATTEMPTS}] GET {base}{health_path}: {problem}", flush=True)
        if attempt == HEALTH_ATTEMPTS:
            raise DeployError(f"Prueba de humo fallida: {base}{health_path} no respondió 200 tras {HEALTH_ATTEMPTS} "
                              "intentos.", ExitCode.FAILED)
        sleep(HEALTH_RETRY_SECONDS)
    print(f"  GET {health_path} → 200 {json.dumps(health.json(), ensure_ascii=False)}")
    try:
        card = http_json(requests.get(base + "/v1/model", timeout=HTTP_TIMEOUT), "GET /v1/model")
        patient = {}  # el punto medio del rango de cada variable de la ficha
        for feature in card["features"]:
            middle = (feature["min"] + feature["max"]) / 2
            patient[feature["name"]] = round(middle) if feature["type"] == "integer" else round(middle, 2)
        result = http_json(requests.post(base + "/v1/predict", json=patient, timeout=HTTP_TIMEOUT), "POST /v1/predict")
    except requests.RequestException as error:
        raise DeployError(f"Prueba de humo fallida: {base} ({error}).", ExitCode.FAILED) from None
    if result.get("prediction") not in (0, 1) or not 0 <= result.get("probability", -1) <= 1:
        raise DeployError(f"Prueba de humo fallida: respuesta inesperada de /v1/predict: {result}", ExitCode.FAILED)
    print(f"  POST /v1/predict {json.dumps(patient)}")
    print(f"  → {result['label']} (probabilidad {number(result['probability'])})")
    print(f"Modelo desplegado: {result.get('model_version')}; modelo local: {local_version()}")
    print("Prueba de humo superada.")


def http_json(response, what):
    if response.status_code != 200:
        raise DeployError(f"Prueba de humo fallida: {what} respondió {response.status_code}: {response.text[:300]}",
                          ExitCode.FAILED)
    return response.json()


def local_version():
    """La versión publicada en MODEL_DIR de este equipo, para compararla con la desplegada."""
    from diabetes_api.model import ModelError, live_version_dir  # aquí: importa numpy, y solo lo usa smoke

    try:
        return json.loads((live_version_dir() / "model.json").read_text(encoding="utf-8"))["version"]
    except (ModelError, OSError, ValueError, KeyError):
        return "(sin modelo local)"


# ------------------------------------------------------------------------------------------------- plan

def plan(ctx, power, scale, image, deployment, prices):
    """Cada llamada del ciclo completo con sus parámetros (los mismos que envían los subcomandos) y el coste."""
    p, label, container = aws.Plan(ctx.service, ctx.region), deployment.label, deployment.endpoint["containerName"]
    target, registered = f"<registro>/sr:{label}-<fecha>", f":{ctx.service}.{label}.<N>"
    other, wait = scale + 1 if scale < 20 else scale - 1, f"cada {ctx.interval} s, como mucho {ctx.timeout // 60} min"
    steps = [
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
            (p.create_deployment(deployment.with_image(registered), deployment.endpoint), ""),
            (p.get_deployments(), "sondeo hasta ACTIVE o FAILED"),
            (p.get_log(container), "solo si FAILED: últimas líneas"), (p.get_services(), "la URL pública")]),
        ("smoke", "probar la URL pública", [
            (p.get_services(), "la URL pública, si no se indica --url"),
            (f"HTTP GET <url>{shared('HEALTH_PATH')}", "200 y la versión del modelo"),
            ("HTTP GET <url>/v1/model", "la ficha: de ella sale el paciente de ejemplo"),
            ("HTTP POST <url>/v1/predict", "una predicción")]),
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
    print("Plan de despliegue en AWS Lightsail: no crea ni cambia nada; los valores <…> se conocen al ejecutar.")
    print(f"Servicio «{ctx.service}» en {ctx.region}: potencia {power}, {scale} nodo(s); imagen local {image}.")
    for step, (command, what, items) in enumerate(steps, start=1):
        print(f"\n{step}. deploy.py {command}: {what}")
        for item, note in items:
            if isinstance(item, aws.Call):
                wide = len(json.dumps(item.params, ensure_ascii=False, default=str)) > 90  # una clave por línea
                params = json.dumps(item.params, ensure_ascii=False, default=str, indent=2 if wide else None)
                item = f"lightsail:{item.operation} " + params.replace("\n", "\n      ")
            else:
                item = f"$ {item}"
            print(f"   {item}" + (f"   # {note}" if note else ""))
    print(f"\nPrecios por potencia ({prices.source}):")
    print(f"  {'potencia':<9}{'vCPU':>6}{'RAM (GB)':>10}{'USD/mes por nodo':>18}")
    for name, row in prices.powers.items():
        print(f"  {name:<9}{number(row['vcpu'], 'g'):>6}{number(row['ram_gb'], 'g'):>10}"
              f"{number(row['price']):>18}{'  ←' if name == power else ''}")
    print(cost_line(prices, power, scale))
    print(BILLING_WARNING)


# ------------------------------------------------------------------------------------------------- main

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
    deployment = config.load_deployment(args.config) if "config" in vars(args) else None
    image = getattr(args, "image", None) or config.default("image")
    if args.command == "smoke" and args.url:
        return smoke(args.url, ctx.sleep)
    if args.command == "plan":
        prices = config.documented_prices()
        if not args.offline and (client or aws.has_credentials(ctx.region)):
            try:
                prices = config.live_prices(connect(ctx, client).get_powers())
            except DeployError as error:
                print(f"No se pudo leer el precio en vivo ({error.message}); se usa la tabla documentada.")
        return plan(ctx, power, scale, image, deployment, prices)
    connect(ctx, client)
    return {
        "create": lambda: create(ctx, power, scale),
        "push": lambda: push(ctx, image, deployment),
        "deploy": lambda: deploy(ctx, deployment, args.image_ref),
        "deployments": lambda: deployments(ctx),
        "rollback": lambda: rollback(ctx, args.version),
        "status": lambda: status(ctx),
        "logs": lambda: logs(ctx, deployment.endpoint["containerName"], args.lines),
        "url": lambda: print(public_url(ctx)),
        "smoke": lambda: smoke(public_url(ctx), ctx.sleep),
        "scale": lambda: scale_service(ctx, power, scale),
        "destroy": lambda: destroy(ctx, args.yes),
    }[args.command]()


def connect(ctx, client):
    ctx.api = aws.Lightsail(client or aws.create_client(ctx.region), ctx.service, ctx.region)
    return ctx.api


def main(argv=None, *, client=None, sleep=time.sleep, now=None, ask=input):
    """Punto de entrada de deploy.py. Las pruebas pasan un cliente con Stubber y un sleep que no espera."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    ctx = Context(args.service or config.default("service"), args.region or config.default("region"),
                  args.timeout, sleep, now or (lambda: datetime.now(UTC)), ask)
    try:
        run(args, ctx, client)
    except DeployError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("\nInterrumpido. Comprueba el estado con `deploy.py status`.", file=sys.stderr)
        return 130
    return int(ExitCode.OK)
