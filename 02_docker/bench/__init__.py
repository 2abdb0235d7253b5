"""Benchmark del taller: mide la API servida de varias formas con una carga real (wrk).

Se ejecuta con `make bench` (o `.venv/bin/python -m bench`). No es una prueba: mide y escribe
una tabla y un gráfico en `results/`. Detalles y una ejecución registrada: README.md.
"""
