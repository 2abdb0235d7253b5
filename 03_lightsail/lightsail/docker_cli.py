"""La CLI de Docker. Todas las órdenes pasan por run_docker (las pruebas sustituyen solo esa función)."""

import re
import subprocess

from lightsail.errors import DeployError, ExitCode

DOCKER_TIMEOUT_SECONDS = 30 * 60  # subir una imagen por una conexión lenta puede tardar
LIGHTSAIL_PLATFORM = "linux/amd64"
DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def run_docker(args, input_text=None):
    """Ejecuta `docker <args>` y devuelve el CompletedProcess (salida capturada como texto)."""
    try:
        return subprocess.run(["docker", *args], input=input_text, capture_output=True, text=True,
                              timeout=DOCKER_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise DeployError("No se encuentra la orden «docker». Instala Docker (Docker Desktop o docker.io) y "
                          "comprueba que `docker version` funciona.", ExitCode.DOCKER) from None
    except subprocess.TimeoutExpired:
        raise DeployError(f"`docker {args[0]}` no terminó en {DOCKER_TIMEOUT_SECONDS} s.", ExitCode.DOCKER) from None


def checked(args, what, input_text=None):
    result = run_docker(args, input_text)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise DeployError(f"Docker falló al {what}:\n  " + "\n  ".join(detail), ExitCode.DOCKER)
    return result.stdout


def require_lightsail_platform(image):
    """La imagen existe en local y es linux/amd64 (Lightsail no ejecuta arm64: «exec format error»)."""
    result = run_docker(["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", image])
    if result.returncode != 0:
        raise DeployError(f"La imagen «{image}» no está en este equipo (o Docker no responde). Constrúyela con "
                          f"`make docker-build` o indica otra con --image.\n  {result.stderr.strip()}",
                          ExitCode.DOCKER)
    platform = result.stdout.strip()
    if platform != LIGHTSAIL_PLATFORM:
        raise DeployError(f"La imagen «{image}» es {platform}, pero Lightsail ejecuta {LIGHTSAIL_PLATFORM}: el "
                          "despliegue fallaría con «exec format error» (típico en Mac con Apple Silicon). "
                          f"Reconstrúyela con `docker build --platform {LIGHTSAIL_PLATFORM} …`.", ExitCode.DOCKER)


def login(registry, username, password):
    checked(["login", "--username", username, "--password-stdin", registry], "iniciar sesión en el registro",
            input_text=password)


def tag(source, target):
    checked(["tag", source, target], f"etiquetar {source} como {target}")


def push(target):
    """Sube la imagen y devuelve su digest (sha256:…), que es lo que se registra en Lightsail."""
    output = checked(["push", target], f"subir {target}")
    found = DIGEST.search(output)
    if not found:
        raise DeployError(f"`docker push` no mostró el digest de la imagen:\n{output[-500:]}", ExitCode.DOCKER)
    return found.group(1)


def untag(target):
    """Quita la etiqueta temporal del registro (solo la etiqueta: la imagen local sigue ahí)."""
    run_docker(["image", "rm", target])


def logout(registry):
    """Borra de ~/.docker/config.json la contraseña temporal del registro."""
    run_docker(["logout", registry])
