"""Etapa 05: cambiar el modelo sin miedo. Vigilarlo en producción (deriva y calidad), probar una versión
nueva en la sombra y después con una parte del tráfico, y volver atrás sola cuando las cifras lo dicen.

Ver 05_mantenimiento/README.md y `python -m maintenance --help`.
"""
