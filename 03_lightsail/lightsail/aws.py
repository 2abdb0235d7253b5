"""Acceso a Lightsail con boto3: credenciales, cliente y reintentos acotados ante el límite de llamadas."""

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, StubResponseError

from lightsail import errors
from lightsail.errors import DeployError, ExitCode

# Códigos con los que AWS pide bajar el ritmo: se reintenta con espera exponencial, acotada.
THROTTLING_CODES = {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}
MAX_ATTEMPTS = 5
FIRST_BACKOFF_SECONDS = 1

# Un único nivel de reintentos (el nuestro, visible y probado): botocore no reintenta por su cuenta.
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=10, read_timeout=60)


def has_credentials(region):
    """¿Encuentra boto3 credenciales (variables, ~/.aws, SSO…)? No llama a la API de Lightsail."""
    try:
        return boto3.Session(region_name=region).get_credentials() is not None
    except BotoCoreError:
        return False


def create_client(region):
    """Un cliente de Lightsail; si no hay credenciales, para con un mensaje claro."""
    try:
        session = boto3.Session(region_name=region)
        if session.get_credentials() is None:
            raise DeployError(errors.NO_CREDENTIALS, ExitCode.CREDENTIALS)
        return session.client("lightsail", config=CLIENT_CONFIG)
    except BotoCoreError as error:
        raise errors.from_botocore_error(error, "crear el cliente", region) from None


class LightsailApi:
    """Envía Calls a Lightsail, reintenta si AWS limita la frecuencia y traduce los errores."""

    def __init__(self, client, *, service, region, sleep):
        self.client = client
        self.service = service
        self.region = region
        self.sleep = sleep

    def call(self, call):
        method = getattr(self.client, xform_name(call.operation))
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return method(**call.params)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code in THROTTLING_CODES and attempt < MAX_ATTEMPTS:
                    wait = FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)
                    print(f"  AWS limita la frecuencia de llamadas ({call.operation}); "
                          f"reintento {attempt}/{MAX_ATTEMPTS - 1} dentro de {wait} s…")
                    self.sleep(wait)
                    continue
                if code in THROTTLING_CODES:
                    raise DeployError(f"AWS sigue limitando las llamadas a {call.operation} tras {MAX_ATTEMPTS} "
                                      "intentos. Espera un minuto y repite.", ExitCode.AWS, code) from None
                raise errors.from_client_error(error, call.operation, self.service, self.region) from None
            except StubResponseError:
                raise  # fallo de una prueba (llamada no prevista), no un error para el usuario
            except BotoCoreError as error:
                raise errors.from_botocore_error(error, call.operation, self.region) from None
        raise AssertionError("inalcanzable")
