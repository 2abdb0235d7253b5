"""Validación previa a cualquier llamada, con las reglas del propio modelo de la API de Lightsail.

botocore.stub.Stubber (y botocore al enviar) solo comprueba tipos, mínimos y campos
obligatorios: no comprueba enumeraciones, máximos ni patrones. Aquí se leen del modelo.
"""

import re
from functools import lru_cache

import botocore.session

from lightsail.errors import DeployError, ExitCode

# Rangos de la comprobación de salud documentados en la guía de Lightsail (no están en el modelo).
HEALTH_CHECK_RANGES = {
    "intervalSeconds": (5, 300),
    "timeoutSeconds": (2, 60),
    "healthyThreshold": (2, 10),
    "unhealthyThreshold": (2, 10),
}
SUCCESS_CODES = re.compile(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*")
SUCCESS_CODE_RANGE = (200, 499)


@lru_cache(maxsize=1)
def service_model():
    """El modelo de la API de Lightsail que trae botocore (no necesita credenciales ni red)."""
    return botocore.session.get_session().get_service_model("lightsail")


def shape(name):
    return service_model().shape_for(name)


def enum_problem(value, shape_name, what):
    options = shape(shape_name).enum
    if value in options:
        return None
    return f"{what} «{value}» no es válida. Opciones: {', '.join(options)}."


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


def scale_problem(value):
    meta = shape("ContainerServiceScale").metadata
    return range_problem(value, meta["min"], meta["max"], "La escala (número de nodos)")


def success_codes_problem(value):
    if isinstance(value, str) and SUCCESS_CODES.fullmatch(value):
        codes = [int(code) for code in re.findall(r"\d{3}", value)]
        pairs = re.findall(r"(\d{3})-(\d{3})", value)
        low, high = SUCCESS_CODE_RANGE
        if all(low <= code <= high for code in codes) and all(int(a) <= int(b) for a, b in pairs):
            return None
    return f"successCodes «{value}» no es válido: códigos entre 200 y 499, como «200», «200,202» o «200-299»."


def service_problems(*, region=None, service=None, power=None, scale=None):
    """Los problemas de las opciones del servicio (las que se dan; None se ignora)."""
    checks = [
        region is not None and enum_problem(region, "RegionName", "La región de Lightsail"),
        service is not None and name_problem(service, "ContainerServiceName", "El nombre de servicio"),
        power is not None and enum_problem(power, "ContainerServicePowerName", "La potencia"),
        scale is not None and scale_problem(scale),
    ]
    return [problem for problem in checks if problem]


def require(problems):
    """Detiene el programa (código 2) si hay problemas, antes de tocar AWS."""
    if problems:
        raise DeployError("\n".join(["Configuración no válida:", *(f"  - {p}" for p in problems)]), ExitCode.USAGE)
