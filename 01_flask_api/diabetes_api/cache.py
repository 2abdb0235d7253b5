"""Caché LRU de predicciones frecuentes, en memoria de cada proceso.

La clave es la fila ya validada (una tupla de floats en el orden de la ficha): dos peticiones
con los mismos valores comparten entrada aunque el JSON venga en otro orden.
Es por proceso: cada worker de gunicorn tiene la suya (ver el README sobre Redis).
"""

import threading

from cachetools import LRUCache


class PredictionCache:
    """LRU con cerrojo (los workers con hilos comparten el objeto) y contadores de aciertos."""

    def __init__(self, maxsize):
        self.maxsize = int(maxsize)
        self._entries = LRUCache(self.maxsize) if self.maxsize > 0 else None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        """El valor guardado o None. Con tamaño 0 nunca acierta (pero cuenta el fallo)."""
        with self._lock:
            value = self._entries.get(key) if self._entries is not None else None
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def put(self, key, value):
        if self._entries is not None:
            with self._lock:
                self._entries[key] = value

    def stats(self):
        with self._lock:
            size = len(self._entries) if self._entries is not None else 0
            return {"hits": self.hits, "misses": self.misses, "size": size, "maxsize": self.maxsize}
