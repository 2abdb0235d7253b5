"""La capa de producción: lo que una API en una URL pública añade al núcleo, en UNA llamada.

`create_app` construye el núcleo (ajustes, modelo, /v1/predict, la salud y las vistas del modelo, los
errores en JSON) y luego llama a `init_app(app)`. Por orden:

1. observability.py - el id de cada petición (X-Request-ID) y su línea de log.
2. metrics.py - los contadores de Prometheus y GET /metrics (con la clave).
3. security.py - la clave (API_KEY) en las rutas marcadas con `@requires_key`, proxies de confianza,
   las cabeceras de seguridad y CORS.
4. limits.py - peticiones en curso (MAX_IN_FLIGHT), el cuerpo con plazo (BODY_TIMEOUT) y RATE_LIMIT
   (salvo en las rutas con `@not_rate_limited`). El descarte por espera (MAX_LAG_MS) va antes de Flask,
   en el worker de gunicorn (02_docker/serving/shedding.py).
5. openapi.py - GET /openapi.json.
6. webapp.py - la app web en /app/, si WEB_DIR nombra su carpeta.
7. docs_page.py - GET /docs: la API para probar en el navegador (Swagger UI en español; `make web`).

Los ganchos `before_request` de estas capas corren antes que los del núcleo: una petición se identifica,
se cuenta y se autoriza antes que nada. El núcleo no importa nada de aquí: lo que estas capas necesitan
de una predicción lo leen de `g` (cache_hit, predictions) y de las marcas de protection.py.
"""

from . import docs_page, limits, metrics, observability, openapi, security, webapp


def init_app(app):
    core_hooks = app.before_request_funcs.pop(None, [])
    observability.init_app(app)
    metrics.init_app(app)
    security.init_app(app)
    limits.init_app(app)
    app.register_blueprint(openapi.bp)
    webapp.init_app(app)
    docs_page.init_app(app)
    app.before_request_funcs.setdefault(None, []).extend(core_hooks)
