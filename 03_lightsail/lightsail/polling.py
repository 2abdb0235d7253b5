"""Esperas acotadas con progreso visible (botocore no tiene «waiters» para Lightsail)."""

import math

from lightsail.errors import DeployError, ExitCode


def elapsed(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def wait_until(check, *, what, ctx):
    """Llama a check() hasta que devuelva (True, estado) o se agote ctx.timeout.

    check devuelve (terminado, texto del estado). Cada consulta imprime una línea de progreso.
    """
    attempts = max(1, math.ceil(ctx.timeout / ctx.interval))
    for attempt in range(1, attempts + 1):
        done, status = check()
        print(f"  [{attempt}/{attempts}] {what}: {status} ({elapsed((attempt - 1) * ctx.interval)})", flush=True)
        if done:
            return
        if attempt < attempts:
            ctx.sleep(ctx.interval)
    raise DeployError(f"Tiempo agotado ({elapsed(ctx.timeout)}) esperando {what}. Consulta `deploy.py status` "
                      "y amplía la espera con --timeout si hace falta.", ExitCode.TIMEOUT)
