"""Cada llamada a la API de Lightsail: operación y parámetros exactos.

Los comandos y el plan usan estas mismas funciones, así el plan muestra lo que de verdad se envía.
La política IAM (iam-policy.json) permite exactamente estas operaciones.
"""

from datetime import timedelta
from typing import NamedTuple

METRIC_WINDOW = timedelta(hours=1)
METRIC_PERIOD_SECONDS = 300
METRICS = ("CPUUtilization", "MemoryUtilization")


class Call(NamedTuple):
    operation: str  # nombre de la operación de la API (y de la acción IAM «lightsail:<operation>»)
    params: dict


def get_powers():
    return Call("GetContainerServicePowers", {})


def get_services(service=None):
    """Un servicio (o todos los de la región si service es None)."""
    return Call("GetContainerServices", {"serviceName": service} if service else {})


def create_service(service, power, scale):
    return Call("CreateContainerService", {"serviceName": service, "power": power, "scale": scale})


def update_service(service, power=None, scale=None):
    changes = {key: value for key, value in {"power": power, "scale": scale}.items() if value is not None}
    return Call("UpdateContainerService", {"serviceName": service, **changes})


def delete_service(service):
    return Call("DeleteContainerService", {"serviceName": service})


def registry_login():
    return Call("CreateContainerServiceRegistryLogin", {})


def register_image(service, label, digest):
    return Call("RegisterContainerImage", {"serviceName": service, "label": label, "digest": digest})


def get_images(service):
    return Call("GetContainerImages", {"serviceName": service})


def create_deployment(service, request):
    return Call("CreateContainerServiceDeployment", {"serviceName": service, **request})


def get_deployments(service):
    return Call("GetContainerServiceDeployments", {"serviceName": service})


def get_log(service, container):
    return Call("GetContainerLog", {"serviceName": service, "containerName": container})


def get_metric(service, metric, now):
    """La última hora de una métrica (CPU o memoria), en tramos de 5 minutos."""
    return Call("GetContainerServiceMetricData", {
        "serviceName": service, "metricName": metric, "startTime": now - METRIC_WINDOW, "endTime": now,
        "period": METRIC_PERIOD_SECONDS, "statistics": ["Average", "Maximum"],
    })
