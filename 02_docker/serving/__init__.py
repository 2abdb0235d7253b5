"""El código Python de la etapa 02: servir la API con gunicorn.

    master     lo que hace el maestro de gunicorn: comprobar la versión publicada (la predicción de
               prueba en un hijo desechable), guardarla y dársela a los workers; recargar con SIGHUP
    wsgi       la aplicación que crea cada worker: `create_app` (etapa 01) con la versión del maestro
    reload     `make reload`: comprueba la versión publicada y avisa (SIGHUP) al gunicorn de este equipo
    shedding, http_errors, metrics_folder, fair_accept
               lo que llaman los ganchos de gunicorn.conf.py (descarte, errores JSON, métricas, gevent)
    launch     arrancar gunicorn con 02_docker/gunicorn.conf.py en 127.0.0.1 y esperar a que responda
               (lo usan el benchmark, la etapa 04, el cliente móvil y las pruebas)

La imagen lo copia a /app/serving (02_docker/Dockerfile) junto a la API y a `workshop`.
"""
