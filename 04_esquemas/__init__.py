"""Etapa 04: tres esquemas de integración del modelo (base de datos compartida, API REST y streaming).

Ver 04_esquemas/README.md y `python -m schemes --help`.
"""
