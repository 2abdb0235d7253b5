"""La tabla de sobrecarga de bench.md: la fila `lightsail` (el entorno de 03_lightsail/deployment.json,
servidor y wrk en núcleos distintos) a 4, 256 y 1.024 conexiones, frente a sus objetivos.

Objetivos (se miden e informan; no son pruebas): a 256 y 1.024 conexiones, p99 de las respuestas 2xx
≤ 100 ms, 2xx/s ≥ 0,6 × las de 4 conexiones, y ninguna conexión sin respuesta (el resto, 503 con
Retry-After).
"""

from workshop.spanish import duration, number

from .record import overload_figures
from .servers import CALM, CONFIGS, FLOOD, HUGE, OVERLOAD_CONFIG

P99_MS, GOODPUT = 100, 0.6


def verdict(ok, value):
    return "—" if value is None else "sí" if ok else "**no**"


def rows(figures):
    table = []
    for connections in (CALM, FLOOD, HUGE):
        prefix = f"{OVERLOAD_CONFIG}.miss-{connections}."
        if prefix + "ok_rps" not in figures:
            continue
        p99, goodput = figures.get(prefix + "ok_p99_ms"), figures.get(prefix + f"goodput_sobre_{CALM}")
        lost, shed = figures[prefix + "sin_respuesta"], figures.get(prefix + "rechazadas_503_pct", 0)
        checks = connections == CALM or (p99 is not None and p99 <= P99_MS and goodput is not None
                                         and goodput >= GOODPUT and lost == 0)
        steady = figures.get(prefix + "steady_ok_p99_ms")
        table.append([number(connections, 0), duration(p99 and p99 / 1000), duration(steady and steady / 1000),
                      number(figures[prefix + "ok_rps"], 0), number(goodput, 2), f"{number(shed, 1)} %",
                      number(lost, 0), "—" if connections == CALM else verdict(checks, p99)])
    return table


def overload_part(results, markdown_table):
    """La sección de bench.md (vacía si no se midió la fila `lightsail`)."""
    table = rows(overload_figures(results))
    if not table:
        return []
    env = next(config.env for config in CONFIGS if config.name == OVERLOAD_CONFIG)
    return [f"## Sobrecarga con el entorno de Lightsail ({FLOOD} y {number(HUGE, 0)} conexiones)", "",
            f"`{OVERLOAD_CONFIG}`: el entorno de 03_lightsail/deployment.json (`MAX_LAG_MS={env.get('MAX_LAG_MS')}`, "
            f"`GUNICORN_WORKER_CONNECTIONS={env.get('GUNICORN_WORKER_CONNECTIONS', '500')}`, clave, `PROXY_HOPS=1`) "
            "con un límite que nunca salta; el servidor en un núcleo y wrk en los demás (taskset, si hay). "
            f"Objetivos a {FLOOD} y {number(HUGE, 0)} conexiones: p99 de las 2xx ≤ {number(P99_MS, 0)} ms, "
            f"2xx/s ≥ {number(GOODPUT, 1)} × las de {CALM} conexiones, ninguna sin respuesta (el resto, 503 con "
            "`Retry-After`, entregado 1 s después).", "",
            markdown_table(["conexiones", "p99 de las 2xx", "p99 de las 2xx, en régimen", "2xx/s",
                            f"2xx/s ÷ las de {CALM} con.", "503", "sin respuesta", "¿cumple?"], table), ""]
