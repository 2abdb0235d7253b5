"""Prueba de humo por HTTP: salud y una predicción con un paciente de ejemplo sacado de la ficha del modelo."""

import json

import requests

from lightsail import settings
from lightsail.errors import DeployError, ExitCode

HTTP_TIMEOUT_SECONDS = 15
HEALTH_ATTEMPTS = 6  # justo tras desplegar, el DNS o el balanceador pueden tardar unos segundos
HEALTH_RETRY_SECONDS = 10


def example_patient(card):
    """Un paciente válido: el punto medio del rango de cada variable de la ficha (en su orden)."""
    patient = {}
    for feature in card["features"]:
        middle = (feature["min"] + feature["max"]) / 2
        patient[feature["name"]] = round(middle) if feature["type"] == "integer" else round(middle, 2)
    return patient


def fail(what, response):
    raise DeployError(f"Prueba de humo fallida: {what} respondió {response.status_code}: {response.text[:300]}",
                      ExitCode.FAILED)


def get_health(base, sleep):
    url = base + settings.HEALTH_PATH
    for attempt in range(1, HEALTH_ATTEMPTS + 1):
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
            if response.status_code == 200:
                return response.json()
            problem = f"respondió {response.status_code}"
        except requests.RequestException as error:
            problem = f"sin respuesta ({type(error).__name__})"
        print(f"  [{attempt}/{HEALTH_ATTEMPTS}] GET {url}: {problem}", flush=True)
        if attempt < HEALTH_ATTEMPTS:
            sleep(HEALTH_RETRY_SECONDS)
    raise DeployError(f"Prueba de humo fallida: {url} no respondió 200 tras {HEALTH_ATTEMPTS} intentos.",
                      ExitCode.FAILED)


def predict_example(base):
    """GET /v1/model → paciente de ejemplo → POST /v1/predict; devuelve (paciente, respuesta)."""
    try:
        card = requests.get(base + "/v1/model", timeout=HTTP_TIMEOUT_SECONDS)
        if card.status_code != 200:
            fail("GET /v1/model", card)
        patient = example_patient(card.json())
        response = requests.post(base + "/v1/predict", json=patient, timeout=HTTP_TIMEOUT_SECONDS)
        if response.status_code != 200:
            fail("POST /v1/predict", response)
        return patient, response.json()
    except requests.RequestException as error:
        raise DeployError(f"Prueba de humo fallida: {base} ({error}).", ExitCode.FAILED) from None


def local_version():
    try:
        return json.loads(settings.MODEL_CARD.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return "(sin modelo local)"


def smoke(base_url, sleep):
    if not base_url.startswith(("http://", "https://")):
        raise DeployError(f"La URL «{base_url}» debe empezar por http:// o https://.", ExitCode.USAGE)
    base = base_url.rstrip("/")
    print(f"Prueba de humo contra {base}")
    health = get_health(base, sleep)
    print(f"  GET {settings.HEALTH_PATH} → 200 {json.dumps(health, ensure_ascii=False)}")
    patient, result = predict_example(base)
    if result.get("prediction") not in (0, 1) or not 0 <= result.get("probability", -1) <= 1:
        raise DeployError(f"Prueba de humo fallida: respuesta inesperada de /v1/predict: {result}", ExitCode.FAILED)
    print(f"  POST /v1/predict {json.dumps(patient)}")
    print(f"  → {result['label']} (probabilidad {result['probability']:.2f})")
    print(f"Modelo desplegado: {result.get('model_version')}; modelo local: {local_version()}")
    print("Prueba de humo superada.")
    return result
