"""deployment.json: el único fichero de configuración del despliegue (contenedor, imagen, puerto,
entorno y comprobación de salud). ${PORT} y ${HEALTH_PATH} salen de workshop.env; ${IMAGE} es la
imagen registrada en el servicio."""

import copy
import json
from string import Template
from typing import NamedTuple

from lightsail import rules, settings
from lightsail.errors import DeployError, ExitCode

IMAGE = "${IMAGE}"  # marcador de la imagen registrada


class Deployment(NamedTuple):
    label: str  # etiqueta con la que se registra la imagen (RegisterContainerImage)
    container_name: str  # el contenedor que recibe el tráfico público
    request: dict  # {"containers": …, "publicEndpoint": …} con ${IMAGE} aún sin sustituir


def load_raw(path=settings.DEPLOYMENT_FILE):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"No existe el fichero de despliegue {path}.", ExitCode.USAGE) from None
    except json.JSONDecodeError as error:
        raise DeployError(f"{path} no es JSON válido (línea {error.lineno}): {error.msg}", ExitCode.USAGE) from None


def substitute(node, values):
    """Sustituye ${…} en claves y valores; descarta las claves que empiezan por «_» (comentarios)."""
    if isinstance(node, dict):
        return {substitute(k, values): substitute(v, values) for k, v in node.items() if not k.startswith("_")}
    if isinstance(node, list):
        return [substitute(item, values) for item in node]
    if isinstance(node, str):
        try:
            return Template(node).substitute(values)
        except (KeyError, ValueError):
            known = ", ".join(f"${{{name}}}" for name in values)
            raise DeployError(f"Marcador desconocido en «{node}». Se admiten: {known}.", ExitCode.USAGE) from None
    return node


def load(path=settings.DEPLOYMENT_FILE):
    """Lee, completa y valida la configuración (antes de cualquier llamada a AWS).

    ${IMAGE} se deja tal cual: la imagen se conoce después (with_image).
    """
    values = {"IMAGE": IMAGE, "PORT": str(settings.PORT), "HEALTH_PATH": settings.HEALTH_PATH}
    config = substitute(load_raw(path), values)
    endpoint = config.get("publicEndpoint") or {}
    port = endpoint.get("containerPort")
    if isinstance(port, str) and port.isdigit():
        endpoint["containerPort"] = int(port)
    rules.require(problems(config))
    request = {"containers": config["containers"], "publicEndpoint": endpoint}
    return Deployment(config["imageLabel"], endpoint["containerName"], request)


def with_image(deployment, image):
    """La petición de despliegue con ${IMAGE} sustituido por la imagen registrada."""
    request = copy.deepcopy(deployment.request)
    for container in request["containers"].values():
        container["image"] = container["image"].replace(IMAGE, image)
    return request


def problems(config):
    """Todos los problemas de la configuración a la vez, con el campo nombrado."""
    found = [rules.name_problem(config.get("imageLabel"), "ContainerLabel", "imageLabel")]
    containers = config.get("containers")
    if not isinstance(containers, dict) or not containers:
        return [*filter(None, found), "containers debe tener al menos un contenedor."]
    for name, container in containers.items():
        found.append(rules.name_problem(name, "ContainerName", "El nombre de contenedor"))
        if not isinstance(container.get("image"), str) or not container["image"]:
            found.append(f"containers.{name}.image falta.")
        environment = container.get("environment", {})
        if not all(isinstance(v, str) for v in environment.values()):
            found.append(f"containers.{name}.environment: los valores deben ser texto (entre comillas).")
        for port, protocol in container.get("ports", {}).items():
            if not (port.isdigit() and 1 <= int(port) <= 65535):
                found.append(f"containers.{name}.ports: «{port}» no es un puerto entre 1 y 65535.")
            found.append(rules.enum_problem(protocol, "ContainerServiceProtocol", f"El protocolo del puerto {port}"))
    found.extend(endpoint_problems(config.get("publicEndpoint") or {}, containers))
    return [problem for problem in found if problem]


def endpoint_problems(endpoint, containers):
    name, port = endpoint.get("containerName"), endpoint.get("containerPort")
    if name not in containers:
        return [f"publicEndpoint.containerName «{name}» no está en containers ({', '.join(containers)})."]
    ports = containers[name].get("ports", {})
    if ports.get(str(port)) not in {"HTTP", "HTTPS"}:
        return [f"publicEndpoint.containerPort {port!r} debe ser un puerto HTTP o HTTPS de «{name}»: {ports}."]
    check = endpoint.get("healthCheck", {})
    found = [rules.range_problem(check[key], low, high, f"healthCheck.{key}")
             for key, (low, high) in rules.HEALTH_CHECK_RANGES.items() if key in check]
    if not str(check.get("path", "/")).startswith("/"):
        found.append(f"healthCheck.path «{check['path']}» debe empezar por «/».")
    if "successCodes" in check:
        found.append(rules.success_codes_problem(check["successCodes"]))
    return found
