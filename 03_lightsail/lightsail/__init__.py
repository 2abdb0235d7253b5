"""Despliegue de la API del taller en AWS Lightsail (servicios de contenedores).

Módulos, uno por tarea:
- settings: valores compartidos (workshop.env) y valores por defecto.
- errors: códigos de salida y traducción de errores de AWS a mensajes en español.
- rules: validación contra el modelo de la API de Lightsail (antes de llamar a AWS).
- deployment_config: lee deployment.json y construye la petición de despliegue.
- calls: cada llamada a la API (operación y parámetros), compartida por el plan y los comandos.
- aws: cliente de boto3, credenciales y reintentos acotados.
- polling: esperas acotadas con progreso visible.
- pricing: precios por potencia (en vivo o tabla documentada).
- docker_cli: la CLI de Docker, a través de una sola función.
- plan, service, release, smoke: los subcomandos.
"""
