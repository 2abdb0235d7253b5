"""Despliegue de la API del taller en AWS Lightsail (servicios de contenedores), con deploy.py.

- aws.py: el cliente de boto3 y una función por operación de la API de Lightsail.
- config.py: valores por defecto, deployment.json, precios y las reglas del modelo de la API.
- cli.py: el punto de entrada (main): comprueba la configuración y ejecuta el subcomando.
- options.py: las opciones de cada subcomando (argparse en español, de workshop.argparse_es).
- service.py: el contexto, las esperas acotadas y create, scale y destroy.
- releases.py: Docker, push, deploy, rotate-key, deployments y rollback.
- keys.py: la clave de la API (archivo 0600 fuera de git, rotación y **** en la salida).
- checks.py: status, url, logs y la prueba de humo (smoke).
- plan.py: plan, cada llamada con sus parámetros y el coste, sin tocar AWS (la clave, siempre ****).

Aquí: los códigos de salida y el error que ve el usuario (un mensaje en español, nunca una traza).
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # despliegue FAILED, prueba de humo fallida o borrado cancelado
    USAGE = 2  # opción o configuración no válida (rechazada antes de llamar a AWS)
    CREDENTIALS = 3  # sin credenciales, rechazadas o sin permisos
    NOT_FOUND = 4  # no existe el servicio, el despliegue pedido o uno anterior al que volver
    CONFLICT = 5  # el nombre ya está en uso
    AWS = 6  # región, red, límite de llamadas u otro error de AWS
    DOCKER = 7  # Docker no está instalado, no responde o falla
    TIMEOUT = 8  # la espera acotada se agotó


class DeployError(Exception):
    """Error para el usuario: un mensaje en español y un código de salida."""

    def __init__(self, message, exit_code=ExitCode.FAILED):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
