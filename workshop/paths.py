"""La raíz del repositorio (la carpeta de `workshop.env`), definida una sola vez.

Solo biblioteca estándar: la usa también `make check`, con el Python del sistema y antes de instalar nada.
"""

from functools import cache
from pathlib import Path


@cache
def root():
    """La carpeta de `workshop.env`: la del directorio actual o la de una carpeta padre de este paquete.

    En el anfitrión es la raíz del repositorio; en la imagen, /app.
    """
    for folder in (Path.cwd(), *Path(__file__).resolve().parents):
        if (folder / "workshop.env").is_file():
            return folder
    return Path.cwd()
