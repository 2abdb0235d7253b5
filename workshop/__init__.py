"""Lo común del taller: lo que usan varias etapas, escrito una sola vez.

No es una etapa: ninguna etapa lo «sigue», todas pueden usarlo y él no importa ninguna.

    paths         la raíz del repositorio (solo biblioteca estándar)
    settings      los valores de workshop.env y los números del entorno
    spanish       números, duraciones y fechas a la española
    argparse_es   argparse con la ayuda y los errores en español (todas las órdenes)
    processes     puertos libres, arrancar y esperar a que responda, parar por PID
    check_machine `make check`: qué le falta a este equipo (con el Python del sistema)
    stages        `make stages`: qué etapas importa cada una (falla si una importa otra posterior)
    secrets       URLs con contraseña, enmascaradas para mostrarlas (postgresql://taller:****@…)

La imagen Docker copia este paquete junto a la API (02_docker/Dockerfile).
"""
