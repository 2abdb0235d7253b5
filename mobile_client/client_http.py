"""Conexión con la API de diabetes: sesión HTTP con reintentos y errores explicados en español.

Todo fallo de red o de la API se convierte en `ApiError`, con una frase que dice qué revisar.
"""

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, ReadTimeoutError
from urllib3.util.retry import Retry

# Reintentos acotados con espera creciente (0 s, 0,6 s, 1,2 s) ante 502/503/504 y conexiones caídas.
# POST /v1/predict es idempotente (la misma entrada da la misma respuesta): se puede repetir sin riesgo.
RETRIES = Retry(
    total=3,
    backoff_factor=0.3,
    status_forcelist=(502, 503, 504),
    allowed_methods=frozenset({"GET", "POST"}),
    raise_on_status=False,
)
START_HINT = ("¿Está en marcha la API? Arráncala con `make app` o `make docker-run` "
              "(con `make api-dev`, pasa en --url la dirección que muestra)")


class ApiError(Exception):
    """Un problema que se explica al usuario con una frase; `details` lista los campos a corregir."""

    def __init__(self, message, details=(), exit_code=1):
        super().__init__(message)
        self.details = list(details)
        self.exit_code = exit_code


class ApiClient:
    def __init__(self, base_url, timeout=10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=RETRIES)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def card(self):
        """La ficha del modelo: variables, unidades, rangos y versión."""
        card = self._request("GET", "/v1/model")
        if not (isinstance(card, dict) and isinstance(card.get("features"), list) and "version" in card):
            raise ApiError(f"{self.base_url}/v1/model no devolvió la ficha de un modelo: ¿es de verdad la URL "
                           "de la API de diabetes? Revisa --url.", exit_code=3)
        return card

    def predict(self, patient):
        return self._request("POST", "/v1/predict", json=patient)

    def predict_many(self, patients):
        return self._request("POST", "/v1/predict", json={"instances": patients})

    def _request(self, method, path, **kwargs):
        url = self.base_url + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL):
            raise ApiError(f"La URL «{self.base_url}» no es válida: usa, por ejemplo, http://127.0.0.1:8000 "
                           "(con http:// o https://).", exit_code=3) from None
        except requests.exceptions.Timeout:
            raise ApiError(self._timeout_message(), exit_code=3) from None
        except requests.exceptions.ConnectionError as error:
            reason = getattr(error.args[0], "reason", None) if error.args else None
            if isinstance(reason, ReadTimeoutError):  # tiempo agotado también en el último reintento
                raise ApiError(self._timeout_message(), exit_code=3) from None
            raise ApiError(_connection_message(self.base_url, reason), exit_code=3) from None
        return _json_or_error(response, self.base_url)

    def _timeout_message(self):
        return (f"La API en {self.base_url} no respondió en {self.timeout:g} s (ni al reintentar). Comprueba que "
                "la URL es la correcta y que el servidor no está saturado, o prueba con --timeout más alto.")


def _connection_message(base_url, reason):
    if isinstance(reason, NameResolutionError):
        return (f"No se encuentra el servidor de «{base_url}»: revisa que el nombre de la URL (--url) "
                "está bien escrito y que tienes conexión.")
    return f"No se puede conectar con la API en {base_url}. {START_HINT}; y revisa que la URL es correcta."


def _json_or_error(response, base_url):
    if response.status_code in RETRIES.status_forcelist:  # quedan tras agotar los reintentos; a veces en HTML
        raise ApiError(f"La API en {base_url} no está disponible ahora (error {response.status_code}), ni tras "
                       f"{RETRIES.total} reintentos. Espera un momento y vuelve a probar; si sigue, "
                       "revisa su registro.", exit_code=3)
    try:
        body = response.json()
    except ValueError:
        raise ApiError(f"{base_url} respondió {response.status_code} pero no con JSON: "
                       "¿es de verdad la URL de la API de diabetes? Revisa --url.", exit_code=3) from None
    if response.ok:
        return body
    if response.status_code == 404:
        raise ApiError(f"En {base_url} no está la API de diabetes (404). Revisa --url: solo la dirección base, "
                       "por ejemplo http://127.0.0.1:8000, sin rutas detrás.", exit_code=3)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    message = error.get("message") or f"La API respondió con el código {response.status_code}."
    if response.status_code >= 500:
        raise ApiError(f"La API falló ({response.status_code}): {message}", exit_code=3)
    raise ApiError(message, details=error.get("details") or ())
