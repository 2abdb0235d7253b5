"""La configuración, comprobada ANTES de llamar a AWS: valores por defecto, deployment.json y precios.

PORT y HEALTH_PATH salen de workshop.env (la misma definición que usan gunicorn y la imagen); RATE_LIMIT, de
--rate-limit o LIGHTSAIL_RATE_LIMIT. ${IMAGE} y ${API_KEY} se ponen al desplegar: la clave nunca está en
deployment.json (lo guarda git), sino en el archivo de keys.py.
botocore.stub.Stubber (y botocore al enviar) solo comprueba tipos, mínimos y campos obligatorios: las
enumeraciones, los máximos y los patrones se leen aquí del modelo de la API de Lightsail que trae botocore.
"""

import copy
import json
import os
import re
from functools import cache
from pathlib import Path
from string import Template
from typing import NamedTuple

import botocore.session

from lightsail import DeployError, ExitCode
from workshop.environment import shared

STAGE_DIR = Path(__file__).resolve().parents[1]
DEPLOYMENT_FILE = STAGE_DIR / "deployment.json"
PRICES_FILE = STAGE_DIR / "prices.json"

# Valor por defecto de cada opción y la variable de entorno que lo sustituye.
DEFAULTS = {
    "region": ("LIGHTSAIL_REGION", "us-east-1"),
    "service": ("LIGHTSAIL_SERVICE", "taller-diabetes"),
    "power": ("LIGHTSAIL_POWER", "nano"),
    "scale": ("LIGHTSAIL_SCALE", "1"),
    "image": ("IMAGE", "diabetes-api:latest"),
    # 40 asistentes que comparten una clave y la dirección de la wifi (una sola «IP» para la API):
    # 30 peticiones por minuto cada uno. La API cuenta por (clave, dirección del cliente).
    "rate_limit": ("LIGHTSAIL_RATE_LIMIT", "1200/minute"),
}
IMAGE = "${IMAGE}"  # en deployment.json, la imagen registrada (se conoce al desplegar)
# En una URL pública, sin X-Cache: un HIT le dice a un cliente que OTRO ya envió esos datos. Quien lo
# quiera, lo pide en deployment.json ("EXPOSE_CACHE_HEADER": "1"); si falta la línea, se pone esta.
PUBLIC_DEFAULTS = {"EXPOSE_CACHE_HEADER": "0"}
API_KEY = "${API_KEY}"  # en deployment.json, la clave (o ninguna con --public): se pone al desplegar
RATE_LIMIT = re.compile(r"[1-9]\d*/(second|minute|hour|day)")
# Rangos de la comprobación de salud documentados en la guía de Lightsail (no están en el modelo).
HEALTH_CHECK_RANGES = {"intervalSeconds": (5, 300), "timeoutSeconds": (2, 60), "healthyThreshold": (2, 10),
                       "unhealthyThreshold": (2, 10)}
