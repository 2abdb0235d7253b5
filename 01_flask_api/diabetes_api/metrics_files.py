"""Los archivos de métricas del modo multiproceso de prometheus_client: sin SIGBUS y sin crecer sin fin.

Cada worker escribe sus valores en `<tipo>_<pid>.db` (p. ej. counter_1234.db) dentro de
PROMETHEUS_MULTIPROC_DIR, un archivo mapeado en memoria (mmap). Dos problemas de serie:

1. prometheus_client crea y agranda esos archivos con `truncate`: un archivo «disperso», que no ocupa
   nada hasta que se escribe en él. Si la carpeta está llena (en Docker vive en /dev/shm, 64 MB),
   escribir en el mapa no da un error: el núcleo manda SIGBUS y el worker muere; el siguiente, igual.
   `ReservedFile` pide el espacio de verdad ANTES (os.posix_fallocate): sin sitio, OSError (ENOSPC),
   que el worker sí puede atender (metrics.py deja de escribir métricas y sigue prediciendo).
2. Los archivos de un worker muerto se quedan (cada reinicio deja los suyos). `merge_dead_workers`
   (lo llama el maestro de gunicorn en `child_exit`) suma sus valores en un único conjunto
   `<tipo>_fusionado.db` y los borra: la carpeta queda acotada y los totales no cambian.

Solo se fusionan los tipos que se suman (contadores, histogramas, resúmenes). Los «gauges» de esta API
(metrics_versions.py) son «livemax»: prometheus_client borra su archivo al morir el worker.
Lecturas y fusiones se excluyen con un candado (flock) para que `/metrics` nunca cuente un worker dos
veces ni ninguna (un contador que baja sería, para Prometheus, un reinicio).
"""

import fcntl
import os
import re
import time
from contextlib import contextmanager

from prometheus_client.mmap_dict import MmapedDict

# Lo que se reserva al crear un archivo (crece, reservado, si hace falta: con los tramos de la referencia de
# metrics_versions.py, un archivo de contadores o de «gauges» llega a ~32 KB).
INITIAL_BYTES = 16 * 1024
# Los tipos que escribe esta API (metrics.py): un archivo de cada uno por worker.
WORKER_FILE_TYPES = ("counter", "histogram")
# Los tipos cuyos valores se suman entre procesos: se pueden fusionar sin perder nada.
ADDITIVE_TYPES = ("counter", "histogram", "summary")
MERGED = "fusionado"
LOCK_NAME = ".candado"  # sin «.db»: el colector de prometheus_client no lo lee
LOCK_WAIT_SECONDS = 2.0
WORKER_FILE = re.compile(r"(?P<type>[a-z]+)_(?P<pid>\d+)\.db")


