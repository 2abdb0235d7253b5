"""Nada secreto en la salida: una URL con credenciales se muestra con la contraseña tapada.

    mask_url("postgresql://taller:taller@127.0.0.1:5432/taller") → «postgresql://taller:****@127.0.0.1:5432/taller»
    mask_url("redis://:secreto@127.0.0.1:6379/0")                 → «redis://:****@127.0.0.1:6379/0»
    mask_url("postgresql://db/taller?password=secreto")           → «postgresql://db/taller?password=****»
    mask_url("sqlite:///results/esquemas.sqlite3")                → igual: no lleva credenciales

Se usa en todo lo que se imprime, se escribe en un log o va en un mensaje de error. Se tapa de más
antes que de menos: una contraseña sin escapar puede llevar «@», «/» o «?», así que el usuario y la
contraseña llegan hasta la ÚLTIMA «@» (en una URL rara puede quedar tapado también el servidor).
"""

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MASK = "****"
# Parámetros de la consulta que llevan una contraseña (psycopg y redis-py aceptan `password=`).
SECRET_PARAMETERS = {"password", "pass", "passwd", "pwd"}


def mask_url(url):
    """La URL con la contraseña (del usuario o de `?password=`) cambiada por ****; lo demás, igual."""
    text = str(url)
    scheme, separator, rest = text.partition("://")
    if separator and "@" in rest:
        userinfo, _, place = rest.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        text = f"{scheme}://{user}{':' + MASK if has_password else ''}@{place}"
    return _mask_query(text)


def _mask_query(text):
    try:
        parts = urlsplit(text)
    except ValueError:  # p. ej. corchetes de IPv6 mal cerrados: no se puede leer, no se enseña la consulta
        return text.split("?", 1)[0] + ("?" + MASK if "?" in text else "")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key.lower() in SECRET_PARAMETERS for key, _ in pairs):
        return text
    query = urlencode([(key, MASK if key.lower() in SECRET_PARAMETERS else value) for key, value in pairs], safe="*")
    return urlunsplit(parts._replace(query=query))


def mask_text(text, url):
    """`text` (p. ej. el mensaje de error de un controlador) sin la contraseña que lleve `url`."""
    text, url = str(text), str(url)
    secrets = set()
    scheme, separator, rest = url.partition("://")
    if separator and "@" in rest:
        secrets.add(rest.rpartition("@")[0].partition(":")[2])
    try:
        secrets.update(value for key, value in parse_qsl(urlsplit(url).query) if key.lower() in SECRET_PARAMETERS)
    except ValueError:
        pass
    secrets |= {unquote(secret) for secret in secrets}  # el controlador puede citarla ya sin escapar
    text = text.replace(url, mask_url(url))
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
