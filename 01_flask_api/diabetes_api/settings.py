"""Los ajustes de la API: UNA tabla (nombre, tipo, valor por defecto, qué hace) y UN lector.

Cada variable de entorno que lee la API está declarada una sola vez, en `SETTINGS`. `load_settings()`
las lee todas, las valida (un valor imposible para el arranque con una frase en español que nombra la
variable) y devuelve las claves de `app.config`. Una sola regla: el entorno, y encima lo que se pase a
`create_app(config)` (las pruebas, el benchmark).

PORT, DEV_PORT, HEALTH_PATH y MODEL_DIR (`shared`) tienen su valor en `workshop.env`, el único sitio del taller
para ellos; una variable de entorno con el mismo nombre tiene prioridad. Los ajustes de Gunicorn
(etapa 02) tienen su propia tabla: `serving/gunicorn_settings.py`. La tabla del README de la etapa 01
se comprueba contra esta (`tests/test_01_settings.py`); el benchmark y `make stages` leen de aquí los
nombres.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from workshop.environment import SettingsError, StartupError, parse_number, shared, shared_path

__all__ = ["RUNTIMES", "SETTINGS", "Setting", "SettingsError", "StartupError", "flag", "load_settings", "read"]

RUNTIMES = ("onnx", "sklearn")
YES, NO = {"1", "true", "yes", "on", "si", "sí"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Setting:
    """Un ajuste: la variable de entorno, su tipo, su valor por defecto y una línea que dice qué hace.

    type: int, float, bool (sí/no), str, choice (una de `choices`), level (de logging), path, list (por comas).
    shared: su valor está en workshop.env. internal: lo pone el servidor (etapa 02), no la persona.
    key: la clave de `app.config`, si no es el nombre de la variable.
    """

    name: str
    type: str
    default: object
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    key: str | None = None
    shared: bool = False
    internal: bool = False

    @property
    def config_key(self):
        return self.key or self.name


S = Setting
SETTINGS = (
    S("MODEL_DIR", "path", None, "carpeta de versiones del modelo; se sirve la que nombra live.json", shared=True),
    S("HEALTH_PATH", "str", None, "ruta de la comprobación de salud", shared=True),
    S("PORT", "int", None, "puerto de Gunicorn y del healthcheck", minimum=1, maximum=65535, shared=True),
    S("DEV_PORT", "int", None, "puerto del servidor de desarrollo (make demo-1)", minimum=1, maximum=65535,
      shared=True),
    S("MODEL_RUNTIME", "choice", "onnx", "onnx: el grafo con onnxruntime; sklearn: el pipeline joblib (la lección)",
      choices=RUNTIMES),
    S("CANDIDATE_VERSION", "str", "", "versión candidata que puntúa junto a la publicada; manda sobre candidate.json"),
    S("CANDIDATE_WEIGHT", "float", 0.0, "parte de las peticiones que responde la candidata (0 a 1; 0, en la sombra)",
      minimum=0, maximum=1),
    S("CACHE_SIZE", "int", 1024, "entradas de la caché de predicciones por proceso; 0 la desactiva", minimum=0),
    S("MAX_BATCH", "int", 1000, "pacientes como máximo en un lote", minimum=1),
    S("MAX_BODY_BYTES", "int", 1024 * 1024, "tamaño máximo del cuerpo; más, 413", minimum=1,
      key="MAX_CONTENT_LENGTH"),  # Flask rechaza con 413 cualquier cuerpo mayor que MAX_CONTENT_LENGTH
    S("API_KEY", "list", (), "claves de la API separadas por comas; vacía, sin clave", key="API_KEYS"),
    S("RATE_LIMIT", "str", "", "peticiones por cliente, p. ej. 600/minute; vacío, sin límite"),
    S("RATE_LIMIT_STORAGE", "str", "memory://", "dónde se cuentan: memory:// (cada worker) o redis://…"),
    S("RATE_LIMIT_MAX_KEYS", "int", 10_000, "clientes que recuerda memory:// como mucho", minimum=1),
    S("RATE_LIMIT_WORKERS", "int", 1, "workers entre los que se reparte memory:// (lo pone gunicorn.conf.py)",
      minimum=1, internal=True),
    S("MAX_IN_FLIGHT", "int", 64, "peticiones en curso por worker; más, 503 al momento", minimum=1),
    S("MAX_LAG_MS", "int", 0, "con Gunicorn, espera máxima antes de un 503; 0 lo apaga", minimum=0),
    S("BODY_TIMEOUT", "float", 10.0, "segundos para recibir el cuerpo; pasado, 408", minimum=0.1),
    S("PROXY_HOPS", "int", 0, "proxies de confianza delante (X-Forwarded-For y -Proto)", minimum=0, maximum=5),
    S("CORS_ORIGINS", "list", None, "orígenes web admitidos, separados por comas; sin ella, los locales"),
    S("CORS_ALLOW_FILE", "bool", False, "admite la app abierta como archivo (origen null); solo en local"),
    S("EXPOSE_CACHE_HEADER", "bool", True, "la cabecera X-Cache (HIT/MISS) en /v1/predict"),
    S("MODEL_METRICS", "bool", True, "métricas por versión del modelo (tramos, sombra) en /metrics; 0 las apaga"),
    S("LOG_LEVEL", "level", "INFO", "nivel del registro: DEBUG, INFO, WARNING o ERROR"),
    S("ACCESS_LOG", "bool", True, "una línea de registro por petición; 0 la apaga"),
    S("WEB_DIR", "path", None, "carpeta de la app web que se sirve en /app/; sin ella, /app/ no existe"),
    S("WEB_BUDGET_MB", "float", 60.0, "MB de archivos grandes de /app/ por dirección y minuto; 0, sin cupo",
      minimum=0),
    S("WEB_CONCURRENCY", "int", 2, "workers de Gunicorn (reparten el cupo de /app/)", minimum=1),
    S("PROMETHEUS_MULTIPROC_DIR", "path", None, "carpeta de métricas de todos los workers (la crea gunicorn.conf.py)",
      internal=True),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def flag(name, default):
    """Un sí/no del entorno (1/0, true/false, sí/no, on/off); vacío o sin definir: `default`."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in YES | NO:
        raise SettingsError(f"{name}={value!r} no es válido: usa 1 (sí) o 0 (no).")
    return value in YES