def reserve(path, size):
    """Crea (si falta) el archivo y reserva `size` bytes de verdad. Sin sitio o sin permiso: OSError,
    y no deja un archivo vacío (el colector fallaría al leerlo)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(descriptor, 0, max(size, os.fstat(descriptor).st_size))
    except OSError:
        if os.fstat(descriptor).st_size == 0:
            os.unlink(path)
        raise
    finally:
        os.close(descriptor)


def entry_bytes(key):
    """Lo que ocupa una entrada nueva en el archivo (el formato de MmapedDict._init_value): longitud,
    clave rellenada hasta múltiplo de 8, valor y marca de tiempo."""
    encoded = len(key.encode("utf-8"))
    return 4 + encoded + (8 - (encoded + 4) % 8) + 16


class ReservedFile(MmapedDict):
    """El archivo de prometheus_client, pero con su espacio reservado antes de mapearlo o de crecer.

    Sin sitio, el constructor o la primera escritura de una etiqueta nueva lanzan OSError en vez de
    un SIGBUS. metrics.py lo instala en `prometheus_client.values.MmapedDict` (la clase con la que
    el modo multiproceso abre sus archivos). Usa atributos internos de MmapedDict (_used, _capacity,
    _f): la versión está fijada en requirements/serve.txt y tests/test_02_metrics_faults.py lo comprueba.
    """

    def __init__(self, filename, read_mode=False):
        if not read_mode:
            reserve(filename, INITIAL_BYTES)
        super().__init__(filename, read_mode)

    def _init_value(self, key):
        capacity = self._capacity
        while self._used + entry_bytes(key) > capacity:
            capacity *= 2  # lo mismo que hará MmapedDict, pero reservado de verdad
        if capacity > self._capacity:
            os.posix_fallocate(self._f.fileno(), 0, capacity)
        super()._init_value(key)


def reserve_worker_files(folder, pid):
    """Al nacer un worker: reserva ya sus archivos (y comprueba así que la carpeta admite escritura).
    Si no se puede, borra lo que haya creado y lanza OSError."""
    created = []
    try:
        for file_type in WORKER_FILE_TYPES:
            path = os.path.join(folder, f"{file_type}_{pid}.db")
            reserve(path, INITIAL_BYTES)
            created.append(path)
    except OSError:
        for path in created:
            os.unlink(path)
        raise


@contextmanager
def locked(folder, exclusive=False, wait=LOCK_WAIT_SECONDS):
    """Candado de la carpeta: compartido para leer (/metrics), exclusivo para fusionar (el maestro).

    Devuelve True si lo tiene. Sin archivo de candado posible (carpeta de solo lectura, donde nadie
    fusiona) se lee sin él. El exclusivo espera como mucho `wait` segundos: el maestro nunca se queda
    bloqueado por un worker colgado (entonces no fusiona ahora; lo hará en la próxima salida)."""
    try:
        descriptor = os.open(os.path.join(folder, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield not exclusive
        return
    try:
        yield _acquire(descriptor, exclusive, wait)
    finally:
        os.close(descriptor)  # cerrar suelta el candado


def _acquire(descriptor, exclusive, wait):
    if not exclusive:
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        return True
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


def dead_worker_files(folder, live_pids):
    """{tipo: [rutas]} de los archivos sumables de procesos que ya no están vivos."""
    found = {}
    for name in sorted(os.listdir(folder)):
        match = WORKER_FILE.fullmatch(name)
        if match and match["type"] in ADDITIVE_TYPES and int(match["pid"]) not in live_pids:
            found.setdefault(match["type"], []).append(os.path.join(folder, name))
    return found


def merge_dead_workers(folder, live_pids):
    """En el maestro: suma los archivos de los workers muertos en `<tipo>_fusionado.db` y los borra.

    Devuelve cuántos archivos fusionó. Clave a clave (etiquetas y cubeta incluidas), así que los
    contadores y los histogramas suman exactamente lo mismo antes y después. El nuevo fusionado se
    escribe aparte y sustituye al anterior con os.replace, con el candado exclusivo: /metrics ve
    todo antes o todo después. Sin sitio: OSError, y no se ha tocado nada.
    """
    dead = dead_worker_files(folder, set(live_pids))
    if not dead:
        return 0
    with locked(folder, exclusive=True) as acquired:
        if not acquired:
            return 0
        for file_type, paths in dead.items():
            merged = os.path.join(folder, f"{file_type}_{MERGED}.db")
            _write_sum([merged, *paths] if os.path.exists(merged) else paths, merged)
            for path in paths:
                os.unlink(path)
    return sum(len(paths) for paths in dead.values())


def _write_sum(sources, target):
    totals = {}
    for source in sources:
        if os.path.getsize(source) == 0:  # un worker que murió al crearlo: no tiene valores
            continue
        for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(source):
            previous = totals.get(key, (0.0, 0.0))
            totals[key] = (previous[0] + value, max(previous[1], timestamp))
    partial = target + ".parcial"  # sin «.db» al final: el colector no lo lee a medias
    try:
        output = ReservedFile(partial)
        try:
            for key, (value, timestamp) in totals.items():
                output.write_value(key, value, timestamp)
        finally:
            output.close()
        os.replace(partial, target)
    except OSError:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
