"""Todo lo que habla con la API de Lightsail: el cliente de boto3, una función por operación y sus errores.

La clase Lightsail tiene un método por operación, con los parámetros exactos que se envían; son las
mismas (ni una más) que permiten iam-policy.json y, para borrar, iam-policy-delete.json. Cada método
devuelve la respuesta tal cual.
Plan es la misma clase sin enviar nada: devuelve la llamada, para que `deploy.py plan` la muestre.
"""

from datetime import timedelta
from typing import NamedTuple

import boto3
from botocore import exceptions as boto
from botocore import xform_name
from botocore.config import Config

from lightsail import DeployError, ExitCode

# Reintentos de botocore: ante un límite de llamadas (Throttling…) o un fallo pasajero de red o de AWS,
# repite con espera exponencial y aleatoria. max_attempts cuenta los REintentos: 1 + 4 = 5 intentos.
RETRIES = 4
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": RETRIES}, connect_timeout=10, read_timeout=60)

METRICS = ("CPUUtilization", "MemoryUtilization")
METRIC_WINDOW = timedelta(hours=1)
METRIC_PERIOD_SECONDS = 300

NO_CREDENTIALS = ("No hay credenciales de AWS. Configúralas con `aws configure` o con las variables "
                  "AWS_ACCESS_KEY_ID y AWS_SECRET_ACCESS_KEY (usuario con la política 03_lightsail/iam-policy.json). "
                  "`deploy.py plan` funciona sin credenciales.")
CREDENTIAL_CODES = {"AccessDeniedException", "UnauthenticatedException", "UnrecognizedClientException",
                    "InvalidClientTokenId", "InvalidSignatureException", "ExpiredTokenException", "AuthFailure"}
THROTTLING_CODES = {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}


def has_credentials(region):
    """¿Encuentra boto3 credenciales (variables, ~/.aws, SSO…)? No llama a la API de Lightsail."""
    try:
        return boto3.Session(region_name=region).get_credentials() is not None
    except boto.BotoCoreError:
        return False


def create_client(region):
    """Un cliente de Lightsail con reintentos acotados; sin credenciales, para con un mensaje claro."""
    try:
        session = boto3.Session(region_name=region)
        if session.get_credentials() is None:
            raise DeployError(NO_CREDENTIALS, ExitCode.CREDENTIALS)
        return session.client("lightsail", config=CLIENT_CONFIG)
    except boto.BotoCoreError as error:
        raise from_botocore_error(error, "crear el cliente", region) from None


class Lightsail:
    """Las operaciones de Lightsail sobre un servicio de contenedores (una región, un nombre)."""

    def __init__(self, client, service, region):
        self.client, self.service, self.region = client, service, region

    def call(self, operation, **params):
        """Envía la operación (botocore ya reintenta lo pasajero) y traduce sus errores al español."""
        try:
            return getattr(self.client, xform_name(operation))(**params)
        except boto.ClientError as error:
            raise from_client_error(error, operation, self.service, self.region) from None
        except boto.StubResponseError:
            raise  # fallo de una prueba (llamada no prevista), no un error para el usuario
        except boto.BotoCoreError as error:
            raise from_botocore_error(error, operation, self.region) from None

    def get_powers(self):
        return self.call("GetContainerServicePowers")

    def get_services(self, every=False):
        """Este servicio (NotFoundException si no existe) o, con every, todos los de la región."""
        return self.call("GetContainerServices", **({} if every else {"serviceName": self.service}))

    def create_service(self, power, scale):
        return self.call("CreateContainerService", serviceName=self.service, power=power, scale=scale)

    def update_service(self, power=None, scale=None):
        """Solo lo que cambia: potencia, nodos o ambos."""
        changes = {key: value for key, value in {"power": power, "scale": scale}.items() if value is not None}
        return self.call("UpdateContainerService", serviceName=self.service, **changes)

    def delete_service(self):
        return self.call("DeleteContainerService", serviceName=self.service)

    def registry_login(self):
        return self.call("CreateContainerServiceRegistryLogin")

    def register_image(self, label, digest):
        return self.call("RegisterContainerImage", serviceName=self.service, label=label, digest=digest)

    def get_images(self):
        return self.call("GetContainerImages", serviceName=self.service)

    def create_deployment(self, containers, public_endpoint=None):
        endpoint = {"publicEndpoint": public_endpoint} if public_endpoint else {}
        return self.call("CreateContainerServiceDeployment", serviceName=self.service, containers=containers,
                         **endpoint)

    def get_deployments(self):
        return self.call("GetContainerServiceDeployments", serviceName=self.service)

    def get_log(self, container):
        return self.call("GetContainerLog", serviceName=self.service, containerName=container)

    def get_metric(self, metric, now):
        """La última hora de una métrica (CPU o memoria), en tramos de 5 minutos."""
        return self.call("GetContainerServiceMetricData", serviceName=self.service, metricName=metric,
                         startTime=now - METRIC_WINDOW, endTime=now, period=METRIC_PERIOD_SECONDS,
                         statistics=["Average", "Maximum"])


