"""Qué protege cada ruta, dicho en la propia ruta con un decorador (lo lee la capa de producción).

    @bp.post("/predict")
    @requires_key
    def predict(): ...

Estas marcas no hacen nada por sí solas: solo declaran. Quien las cumple es la capa de producción
(production.py): security.py pide la clave en las rutas con `requires_key` (si hay API_KEY) y limits.py
no cuenta en el límite de peticiones las rutas con `not_rate_limited`. Así el núcleo no importa nada
de esa capa y quien lee una ruta ve qué la protege.
"""

from flask import current_app


def requires_key(view):
    """La ruta pide `Authorization: Bearer <clave>` cuando la API tiene clave (API_KEY)."""
    view.requires_key = True
    return view


def not_rate_limited(view):
    """La ruta no cuenta para RATE_LIMIT (la salud, el contrato, el índice, la vista pública del modelo)."""
    view.not_rate_limited = True
    return view


def marked(endpoint, mark):
    """¿Lleva la ruta `endpoint` (de la petición en curso) la marca `mark`?"""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return bool(getattr(view, mark, False))
