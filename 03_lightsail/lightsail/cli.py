"""Las opciones de deploy.py (argparse, con textos y errores en español)."""

import argparse
import sys

from lightsail import settings

# argparse no trae traducción al español: se traducen sus mensajes de error más comunes.
ARGPARSE_MESSAGES = {
    "the following arguments are required": "faltan los argumentos",
    "invalid choice": "opción no válida",
    "choose from": "elige entre",
    "unrecognized arguments": "argumentos no reconocidos",
    "expected one argument": "falta el valor",
    "invalid int value": "no es un número entero",
    "argument": "argumento",
}

EPILOG = """ejemplos:
  deploy.py plan                       # el plan y el coste, sin cuenta de AWS
  deploy.py create --power nano --scale 1
  deploy.py push --image diabetes-api:latest
  deploy.py deploy && deploy.py smoke
  deploy.py scale --scale 2
  deploy.py destroy --yes
variables de entorno: LIGHTSAIL_REGION, LIGHTSAIL_SERVICE, LIGHTSAIL_POWER, LIGHTSAIL_SCALE, IMAGE"""


class SpanishFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class SpanishParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, formatter_class=SpanishFormatter, **kwargs)
        self._positionals.title = "argumentos"
        self._optionals.title = "opciones"

    def error(self, message):
        for english, spanish in ARGPARSE_MESSAGES.items():
            message = message.replace(english, spanish)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\nUsa --help para ver las opciones.\n")


def add_capacity(parser, defaults):
    power_help = "potencia: nano, micro, small, medium, large, xlarge"
    scale_help = "número de nodos, de 1 a 20"
    if defaults:
        power_help += f" (o LIGHTSAIL_POWER; por defecto {settings.DEFAULTS['power'][1]})"
        scale_help += f" (o LIGHTSAIL_SCALE; por defecto {settings.DEFAULTS['scale'][1]})"
    parser.add_argument("--power", help=power_help)
    parser.add_argument("--scale", type=int, help=scale_help)


def build_parser():
    # Opciones compartidas por varios subcomandos (parsers «padre», nunca se muestran por sí solos).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", help="región de AWS (o LIGHTSAIL_REGION; por defecto us-east-1)")
    common.add_argument("--service", help="nombre del servicio (o LIGHTSAIL_SERVICE; por defecto taller-diabetes)")
    common.add_argument("--timeout", type=int, default=settings.DEFAULT_TIMEOUT_SECONDS,
                        help="espera máxima en segundos al sondear (por defecto %(default)s)")
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", default=str(settings.DEPLOYMENT_FILE), help="fichero de despliegue (JSON)")
    image = argparse.ArgumentParser(add_help=False)
    image.add_argument("--image", help="imagen Docker local (o IMAGE; por defecto diabetes-api:latest)")

    parser = SpanishParser(prog="deploy.py", epilog=EPILOG, add_help=False,
                           description="Despliega la API del taller en AWS Lightsail (servicios de contenedores).")
    parser.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")
    sub = parser.add_subparsers(dest="command", required=True, metavar="subcomando", title="subcomandos")

    def add(name, text, *parents):
        command = sub.add_parser(name, parents=[common, *parents], help=text, description=text, add_help=False)
        command.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")
        return command

    plan = add("plan", "muestra cada llamada con sus parámetros y el coste mensual (no toca AWS)", config, image)
    add_capacity(plan, defaults=True)
    plan.add_argument("--offline", action="store_true", help="no consultar el precio en vivo aunque haya credenciales")
    add_capacity(add("create", "crea el servicio y espera a que esté listo (READY)"), defaults=True)
    add("push", "sube la imagen local y la registra en el servicio", config, image)
    deploy = add("deploy", "crea un despliegue y espera a ACTIVE; si falla, muestra los registros", config)
    deploy.add_argument("--image-ref", help="imagen registrada (:servicio.etiqueta.N); por defecto, la más reciente")
    add("status", "estado, capacidad, URL, despliegues y uso de CPU y memoria")
    logs = add("logs", "últimas líneas del registro del contenedor", config)
    logs.add_argument("--lines", type=int, default=50, help="cuántas líneas (por defecto %(default)s)")
    add("url", "imprime la URL pública")
    smoke = add("smoke", f"GET {settings.HEALTH_PATH} y una predicción en la URL pública")
    smoke.add_argument("--url", help="probar otra URL (por ejemplo http://127.0.0.1:PUERTO del contenedor local)")
    add_capacity(add("scale", "cambia la potencia y/o el número de nodos (UpdateContainerService)"), defaults=False)
    destroy = add("destroy", "borra el servicio (deja de facturar) y comprueba que ya no existe")
    destroy.add_argument("--yes", action="store_true", help="no pedir confirmación")
    return parser