def _choice(setting, raw):
    value = raw.lower() or setting.default
    if value not in setting.choices:
        raise SettingsError(f"{setting.name}={value!r} no es válido: usa {' o '.join(setting.choices)}.")
    return value


def _log_level(setting, raw):
    level = raw.upper() or setting.default
    if not isinstance(logging.getLevelName(level), int):
        raise SettingsError(f"{setting.name}={level!r} no es un nivel de log (DEBUG, INFO, WARNING, ERROR).")
    return level


def _shared(setting):
    if setting.type == "path":
        return shared_path(setting.name)
    raw = shared(setting.name)
    return parse_number(setting.name, raw, int, setting.minimum, setting.maximum) if setting.type == "int" else raw


def read(setting):
    """El valor de un ajuste: del entorno (o de workshop.env), validado; si falta o está vacío, el de la tabla."""
    if isinstance(setting, str):
        setting = BY_NAME[setting]
    if setting.shared:
        return _shared(setting)
    raw = os.environ.get(setting.name)
    if setting.type == "list":  # sin la variable, el de la tabla; con ella (aunque vacía), lo que nombra
        source = setting.default if raw is None else raw.split(",")
        return None if source is None else [item.strip() for item in source if item.strip()]
    raw = (raw or "").strip()
    if setting.type in ("int", "float"):
        kind = int if setting.type == "int" else float
        return setting.default if not raw else parse_number(setting.name, raw, kind, setting.minimum, setting.maximum)
    if setting.type == "bool":
        return flag(setting.name, setting.default)
    if setting.type == "choice":
        return _choice(setting, raw)
    if setting.type == "level":
        return _log_level(setting, raw)
    if setting.type == "path":
        return Path(raw) if raw else setting.default
    return raw or setting.default


def load_settings():
    """Todos los ajustes de la tabla, leídos y validados. Las claves son las de `app.config` (como en Flask)."""
    return {setting.config_key: read(setting) for setting in SETTINGS}
