"""Consultar el servicio sin cambiarlo: status, url, logs y la prueba de humo (smoke)."""

import ipaddress
import json
from urllib.parse import urlsplit

import requests

from diabetes_model.patients import example_patient
from lightsail import DeployError, ExitCode, aws, keys
from lightsail.service import describe, images, state_text
from workshop.environment import SettingsError, shared
from workshop.spanish import number

HTTP_TIMEOUT, HEALTH_ATTEMPTS, HEALTH_RETRY_SECONDS = 15, 6, 10  # tras desplegar, el DNS tarda un poco
MIDDLE = 0.5  # la paciente de la prueba de humo: el punto medio del rango de cada variable de la ficha


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


def public_url(ctx, service=None):
    """La URL pública del servicio (https://<servicio>.<id>.<región>.cs.amazonlightsail.com/)."""
    if url := (service or describe(ctx)).get("url"):
        return url
    raise DeployError(f"El servicio «{ctx.service}» aún no tiene URL pública.", ExitCode.FAILED)


def smoke_deployed(ctx):
    """La prueba de humo contra la URL pública, sabiendo si el despliegue activo pide clave (su API_KEY)."""
    service = describe(ctx)
    smoke(public_url(ctx, service), ctx.sleep, key_required(service.get("currentDeployment")))


def key_required(deployment):
    """¿Tiene API_KEY el contenedor del punto público del despliegue? None si no se sabe (sin despliegue)."""
    if not deployment:
        return None
    containers = deployment.get("containers", {})
    name = (deployment.get("publicEndpoint") or {}).get("containerName")
    chosen = [containers[name]] if name in containers else containers.values()
    return any((container.get("environment") or {}).get(keys.VARIABLE) for container in chosen)


def logs(ctx, container, lines):
    events = ctx.api.get_log(container).get("logEvents", [])
    hidden = keys.secrets_known()  # si la aplicación escribiera la clave, aquí sale como ****
    print(f"Últimas {min(lines, len(events))} líneas del registro de «{container}»:")
    for event in events[-lines:]:
        print(f"  {event['createdAt']:%Y-%m-%d %H:%M:%S}  {keys.mask(event['message'], hidden)}")
    if not events:
        print("  (sin líneas: el contenedor aún no ha escrito nada o no llegó a arrancar)")


def smoke(base_url, sleep, key_required=None):
    """GET de la salud (con reintentos) y una predicción con una paciente sacada de la ficha que sirve la API.
    Si el despliegue pide clave (key_required; None: lo dice la API), sin clave debe responder 401 y con la
    clave del archivo, la predicción."""
    if not base_url.startswith(("http://", "https://")):
        raise DeployError(f"La URL «{base_url}» debe empezar por http:// o https://.", ExitCode.USAGE)
    base, health_path = base_url.rstrip("/"), shared("HEALTH_PATH")
    print(f"Prueba de humo contra {base}")
    health = wait_for_health(base, health_path, sleep)
    print(f"  GET {health_path} → 200 {json.dumps(health.json(), ensure_ascii=False)}")
    try:
        card = http_json(requests.get(base + "/v1/model", timeout=HTTP_TIMEOUT), "GET /v1/model")
        patient = example_patient(card, share=MIDDLE)
        result = predict(base, patient, key_required)
    except requests.RequestException as error:
        raise DeployError(f"Prueba de humo fallida: {base} ({error}).", ExitCode.FAILED) from None
    if result.get("prediction") not in (0, 1) or not 0 <= result.get("probability", -1) <= 1:
        raise DeployError(f"Prueba de humo fallida: respuesta inesperada de /v1/predict: {result}", ExitCode.FAILED)
    print(f"  POST /v1/predict {json.dumps(patient)}")
    print(f"  → {result['label']} (probabilidad {number(result['probability'])})")
    print(f"Modelo desplegado: {result.get('model_version')}; modelo local: {local_version()}")
    print("Prueba de humo superada.")


def predict(base, patient, key_required):
    """POST /v1/predict sin clave: 401 si la API la pide (entonces, otra vez con la clave del archivo)."""
    anonymous = requests.post(base + "/v1/predict", json=patient, timeout=HTTP_TIMEOUT)
    if key_required is None:
        key_required = anonymous.status_code == 401
    if not key_required:
        print(f"  POST /v1/predict sin clave → {anonymous.status_code}: la API no pide clave (pública).")
        return http_json(anonymous, "POST /v1/predict")
    if anonymous.status_code != 401:
        raise DeployError(f"Prueba de humo fallida: el despliegue tiene {keys.VARIABLE}, pero POST /v1/predict sin "
                          f"clave respondió {anonymous.status_code} en vez de 401.", ExitCode.FAILED)
    print("  POST /v1/predict sin clave → 401: la API pide la clave.")
    if not key_may_travel(base):
        raise DeployError(f"Prueba de humo detenida: {base} pide la clave, pero la URL es http:// (sin cifrar) y no es "
                          "de este equipo: la clave viajaría legible y la recibiría quien responda. Usa la URL "
                          "https:// del servicio (deploy.py url) o una local (http://127.0.0.1:…).", ExitCode.USAGE)
    state = keys.load()
    if state is None:
        raise DeployError(f"Prueba de humo fallida: la API pide clave y no existe {keys.shown_path()} en este "
                          "equipo.", ExitCode.FAILED)
    headers = {"Authorization": f"Bearer {state['current']}"}
    # Sin seguir redirecciones: la clave va solo a la URL comprobada arriba.
    answer = requests.post(base + "/v1/predict", json=patient, headers=headers, timeout=HTTP_TIMEOUT,
                           allow_redirects=False)
    result = http_json(answer, "POST /v1/predict con la clave")
    print(f"  POST /v1/predict con Authorization: Bearer {keys.MASK} → 200")
    return result


def key_may_travel(base):
    """¿Se puede mandar la clave a `base`? Por https://, siempre; por http://, solo a este equipo."""
    parts = urlsplit(base)
    if parts.scheme == "https":
        return True
    host = (parts.hostname or "").lower()
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    from diabetes_model.store import ModelError, live_version_dir, read_card  # aquí: importa numpy; solo smoke

    try:
        return read_card(live_version_dir())["version"]
    except (ModelError, SettingsError):
        return "(sin modelo local)"
