"""La carpeta de métricas de todos los workers (PROMETHEUS_MULTIPROC_DIR), desde los ganchos de gunicorn.conf.py.

Cada worker escribe sus contadores en archivos de esta carpeta y `GET /metrics` los suma (modo
multiproceso de prometheus_client): una lectura cubre todos los workers. El maestro crea una carpeta
nueva (en /dev/shm, en memoria, si existe) antes de crear workers; al recargar (SIGHUP) se relee la
configuración y se conserva la misma. Al morir un worker, sus archivos se suman en uno fusionado por tipo
y se borran: la carpeta no crece con cada reinicio y los totales no cambian. Al terminar el maestro, se
borra la carpeta que creó. Si la carpeta se llena (/dev/shm de Docker: 64 MB) o no admite escritura,
cada worker afectado deja de escribir métricas y sigue prediciendo (diabetes_api/metrics_files.py).
"""

import os
import shutil
import tempfile

OWNED = "DIABETES_API_METRICS_OWNED"


def prepare(parent):
    """Al leer la configuración: una carpeta nueva si no hay una (la primera lectura, no tras un SIGHUP)."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="diabetes-api-metricas-", dir=parent)
        os.environ[OWNED] = "1"


def clear():
    """Antes de crear workers: fuera los contadores de una ejecución anterior con la misma carpeta."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))


def merge_dead(server, worker):
    """Un worker terminó: sus contadores se suman a los fusionados y sus «gauges» en vivo dejan de contar."""
    from prometheus_client import multiprocess

    from diabetes_api import metrics_files

    multiprocess.mark_process_dead(worker.pid)
    try:  # el maestro nunca cae por las métricas: si no se puede, los archivos se quedan y siguen contando
        metrics_files.merge_dead_workers(os.environ["PROMETHEUS_MULTIPROC_DIR"], set(server.WORKERS))
    except Exception as error:  # noqa: BLE001
        server.log.warning("No se pudieron fusionar las métricas del worker %s (%s): se conservan sus archivos.",
                           worker.pid, error)


def remove():
    """Al terminar el maestro: borra la carpeta si la creó él."""
    from serving import gunicorn_settings

    if gunicorn_settings.read(OWNED) == "1":
        shutil.rmtree(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), ignore_errors=True)
