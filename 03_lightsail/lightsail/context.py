"""Lo que comparten los subcomandos: servicio, región, la API y las dependencias que las pruebas sustituyen."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lightsail import settings


def utc_now():
    return datetime.now(UTC)


@dataclass
class Context:
    region: str
    service: str
    api: object = None  # LightsailApi; None en el plan (no toca AWS)
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = utc_now
    ask: Callable[[str], str] = input
    timeout: int = settings.DEFAULT_TIMEOUT_SECONDS
    interval: int = settings.POLL_INTERVAL_SECONDS
