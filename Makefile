# Taller: despliegue de modelos de Machine Learning en producción.
# `make` (o `make help`) lista los objetivos. Cada etapa usa lo que construye la anterior.

.DEFAULT_GOAL := help
SHELL := /bin/bash

# Puerto, ruta de salud y carpeta del modelo: definidos una sola vez en workshop.env.
include workshop.env

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# El modelo publicado: el puntero a la versión viva (00_intro/model/live.json).
MODEL := $(MODEL_DIR)/live.json
# Dos entornos en uno: `make setup` instala lo de la demo (servir + entrenar, ~460 MB);
# `make setup-dev` añade pruebas, navegador, cuaderno, linters, AWS y la etapa 04.
STAMP := $(VENV)/.instalado-demo
STAMP_DEV := $(VENV)/.instalado-dev
# Carpeta de paquetes descargados para instalar sin red (make wheels): se usa si existe.
WHEELS := wheels
PIP_FROM = $(if $(wildcard $(WHEELS)/*.whl),--no-index --find-links $(WHEELS))

.PHONY: help setup setup-dev model demo-0 notebook demo test lint clean

help: ## Muestra esta ayuda
	@echo "Objetivos disponibles (make <objetivo>):"
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

# ---------------------------------------------------------------- Antes del taller

.PHONY: check wheels

check: ## Antes del taller: comprueba este equipo (Python ≥ 3.11 con venv, make, puertos; Docker y wrk opcionales)
	@$(PYTHON) 00_intro/check_machine.py

wheels: ## Antes del taller, con buena red: descarga en wheels/ todo lo de la demo para instalar sin red
	@mkdir -p $(WHEELS)
	$(PYTHON) -m pip download --quiet --dest $(WHEELS) -r requirements/train.txt
	@echo "Listo: $$(ls $(WHEELS) | wc -l) paquetes en $(WHEELS)/. 'make setup' los usará sin conectarse."
	@echo "Para las pruebas también: $(PYTHON) -m pip download --dest $(WHEELS) -r requirements/dev.txt"

# ---------------------------------------------------------------- Etapa 00

setup: $(STAMP) ## Crea .venv e instala lo que necesita la demo (servir + entrenar), versiones fijadas

setup-dev: $(STAMP_DEV) ## Añade a .venv lo de desarrollo: pruebas, navegador, cuaderno, linters, AWS

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "Error: hace falta Python 3.11 o superior como '$(PYTHON)'. Instálalo o indica otro: make setup PYTHON=python3.11"; \
		exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "Error: a este Python le falta el módulo venv. En Debian/Ubuntu: sudo apt install python3-venv"; exit 1; }
	@echo "Creando el entorno virtual en $(VENV)…"
	@$(PYTHON) -m venv $(VENV)

$(STAMP): requirements/serve.txt requirements/train.txt pyproject.toml | $(VENV)/bin/python
	@echo "Instalando las dependencias de la demo (requirements/train.txt) y el proyecto…"
	$(PY) -m pip install --quiet $(PIP_FROM) -r requirements/train.txt
	$(PY) -m pip install --quiet $(PIP_FROM) --no-deps --no-build-isolation -e .
	@touch $@

$(STAMP_DEV): requirements/dev.txt $(STAMP)
	@echo "Instalando las herramientas de desarrollo (requirements/dev.txt)…"
	$(PY) -m pip install --quiet $(PIP_FROM) -r requirements/dev.txt
	@touch $@

# El modelo: versiones inmutables en $(MODEL_DIR)/versions/<versión>/ y el puntero publicado
# $(MODEL_DIR)/live.json. `make model` entrena la receta de referencia (los datos del taller, semilla 42)
# y la PUBLICA; si la receta no cambió, reutiliza su versión (tarda un par de segundos). Cualquier otro
# entrenamiento (p. ej. `$(PY) -m diabetes_model.train --seed 7`) queda sin publicar salvo --publish.
.PHONY: versions publish rollback reload notebook-refresh lab

model: $(STAMP) ## Etapa 00: entrena la receta de referencia (si cambió) y la publica (también tras un experimento)
	$(PY) 00_intro/train.py --publish

# Lo que necesitan las demás etapas: una versión publicada. Solo entrena si todavía no hay ninguna.
$(MODEL): | $(STAMP)
	$(PY) 00_intro/train.py --publish

demo-0: $(MODEL) ## Etapa 00: entrena y publica (si no hay modelo publicado) y resume la ficha de la versión viva
	@$(PY) -m diabetes_model.summary

versions: | $(STAMP) ## Versiones del modelo: fecha, ROC AUC, cuál está publicada y cuál es la anterior
	@$(PY) -m diabetes_model.versions list

publish: | $(STAMP) ## Comprueba y publica una versión ya entrenada: make publish VERSION=v-…
	@test -n "$(VERSION)" || { echo "Error: indica la versión: make publish VERSION=v-… (las lista make versions)." >&2; exit 2; }
	@$(PY) -m diabetes_model.versions publish "$(VERSION)"

rollback: | $(STAMP) ## Vuelve a la versión anterior (o a VERSION=v-…), comprobándola antes
	@$(PY) -m diabetes_model.versions rollback $(if $(VERSION),"$(VERSION)")

reload: | $(STAMP) ## Comprueba la versión publicada y avisa (SIGHUP) al gunicorn de este equipo para servirla
	@$(PY) -m diabetes_model.versions reload

notebook: $(STAMP_DEV) ## Ejecuta el cuaderno de la etapa 00 y deja el resultado en results/ (no cambia el versionado)
	@mkdir -p results
	$(PY) -m jupyter nbconvert --to notebook --execute 00_intro/exploracion.ipynb --output-dir results --output exploracion.ipynb
	$(PY) -m jupyter nbconvert --to html results/exploracion.ipynb --output-dir results
	@echo "Listo: results/exploracion.ipynb y results/exploracion.html (ábrelo en el navegador)."

notebook-refresh: $(STAMP_DEV) ## Mantenedor: ejecuta el cuaderno y guarda sus salidas en el archivo versionado
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace 00_intro/exploracion.ipynb
	$(PY) -m nbstripout --keep-output 00_intro/exploracion.ipynb

# JupyterLab se niega a correr como root sin --allow-root (contenedores, máquinas de CI): se añade solo entonces.
lab: $(STAMP_DEV) ## Abre el cuaderno de la etapa 00 en JupyterLab (solo en 127.0.0.1; Ctrl+C para parar)
	$(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root) 00_intro/exploracion.ipynb


test: $(STAMP_DEV) $(MODEL) ## Ejecuta todas las pruebas
	$(PY) -m pytest

lint: $(STAMP_DEV) ## Revisa el estilo del código con ruff
	$(PY) -m ruff check .

clean: ## Borra lo generado (modelo, resultados, cachés); conserva .venv
	rm -rf $(MODEL_DIR) results test-artifacts .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

# ---------------------------------------------------------------- Etapa 01

.PHONY: demo-1

demo-1: $(MODEL) ## Etapa 01: API Flask en modo desarrollo (127.0.0.1, puerto DEV_PORT = 5001) y un curl listo para pegar
	@DEV_PORT=$(DEV_PORT) $(PY) -m diabetes_api.demo

# ---------------------------------------------------------------- Etapa 02
# Imagen Docker con gunicorn. Cada variable se puede cambiar al llamar, p. ej.:
#   make docker-run DOCKER_NET="--network host"      make docker-build DOCKER_PLATFORM=
DOCKER ?= docker
DOCKER_IMAGE ?= diabetes-api
DOCKER_TAG ?= latest
DOCKER_CONTAINER ?= diabetes-api
# Arquitectura de la imagen. Lightsail ejecuta linux/amd64; un Mac con Apple Silicon construiría
# arm64 y el servidor respondería «exec format error». Con BuildKit (Docker Desktop) --platform
# descarga la base amd64 y emula. El constructor clásico (docker.io de Debian, sin buildx) no
# emula: usa la base local tal cual, así que solo sirve en un anfitrión amd64. Vacío = la nativa.
DOCKER_PLATFORM ?= linux/amd64
# Red: con la red puente de Docker (portátil) se publica el puerto con -p; si el motor no la
# tiene (CI: dockerd --bridge=none) se usa la red del anfitrión. Se detecta solo; se puede fijar.
DOCKER_NET ?= $(shell $(DOCKER) network inspect bridge >/dev/null 2>&1 \
	&& echo "-p $(PORT):$(PORT)" || echo "--network host")
# Sin red puente, `docker build` también necesita la red del anfitrión para llegar a PyPI.
DOCKER_BUILD_NET = $(if $(findstring --network host,$(DOCKER_NET)),--network host)
# Como en producción: raíz de solo lectura (+ /tmp en memoria) y memoria limitada.
DOCKER_RUN_OPTS ?= --read-only --tmpfs /tmp --memory 512m
DOCKER_REF = $(DOCKER_IMAGE):$(DOCKER_TAG)
# Un curl de ejemplo con un paciente válido, generado desde la ficha del modelo.
DOCKER_CURL = $(PY) -c 'import sys; from diabetes_api.demo import curl_command; \
	from diabetes_api.model import live_version_dir, read_card; \
	print(curl_command(sys.argv[1], read_card(live_version_dir())))' http://localhost:$(PORT)

.PHONY: demo-2 docker-build docker-run docker-stop

docker-build: $(MODEL) ## Etapa 02: construye la imagen Docker (linux/amd64) con el modelo entrenado
	$(DOCKER) build $(DOCKER_BUILD_NET) $(if $(DOCKER_PLATFORM),--platform $(DOCKER_PLATFORM)) \
		--build-arg PORT=$(PORT) -f 02_docker/Dockerfile -t $(DOCKER_REF) .
	@$(DOCKER) image ls $(DOCKER_REF)

docker-run: docker-build ## Etapa 02: arranca el contenedor en segundo plano y espera a que esté sano
	@$(DOCKER) rm -f $(DOCKER_CONTAINER) >/dev/null 2>&1 || true
	$(DOCKER) run -d --name $(DOCKER_CONTAINER) $(DOCKER_NET) $(DOCKER_RUN_OPTS) $(DOCKER_REF)
	@echo "Esperando a que Docker marque el contenedor como «healthy» (máx. 60 s)…"
	@for _ in $$(seq 60); do \
		status=$$($(DOCKER) inspect -f '{{.State.Health.Status}}' $(DOCKER_CONTAINER) 2>/dev/null); \
		[ "$$status" = healthy ] && break; sleep 1; done; \
	if [ "$$status" != healthy ]; then echo "El contenedor no está sano ($$status). Últimos logs:"; \
		$(DOCKER) logs --tail 30 $(DOCKER_CONTAINER); exit 1; fi
	@echo "Listo. Prueba:  curl -s http://localhost:$(PORT)$(HEALTH_PATH)"
	@echo "  $$($(DOCKER_CURL))"
	@echo "Logs: docker logs -f $(DOCKER_CONTAINER) · Parar: make docker-stop"

docker-stop: ## Etapa 02: para (SIGTERM, salida ordenada) y borra el contenedor de docker-run
	@if $(DOCKER) container inspect $(DOCKER_CONTAINER) >/dev/null 2>&1; then \
		$(DOCKER) stop $(DOCKER_CONTAINER) >/dev/null && $(DOCKER) rm $(DOCKER_CONTAINER) >/dev/null \
		&& echo "Contenedor $(DOCKER_CONTAINER) parado y borrado."; \
	else echo "No hay ningún contenedor llamado $(DOCKER_CONTAINER)."; fi

demo-2: docker-build ## Etapa 02: construye la imagen y sirve la API con gunicorn en Docker (Ctrl+C para parar)
	@echo; echo "Prueba la API desde otra terminal cuando veas «Listo en …» (copia y pega):"; echo
	@echo "  curl -s http://localhost:$(PORT)$(HEALTH_PATH)"
	@echo "  $$($(DOCKER_CURL))"; echo
	@# Al salir (también con Ctrl+C o si muere la terminal) se borra el contenedor: no queda ninguno huérfano.
	@trap '$(DOCKER) rm -f $(DOCKER_CONTAINER)-demo >/dev/null 2>&1' EXIT; \
		$(DOCKER) run --rm --name $(DOCKER_CONTAINER)-demo $(DOCKER_NET) $(DOCKER_RUN_OPTS) $(DOCKER_REF) \
		|| [ $$? -eq 130 ]

# ---------------------------------------------------------------- Producción
# Benchmark con wrk (sudo apt-get install wrk, o brew install wrk): cada configuración de servidor
# en 127.0.0.1 y 5 s por medida (unos 3 min en total). La variante corta de CI (menos de 1 min):
#   make bench BENCH_SECONDS=1 BENCH_CONFIGS=ci
# Más opciones en 02_docker/bench/README.md. Resultados en results/ (bench.md y bench.png).

.PHONY: bench

bench: $(MODEL) ## Producción: mide peticiones/s y latencia con wrk y escribe results/bench.md y results/bench.png
	$(PY) -m bench

# ---------------------------------------------------------------- Cliente móvil
# La API con gunicorn en 127.0.0.1:$(PORT). mobile_client/serve_api.py la arranca solo si no
# responde ya (el PID del maestro queda en $(PIDFILE)) y, al acabar, para por su PID solo lo que
# arrancó. Ctrl+C es la forma normal de parar `make app`: serve_api.py sale con 0 y make no da error.
# Otro puerto: make app PORT=9000

.PHONY: demo-client app

demo-client: $(MODEL) ## Cliente móvil: arranca la API si hace falta, envía las pacientes de ejemplo y la para
	@PORT=$(PORT) $(PY) mobile_client/serve_api.py -- $(PY) mobile_client/cliente.py --demo

# La demo completa: con motor Docker, la API corre en un contenedor (docker-run); sin él, con
# gunicorn en este equipo. Después, el cliente predice las pacientes de ejemplo y la API sigue
# sirviendo la app web hasta Ctrl+C, que para solo lo que arrancó la demo.
DEMO_DOCKER = --start-with "$(MAKE) --no-print-directory docker-run" --stop-with "$(MAKE) --no-print-directory docker-stop"

demo: demo-0 ## La demo completa: prepara, entrena, sirve la API con gunicorn (en Docker si hay), predice y sirve la app
	@if $(DOCKER) info >/dev/null 2>&1; then echo "Docker responde: la API se servirá en un contenedor."; \
		start='$(DEMO_DOCKER)'; \
	else echo "No hay motor Docker: la API se servirá con gunicorn en este equipo."; start=; fi; \
	eval PORT=$(PORT) $(PY) mobile_client/serve_api.py --keep --app-url "$$start" \
		-- $(PY) mobile_client/cliente.py --demo || [ $$? -eq 130 ]

app: $(MODEL) ## App web móvil: sirve la API con gunicorn y muestra la URL de la app (Ctrl+C para parar)
	@PORT=$(PORT) $(PY) mobile_client/serve_api.py --keep --app-url --log -

# ---------------------------------------------------------------- Etapa 03
# AWS Lightsail con 03_lightsail/deploy.py (.venv/bin/python 03_lightsail/deploy.py --help). Región, nombre,
# potencia y nodos: LIGHTSAIL_REGION, LIGHTSAIL_SERVICE, LIGHTSAIL_POWER, LIGHTSAIL_SCALE, p. ej.
#   LIGHTSAIL_POWER=micro make deploy-lightsail      make destroy-lightsail YES=1
# La imagen es la de la etapa 02 (DOCKER_REF). Si el servicio ya existe (código 5 de `create`),
# deploy-lightsail lo reutiliza: sube la imagen y publica un despliegue nuevo (versión nueva del modelo).
LIGHTSAIL := $(PY) 03_lightsail/deploy.py
LIGHTSAIL_IMAGE = $(if $(DOCKER_REF),--image $(DOCKER_REF))

.PHONY: demo-3 deploy-lightsail destroy-lightsail lightsail-deployments lightsail-rollback

demo-3: $(STAMP_DEV) ## Etapa 03: plan del despliegue en Lightsail, llamada a llamada, y su coste (sin cuenta de AWS)
	@$(LIGHTSAIL) plan $(LIGHTSAIL_IMAGE)

deploy-lightsail: docker-build $(STAMP_DEV) ## Etapa 03: crea el servicio en Lightsail, sube la imagen, despliega y prueba (¡factura!)
	@$(LIGHTSAIL) create || { status=$$?; [ $$status -eq 5 ] || exit $$status; \
		echo "El servicio ya existe: se sube la imagen y se publica un despliegue nuevo."; }
	$(LIGHTSAIL) push $(LIGHTSAIL_IMAGE)
	$(LIGHTSAIL) deploy
	$(LIGHTSAIL) smoke
	@echo "AVISO: el servicio factura hasta que lo borres: make destroy-lightsail"

destroy-lightsail: $(STAMP_DEV) ## Etapa 03: borra el servicio de Lightsail (pide confirmación) y comprueba que ya no existe
	$(LIGHTSAIL) destroy $(if $(YES),--yes)

lightsail-deployments: $(STAMP_DEV) ## Etapa 03: lista los despliegues del servicio (versión, estado, fecha, imágenes; * = activo)
	@$(LIGHTSAIL) deployments

lightsail-rollback: $(STAMP_DEV) ## Etapa 03: vuelve a desplegar el despliegue anterior activo (o DEPLOYMENT=N)
	$(LIGHTSAIL) rollback $(if $(DEPLOYMENT),--version $(DEPLOYMENT))

# ---------------------------------------------------------------- Etapa 04
# Tres esquemas de integración con el mismo modelo y las mismas pacientes: base de datos compartida
# (por lotes), API REST y streaming (Redis Streams). `make demo-4` arranca en 127.0.0.1 redis-server,
# la API con gunicorn, el trabajo por lotes y los consumidores, mide y para todo al acabar (también
# con Ctrl+C). Resultados en results/esquemas.md y results/esquemas.png. Versión corta, p. ej.:
#   make demo-4 SCHEMES_PATIENTS=50 SCHEMES_SECONDS=5 SCHEMES_BURST=1000
# Modelo más pesado (coste simulado por evento en los consumidores): SCHEMES_EVENT_COST_MS=2.
# PostgreSQL en vez de SQLite: DATABASE_URL=postgresql://… Redis propio: REDIS_URL=redis://…
# Cada pieza por separado: .venv/bin/python -m schemes --help (ver 04_esquemas/README.md).

.PHONY: demo-4

demo-4: $(STAMP_DEV) $(MODEL) ## Etapa 04: base de datos, API REST y streaming con las mismas pacientes; la tabla de la charla, medida
	@$(PY) -m schemes demo || [ $$? -eq 130 ]
