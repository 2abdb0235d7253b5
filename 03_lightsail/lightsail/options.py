"""Las opciones de deploy.py: cada subcomando con las suyas, la ayuda y los errores de uso en español.

La traducción de argparse es la de todo el taller (`workshop.argparse_es`); aquí solo se añade lo
propio de deploy.py: un analizador por subcomando, sin abreviaturas, y errores de uso que son una
frase con punto final y la pista «Usa --help» (código 2, `ExitCode.USAGE`).
"""

import argparse

from lightsail import config
from lightsail.service import DEFAULT_TIMEOUT
from workshop.argparse_es import SpanishArgumentParser

OPTIONS = {  # opción → (nombre de su valor, o None si es un interruptor; ayuda)
    "--region": ("REGIÓN", "región de AWS (o LIGHTSAIL_REGION; por defecto us-east-1)"),
    "--service": ("NOMBRE", "nombre del servicio (o LIGHTSAIL_SERVICE; por defecto taller-diabetes)"),
    "--timeout": ("SEGUNDOS", f"espera máxima al sondear el estado (por defecto {DEFAULT_TIMEOUT})"),
    "--config": ("ARCHIVO", "archivo de despliegue (por defecto 03_lightsail/deployment.json)"),
    "--image": ("IMAGEN", "imagen Docker local (o IMAGE; por defecto diabetes-api:latest)"),
    "--power": ("POTENCIA", "nano, micro, small, medium, large o xlarge (o LIGHTSAIL_POWER; al crear, nano)"),
    "--scale": ("NODOS", "número de nodos, de 1 a 20 (o LIGHTSAIL_SCALE; al crear, 1)"),
    "--offline": (None, "no consultar el precio en vivo aunque haya credenciales"),
    "--image-ref": ("IMAGEN", "imagen registrada (:servicio.etiqueta.N); por defecto, la más reciente"),
    "--lines": ("N", "cuántas líneas (por defecto 50)"),
    "--url": ("URL", "probar otra URL (por ejemplo la del contenedor local, http://127.0.0.1:8000)"),
    "--version": ("N", "el despliegue al que volver (por defecto, el anterior que estuvo activo)"),
    "--yes": (None, "no pedir confirmación"),
    "--candidate": ("VERSIÓN", "versión candidata que puntúa junto a la publicada (la imagen debe llevarla)"),
    "--weight": ("PARTE", "parte de las peticiones que responde la candidata, de 0 a 1 (p. ej. 0,05 = 5 %%; "
                          "por defecto 0: solo en la sombra)"),
    "--public": (None, "sin clave: cualquiera que conozca la URL puede usar la API (solo la frena el límite)"),
    "--rate-limit": ("LÍMITE", "peticiones por (clave, dirección), p. ej. 1200/minute (o LIGHTSAIL_RATE_LIMIT; "
                               "por defecto 1200/minute; vacío: sin límite)"),
}
DEFAULTS = {"--timeout": DEFAULT_TIMEOUT, "--lines": 50, "--config": config.DEPLOYMENT_FILE}
INTEGERS = {"--scale", "--timeout", "--lines", "--version"}
COMMANDS = {  # subcomando → (qué hace, sus opciones además de --region, --service y --timeout)
    "plan": ("muestra cada llamada con sus parámetros y el coste mensual (no toca AWS)",
             ["--config", "--image", "--power", "--scale", "--offline", "--public", "--rate-limit"]),
    "create": ("crea el servicio y espera a que esté listo (READY)", ["--power", "--scale"]),
    "push": ("sube la imagen local y la registra en el servicio", ["--config", "--image"]),
    "deploy": ("crea un despliegue (con la clave de la API, salvo --public) y espera a ACTIVE; si falla, muestra "
               "los registros", ["--config", "--image-ref", "--public", "--rate-limit", "--candidate", "--weight"]),
    "deployments": ("lista los despliegues: versión, estado, fecha, imágenes y cuál está activo", []),
    "rollback": ("vuelve a desplegar el despliegue anterior que estuvo activo (o el de --version)", ["--version"]),
    "key": ("imprime la clave de la API (la única orden que la muestra)", []),
    "rotate-key": ("clave nueva: despliega aceptando la nueva y la anterior; el siguiente deploy deja solo la nueva",
                   ["--config", "--image-ref", "--rate-limit"]),
    "status": ("estado, capacidad, URL, despliegues y uso de CPU y memoria", []),
    "logs": ("últimas líneas del registro del contenedor", ["--config", "--lines"]),
    "url": ("imprime la URL pública", []),
    "smoke": ("GET de la ruta de salud, una predicción sin clave (401) y otra con la clave", ["--url"]),
    "scale": ("cambia la potencia y/o el número de nodos (UpdateContainerService)", ["--power", "--scale"]),
    "destroy": ("borra el servicio (deja de facturar) y comprueba que ya no existe", ["--yes"]),
}
EPILOG = ("subcomandos:\n" + "".join(f"  {name:<12} {text}\n" for name, (text, _) in COMMANDS.items())
          + "\nAyuda de cada uno: deploy.py <subcomando> --help. Ejemplo: deploy.py plan --power micro --scale 2\n"
          "Variables de entorno: LIGHTSAIL_REGION, LIGHTSAIL_SERVICE, LIGHTSAIL_POWER, LIGHTSAIL_SCALE, IMAGE,\n"
          "  LIGHTSAIL_RATE_LIMIT y LIGHTSAIL_API_KEY_FILE (el archivo de la clave; por defecto 03_lightsail/.api-key)")


