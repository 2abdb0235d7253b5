"""Códigos de salida y errores con mensaje en español (el usuario nunca ve una traza)."""

from enum import IntEnum

from botocore.exceptions import (
    BotoCoreError,
    ConnectTimeoutError,
    EndpointConnectionError,
    InvalidRegionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # despliegue FAILED, prueba de humo fallida o borrado cancelado
    USAGE = 2  # opción o configuración no válida (rechazada antes de llamar a AWS)
    CREDENTIALS = 3  # sin credenciales, rechazadas o sin permisos
    NOT_FOUND = 4  # el servicio no existe
    CONFLICT = 5  # el nombre ya está en uso
    AWS = 6  # región, red, límite de llamadas u otro error de AWS
    DOCKER = 7  # Docker no está instalado, no responde o falla
    TIMEOUT = 8  # la espera acotada se agotó


class DeployError(Exception):
    """Error para el usuario: un mensaje en español y un código de salida."""

    def __init__(self, message, exit_code=ExitCode.FAILED, aws_code=None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.aws_code = aws_code


NO_CREDENTIALS = (
    "No hay credenciales de AWS. Configúralas con `aws configure` o con las variables "
    "AWS_ACCESS_KEY_ID y AWS_SECRET_ACCESS_KEY (usuario con la política 03_lightsail/iam-policy.json). "
    "`deploy.py plan` funciona sin credenciales."
)

CREDENTIAL_CODES = {
    "AccessDeniedException", "UnauthenticatedException", "UnrecognizedClientException",
    "InvalidClientTokenId", "InvalidSignatureException", "ExpiredTokenException", "AuthFailure",
}


def from_client_error(error, operation, service, region):
    """Traduce un ClientError de botocore a un DeployError con mensaje en español."""
    code = error.response.get("Error", {}).get("Code", "")
    detail = error.response.get("Error", {}).get("Message", "")
    if code == "NotFoundException":
        return DeployError(f"El servicio «{service}» no existe en la región {region} ({operation}: {detail}).",
                           ExitCode.NOT_FOUND, code)
    if code in CREDENTIAL_CODES:
        return DeployError(f"AWS rechazó las credenciales o faltan permisos para {operation} ({code}: {detail}). "
                           "Revisa las claves y la política 03_lightsail/iam-policy.json.", ExitCode.CREDENTIALS, code)
    if code == "InvalidInputException" and "already" in detail.lower():
        return DeployError(f"El nombre «{service}» ya está en uso en la región {region}: elige otro con --service. "
                           f"({detail})", ExitCode.CONFLICT, code)
    if code in {"AccountSetupInProgressException", "RegionSetupInProgressException"}:
        return DeployError(f"AWS aún está preparando la cuenta o la región {region}; prueba en unos minutos "
                           f"({detail}).", ExitCode.AWS, code)
    return DeployError(f"AWS respondió con un error en {operation} ({code}): {detail}", ExitCode.AWS, code)


def from_botocore_error(error, operation, region):
    """Traduce los errores de botocore que no vienen de una respuesta de AWS."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return DeployError(NO_CREDENTIALS, ExitCode.CREDENTIALS)
    if isinstance(error, InvalidRegionError):
        return DeployError(f"La región «{region}» no es un nombre de región válido (ejemplo: us-east-1).", ExitCode.AWS)
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return DeployError(f"No se pudo conectar con Lightsail en la región «{region}» ({operation}). "
                           "¿Está bien escrita la región? ¿Hay conexión a internet?", ExitCode.AWS)
    if isinstance(error, BotoCoreError):
        return DeployError(f"Error de AWS en {operation}: {error}", ExitCode.AWS)
    raise TypeError(error)