SUCCESS_CODES = re.compile(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*")


def from_env(key):
    """El valor de la variable de entorno de `key`, o None si no está definida."""
    return os.environ.get(DEFAULTS[key][0]) or None


def default(key):
    return from_env(key) or DEFAULTS[key][1]


# ------------------------------------------------------------- reglas del modelo de la API de Lightsail

@cache
def api_model():
    """El modelo de la API de Lightsail que trae botocore (sin credenciales ni red)."""
    return botocore.session.get_session().get_service_model("lightsail")


def shape(name):
    return api_model().shape_for(name)


def enum_problem(value, shape_name, what):
    options = shape(shape_name).enum
    return None if value in options else f"{what} «{value}» no es válida. Opciones: {', '.join(options)}."


def range_problem(value, low, high, what):
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return None
    return f"{what} debe ser un entero entre {low} y {high} (recibido: {value!r})."


def name_problem(value, shape_name, what):
    """Nombre según el patrón y la longitud del modelo (minúsculas, dígitos y guiones)."""
    meta = shape(shape_name).metadata
    body = meta["pattern"].removeprefix("^").removesuffix("$")
    if isinstance(value, str) and meta["min"] <= len(value) <= meta["max"] and re.fullmatch(f"(?:{body})", value):
        return None
    return (f"{what} «{value}» no es válido: {meta['min']}–{meta['max']} caracteres, solo minúsculas, dígitos "
            "y guiones, sin guion al principio ni al final.")


def api_key_problem(name, environment, public):
    """La clave nunca se escribe en deployment.json (git lo guarda): solo el marcador ${API_KEY}, que el
    contenedor del punto público debe tener (así la clave está activada por defecto)."""
    value = environment.get("API_KEY")
    if value == API_KEY or (value is None and not public):
        return None
    return (f"containers.{name}.environment.API_KEY debe ser «{API_KEY}»: la clave no se escribe en "
            "deployment.json (deploy.py la guarda en 03_lightsail/.api-key); para desplegar sin clave, usa --public.")


def success_codes_problem(value):
    if isinstance(value, str) and SUCCESS_CODES.fullmatch(value):
        pairs = [(int(a), int(b or a)) for a, b in re.findall(r"(\d{3})(?:-(\d{3}))?", value)]
        if all(200 <= low <= high <= 499 for low, high in pairs):
            return None
    return f"successCodes «{value}» no es válido: códigos entre 200 y 499, como «200», «200,202» o «200-299»."


def require(problems):
    """Detiene el programa (código 2) si hay problemas, antes de tocar AWS."""
    problems = [problem for problem in problems if problem]
    if problems:
        raise DeployError("\n".join(["Configuración no válida:", *(f"  - {p}" for p in problems)]), ExitCode.USAGE)


def check_service(region, service, power=None, scale=None):
    """Las opciones del servicio (power y scale solo si se dan)."""
    scale_meta = shape("ContainerServiceScale").metadata
    require([enum_problem(region, "RegionName", "La región de Lightsail"),
             name_problem(service, "ContainerServiceName", "El nombre de servicio"),
             power is not None and enum_problem(power, "ContainerServicePowerName", "La potencia"),
             scale is not None and range_problem(scale, scale_meta["min"], scale_meta["max"],
                                                 "La escala (número de nodos)")])


# ------------------------------------------------------------------------------------ deployment.json

class Deployment(NamedTuple):
    label: str  # etiqueta con la que se registra la imagen (RegisterContainerImage)
    containers: dict  # los contenedores, con ${IMAGE} y ${API_KEY} aún sin sustituir
    endpoint: dict  # publicEndpoint: el contenedor y el puerto que reciben el tráfico, y la salud

    def with_image(self, image, *, api_key):
        """Los contenedores con ${IMAGE} sustituido por la imagen registrada y ${API_KEY} por la clave (o
        varias separadas por comas); con api_key=None (--public), sin la variable API_KEY. Cada uno, con
        PUBLIC_DEFAULTS si deployment.json no dice otra cosa."""
        containers = copy.deepcopy(self.containers)
        for container in containers.values():
            container["image"] = container["image"].replace(IMAGE, image)
            environment = container.setdefault("environment", {})
            for name, value in PUBLIC_DEFAULTS.items():
                environment.setdefault(name, value)
            for name in [name for name, value in environment.items() if value == API_KEY]:
                if api_key is None:
                    del environment[name]
                else:
                    environment[name] = api_key
        return containers


def candidate_environment(version, weight):
    """CANDIDATE_VERSION y CANDIDATE_WEIGHT para el contenedor (deploy --candidate … --weight …), comprobados antes
    de tocar AWS; {} sin --candidate. En Lightsail, cambiar la parte del tráfico es un despliegue nuevo."""
    if version is None:
        if weight is not None:
            raise DeployError("--weight necesita --candidate VERSIÓN: la parte del tráfico es de una versión "
                              "candidata.", ExitCode.USAGE)
        return {}
    from diabetes_model.store import VERSION_PATTERN  # aquí: importa numpy; solo con --candidate

    share = None
    try:
        share = float(str(weight or "0").strip().replace(",", "."))
    except ValueError:
        pass
    require([None if VERSION_PATTERN.fullmatch(version) else
             f"--candidate «{version}» no es un nombre de versión (como v-1a2b3c4d5e6f).",
             None if share is not None and 0 <= share <= 1 else
             f"--weight «{weight}» debe ser un número entre 0 y 1: la parte de las peticiones que responde la "
             "candidata (0,05 = 5 %; 0 = solo en la sombra)."])
    return {"CANDIDATE_VERSION": version, "CANDIDATE_WEIGHT": f"{share:g}"}


def rate_limit_problem(value):
    if value == "" or RATE_LIMIT.fullmatch(value):
        return None
    return (f"El límite de peticiones «{value}» no es válido: N/second, N/minute, N/hour o N/day (por ejemplo "
            "1200/minute), o vacío para no limitar.")


def load_deployment(path=DEPLOYMENT_FILE, rate_limit=None):
    """Lee deployment.json, pone ${PORT}, ${HEALTH_PATH} y ${RATE_LIMIT} y lo valida; ${IMAGE} y ${API_KEY}
    quedan (with_image los pone)."""
    rate_limit = default("rate_limit") if rate_limit is None else rate_limit
    require([rate_limit_problem(rate_limit)])
    values = {"IMAGE": IMAGE, "PORT": shared("PORT"), "HEALTH_PATH": shared("HEALTH_PATH"), "API_KEY": API_KEY,
              "RATE_LIMIT": rate_limit}
    known = f"Se admiten: {', '.join(f'${{{name}}}' for name in values)}; un «$» suelto se escribe «$$»."
    try:
        text = Template(Path(path).read_text(encoding="utf-8")).substitute(values)
        config = json.loads(text, object_hook=lambda obj: {k: v for k, v in obj.items() if not k.startswith("_")})
    except FileNotFoundError:
        raise DeployError(f"No existe el archivo de despliegue {path}.", ExitCode.USAGE) from None
    except KeyError as error:
        raise DeployError(f"Marcador desconocido en «${{{error.args[0]}}}» ({path}). {known}", ExitCode.USAGE) from None
    except json.JSONDecodeError as error:
        raise DeployError(f"{path} no es JSON válido (línea {error.lineno}): {error.msg}", ExitCode.USAGE) from None
    except ValueError:
        raise DeployError(f"{path} tiene un «$» que no es un marcador. {known}", ExitCode.USAGE) from None
    endpoint = config.get("publicEndpoint") or {}
    if str(endpoint.get("containerPort")).isdigit():
        endpoint["containerPort"] = int(endpoint["containerPort"])
    require(deployment_problems(config, endpoint))
    return Deployment(config["imageLabel"], config["containers"], endpoint)


def deployment_problems(config, endpoint):
    """Todos los problemas de la configuración a la vez, con el campo nombrado."""
    found = [name_problem(config.get("imageLabel"), "ContainerLabel", "imageLabel")]
    containers = config.get("containers")
    if not isinstance(containers, dict) or not containers:
        return [*found, "containers debe tener al menos un contenedor."]
    for name, container in containers.items():
        found.append(name_problem(name, "ContainerName", "El nombre de contenedor"))
        if not isinstance(container.get("image"), str) or not container["image"]:
            found.append(f"containers.{name}.image falta.")
        if not all(isinstance(v, str) for v in container.get("environment", {}).values()):
            found.append(f"containers.{name}.environment: los valores deben ser texto (entre comillas).")
        found.append(api_key_problem(name, container.get("environment", {}), name == endpoint.get("containerName")))
        for port, protocol in container.get("ports", {}).items():
            if not (port.isdigit() and 1 <= int(port) <= 65535):
                found.append(f"containers.{name}.ports: «{port}» no es un puerto entre 1 y 65535.")
            found.append(enum_problem(protocol, "ContainerServiceProtocol", f"El protocolo del puerto {port}"))
    name, port = endpoint.get("containerName"), endpoint.get("containerPort")
    if name not in containers:
        return [*found, f"publicEndpoint.containerName «{name}» no está en containers ({', '.join(containers)})."]
    ports = containers[name].get("ports", {})
    if ports.get(str(port)) not in {"HTTP", "HTTPS"}:
        found.append(f"publicEndpoint.containerPort {port!r} debe ser un puerto HTTP o HTTPS de «{name}»: {ports}.")
    check = endpoint.get("healthCheck", {})
    found += [range_problem(check[key], low, high, f"healthCheck.{key}")
              for key, (low, high) in HEALTH_CHECK_RANGES.items() if key in check]
    if not str(check.get("path", "/")).startswith("/"):
        found.append(f"healthCheck.path «{check['path']}» debe empezar por «/».")
    if "successCodes" in check:
        found.append(success_codes_problem(check["successCodes"]))
    return found


# --------------------------------------------------------------------------------------------- precios

class Prices(NamedTuple):
    powers: dict  # potencia → {"vcpu", "ram_gb", "price"} (USD al mes por nodo)
    source: str  # de dónde salen, para decirlo al usuario


def documented_prices():
    table = json.loads(PRICES_FILE.read_text(encoding="utf-8"))
    return Prices(table["powers"], f"tabla documentada del {table['taken_on']}; sin credenciales no se puede "
                                   "consultar el precio en vivo")


def live_prices(response):
    """Los precios de la respuesta de GetContainerServicePowers (los que mandan)."""
    return Prices({power["name"]: {"vcpu": power["cpuCount"], "ram_gb": power["ramSizeInGb"], "price": power["price"]}
                   for power in response["powers"] if power.get("isActive", True)},
                  "precios en vivo de GetContainerServicePowers")
