"""Consultar el servicio sin cambiarlo: status, url, logs y la prueba de humo (smoke)."""

import json

import requests

from lightsail import DeployError, ExitCode, aws
from lightsail.service import describe, images, state_text
from workshop.patients import example_patient
from workshop.settings import SettingsError, shared
from workshop.spanish import number

HTTP_TIMEOUT, HEALTH_ATTEMPTS, HEALTH_RETRY_SECONDS = 15, 6, 10  # tras desplegar, el DNS tarda un poco
MIDDLE = 0.5  # el paciente de la prueba de humo: el punto medio del rango de cada variable de la ficha


def status(ctx):
    service = describe(ctx)
    print(f"Servicio:  {ctx.service} ({ctx.region})")
    print(f"Estado:    {state_text(service)}")
    print(f"Capacidad: {service['power']} × {service['scale']} nodo(s)")
    print(f"URL:       {service.get('url', '(sin URL)')}")
    for title, key in (("Despliegue actual", "currentDeployment"), ("Despliegue en curso", "nextDeployment")):
        if item := service.get(key):
            print(f"{title}: versión {item['version']} ({item['state']}) con {images(item, names=False)}")
    for metric in aws.METRICS:
        if points := ctx.api.get_metric(metric, ctx.now()).get("metricData", []):
            last = max(points, key=lambda point: point["timestamp"])
            print(f"{metric}: media {number(last['average'], 1)} %, máximo {number(last['maximum'], 1)} % "
                  "(últimos 5 min)")
        else:
            print(f"{metric}: sin datos en la última hora")


def public_url(ctx):
    """La URL pública del servicio (https://<servicio>.<id>.<región>.cs.amazonlightsail.com/)."""
    if url := describe(ctx).get("url"):
        return url
    raise DeployError(f"El servicio «{ctx.service}» aún no tiene URL pública.", ExitCode.FAILED)


def logs(ctx, container, lines):
    events = ctx.api.get_log(container).get("logEvents", [])
    print(f"Últimas {min(lines, len(events))} líneas del registro de «{container}»:")
    for event in events[-lines:]:
        print(f"  {event['createdAt']:%Y-%m-%d %H:%M:%S}  {event['message']}")
    if not events:
        print("  (sin líneas: el contenedor aún no ha escrito nada o no llegó a arrancar)")


def smoke(base_url, sleep):
    """GET de la salud (con reintentos) y una predicción con un paciente sacado de la ficha que sirve la API."""
    if not base_url.startswith(("http://", "https://")):
        raise DeployError(f"La URL «{base_url}» debe empezar por http:// o https://.", ExitCode.USAGE)
    base, health_path = base_url.rstrip("/"), shared("HEALTH_PATH")
    print(f"Prueba de humo contra {base}")
    health = wait_for_health(base, health_path, sleep)
    print(f"  GET {health_path} → 200 {json.dumps(health.json(), ensure_ascii=False)}")
    try:
        card = http_json(requests.get(base + "/v1/model", timeout=HTTP_TIMEOUT), "GET /v1/model")
        patient = example_patient(card, share=MIDDLE)
        result = http_json(requests.post(base + "/v1/predict", json=patient, timeout=HTTP_TIMEOUT), "POST /v1/predict")
    except requests.RequestException as error:
        raise DeployError(f"Prueba de humo fallida: {base} ({error}).", ExitCode.FAILED) from None
    if result.get("prediction") not in (0, 1) or not 0 <= result.get("probability", -1) <= 1:
        raise DeployError(f"Prueba de humo fallida: respuesta inesperada de /v1/predict: {result}", ExitCode.FAILED)
    print(f"  POST /v1/predict {json.dumps(patient)}")
    print(f"  → {result['label']} (probabilidad {number(result['probability'])})")
    print(f"Modelo desplegado: {result.get('model_version')}; modelo local: {local_version()}")
    print("Prueba de humo superada.")


def wait_for_health(base, health_path, sleep):
    """GET de la ruta de salud hasta que responda 200, como mucho HEALTH_ATTEMPTS veces; devuelve la respuesta."""
    for attempt in range(1, HEALTH_ATTEMPTS + 1):
        try:
            health = requests.get(base + health_path, timeout=HTTP_TIMEOUT)
            if health.status_code == 200:
                return health
            problem = f"respondió {health.status_code}"
        except requests.RequestException as error:
            problem = f"sin respuesta ({type(error).__name__})"
        print(f"  [{attempt}/{HEALTH_ATTEMPTS}] GET {base}{health_path}: {problem}", flush=True)
        if attempt < HEALTH_ATTEMPTS:
            sleep(HEALTH_RETRY_SECONDS)
    raise DeployError(f"Prueba de humo fallida: {base}{health_path} no respondió 200 tras {HEALTH_ATTEMPTS} "
                      "intentos.", ExitCode.FAILED)


def http_json(response, what):
    if response.status_code != 200:
        raise DeployError(f"Prueba de humo fallida: {what} respondió {response.status_code}: {response.text[:300]}",
                          ExitCode.FAILED)
    return response.json()


def local_version():
    """La versión publicada en MODEL_DIR de este equipo, para compararla con la desplegada."""
    from workshop.modelfiles import ModelError, live_version_dir, read_card  # aquí: importa numpy; solo smoke

    try:
        return read_card(live_version_dir())["version"]
    except (ModelError, SettingsError):
        return "(sin modelo local)"