class Call(NamedTuple):
    operation: str  # nombre de la operación de la API (y de la acción IAM «lightsail:<operation>»)
    params: dict


class Plan(Lightsail):
    """Lightsail sin cliente: cada método devuelve la Call que enviaría, sin tocar AWS."""

    def __init__(self, service, region):
        super().__init__(None, service, region)

    def call(self, operation, **params):
        return Call(operation, params)


def from_client_error(error, operation, service, region):
    """Traduce un ClientError (la respuesta de error de AWS) a un DeployError en español."""
    code = error.response.get("Error", {}).get("Code", "")
    detail = error.response.get("Error", {}).get("Message", "")
    if code == "NotFoundException":
        return DeployError(f"El servicio «{service}» no existe en la región {region} ({operation}: {detail}).",
                           ExitCode.NOT_FOUND)
    if code in CREDENTIAL_CODES:
        policy = "iam-policy-delete.json (borrar va aparte)" if operation.startswith("Delete") else "iam-policy.json"
        return DeployError(f"AWS rechazó las credenciales o faltan permisos para {operation} ({code}: {detail}). "
                           f"Revisa las claves y la política 03_lightsail/{policy}.", ExitCode.CREDENTIALS)
    if code in THROTTLING_CODES:
        attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", RETRIES) + 1
        return DeployError(f"AWS sigue limitando las llamadas a {operation} tras {attempts} intentos. "
                           "Espera un minuto y repite.", ExitCode.AWS)
    if code == "InvalidInputException" and "already" in detail.lower():
        return DeployError(f"El nombre «{service}» ya está en uso en la región {region}: elige otro con --service. "
                           f"({detail})", ExitCode.CONFLICT)
    if code in {"AccountSetupInProgressException", "RegionSetupInProgressException"}:
        return DeployError(f"AWS aún está preparando la cuenta o la región {region}; prueba en unos minutos "
                           f"({detail}).", ExitCode.AWS)
    return DeployError(f"AWS respondió con un error en {operation} ({code}): {detail}", ExitCode.AWS)


def from_botocore_error(error, operation, region):
    """Traduce los errores de botocore que no vienen de una respuesta de AWS (credenciales, red, región)."""
    if isinstance(error, boto.NoCredentialsError | boto.PartialCredentialsError):
        return DeployError(NO_CREDENTIALS, ExitCode.CREDENTIALS)
    if isinstance(error, boto.InvalidRegionError):
        return DeployError(f"La región «{region}» no es un nombre de región válido (ejemplo: us-east-1).", ExitCode.AWS)
    if isinstance(error, boto.EndpointConnectionError | boto.ConnectTimeoutError | boto.ReadTimeoutError):
        return DeployError(f"No se pudo conectar con Lightsail en la región «{region}» ({operation}). "
                           "¿Está bien escrita la región? ¿Hay conexión a internet?", ExitCode.AWS)
    return DeployError(f"Error de AWS en {operation}: {error}", ExitCode.AWS)
