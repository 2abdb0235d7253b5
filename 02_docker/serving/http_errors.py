"""Los errores que gunicorn responde por sí mismo, sin llegar a Flask (línea de petición rota, URL o
cabeceras demasiado grandes, una versión de HTTP desconocida), en el JSON de la API y en español, en
vez de su página HTML en inglés. `install()` sustituye `gunicorn.util.write_error`, la función con la
que los workers escriben esas respuestas. Lo llama gunicorn.conf.py al leerse, en el maestro y antes de
crear workers: los workers nacen por fork con él (y al recargar con SIGHUP se vuelve a instalar, igual).
"""

import json

from gunicorn import util

from diabetes_api.errors import HTTP_ERRORS, OTHER_ERROR

SERVER_ERROR = ("internal_error", "El servidor no pudo leer la petición (estado HTTP {status}).")


def json_error(status, reason):
    """La respuesta HTTP completa (bytes) de un error de gunicorn, con el cuerpo de la API."""
    code, message = (HTTP_ERRORS.get(status, OTHER_ERROR) if status < 500 else SERVER_ERROR)
    body = json.dumps({"error": {"code": code, "message": message.format(status=status), "details": []}},
                      ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def write_json_error(sock, status_int, reason, mesg):
    # `mesg` (con trozos de la petición) no se devuelve: gunicorn ya lo escribe en su log.
    util.write_nonblock(sock, json_error(status_int, reason))


def install():
    util.write_error = write_json_error