class DeployParser(SpanishArgumentParser):
    """El analizador del taller, sin abreviaturas y con exit_on_error=False: sin `type`, `choices` ni
    `required`, argparse solo falla si a una opción le falta su valor o a un interruptor le sobra (eso
    lo traduce parse_args a una frase propia); los enteros y las opciones desconocidas se comprueban allí."""

    def __init__(self, prog, description, **kwargs):
        super().__init__(prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
                         allow_abbrev=False, exit_on_error=False, **kwargs)

    def error(self, message):
        """Uso, «deploy.py …: error: <frase>.» y la pista; argparse termina con 2, que es ExitCode.USAGE."""
        super().error(f"{message}.\nUsa --help para ver las opciones.")


def parse_args(argv):
    """El subcomando (primer argumento) y sus opciones; un error de uso termina el proceso con código 2."""
    top = DeployParser("deploy.py", "Despliega la API del taller en AWS Lightsail (servicios de contenedores).",
                       usage="%(prog)s <subcomando> [opciones]", epilog=EPILOG)
    if argv[:1] in (["-h"], ["--help"]):
        top.print_help()
        top.exit()
    if not argv or argv[0] not in COMMANDS:
        problem = f"subcomando desconocido «{argv[0]}»" if argv else "falta el subcomando"
        top.error(f"{problem}; elige entre: {', '.join(COMMANDS)}")
    parser = command_parser(argv[0])
    try:
        args, unknown = parser.parse_known_args(argv[1:])
    except argparse.ArgumentError as error:
        needs_value = OPTIONS.get(error.argument_name, (None,))[0] is not None
        parser.error(f"{error.argument_name} {'necesita un valor' if needs_value else 'no admite un valor'}")
    if unknown:
        parser.error(f"no se reconoce {' '.join(unknown)}")
    for option in INTEGERS.intersection(["--timeout", *COMMANDS[argv[0]][1]]):
        value = getattr(args, option[2:])
        try:
            setattr(args, option[2:], None if value is None else int(value))
        except ValueError:
            parser.error(f"{option} «{value}» no es un número entero")
    args.command = argv[0]
    return args


def command_parser(command):
    """El analizador de un subcomando: --region, --service, --timeout y sus opciones propias."""
    text, extra = COMMANDS[command]
    parser = DeployParser(f"deploy.py {command}", text)
    for option in ["--region", "--service", "--timeout", *extra]:
        metavar, help_text = OPTIONS[option]
        if metavar:
            parser.add_argument(option, metavar=metavar, default=DEFAULTS.get(option), help=help_text)
        else:
            parser.add_argument(option, action="store_true", help=help_text)
    return parser
