# Taller: despliegue de modelos de Machine Learning en producción.
# `make` (o `make help`) lista los objetivos por secciones, en el orden del taller. Cada etapa usa
# lo que construye la anterior.
#
# Cómo se escribe la ayuda (la lee `make help`, en el orden de este archivo):
#   ##@ Sección                         empieza una sección
#   objetivo: requisitos ## Descripción un objetivo de la sección (la línea de ayuda cabe en 80 columnas:
#                                       los detalles van en comentarios encima del objetivo)
#   ##> objetivo ## Descripción         repite en «Para empezar» un objetivo definido en otra sección

.DEFAULT_GOAL := help
SHELL := /bin/bash

# Puerto, ruta de salud y carpeta del modelo: definidos una sola vez en workshop.env.
include workshop.env

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# El modelo publicado: el puntero a la versión viva (00_intro/model/live.json).
MODEL := $(MODEL_DIR)/live.json
# Dos entornos en uno: `make setup` instala lo de la demo (servir + entrenar); `make setup-dev` añade
# lo de las pruebas, el navegador, el cuaderno, los linters, AWS y las etapas 03 a 05.
STAMP := $(VENV)/.instalado-demo
STAMP_DEV := $(VENV)/.instalado-dev
# Carpeta de paquetes descargados para instalar sin red (make wheels): se usa si existe.
WHEELS := wheels
PIP_FROM = $(if $(wildcard $(WHEELS)/*.whl),--no-index --find-links $(WHEELS))

# Fragmentos de órdenes que se repiten en varios objetivos.
# Ctrl+C (código 130) es la forma normal de parar una demo: make no lo cuenta como error.
CTRL_C_OK = || [ $$? -eq 130 ]
# La API con gunicorn en 127.0.0.1:$(PORT) mientras dura una orden (mobile_client/serve_api.py).
SERVE_API = PORT=$(PORT) HOST=$(HOST) $(PY) mobile_client/serve_api.py
# El cliente de línea de órdenes con las pacientes de ejemplo (mobile_client/pacientes.csv).
CLIENT_DEMO = $(PY) mobile_client/cliente.py --demo
# Entrena la receta de referencia y la publica (reutiliza la versión si la receta no cambió).
TRAIN_AND_PUBLISH = $(PY) -m diabetes_model.train --publish
NBCONVERT = $(PY) -m jupyter nbconvert
PYTEST = $(PY) -m pytest

##@ Para empezar

# La demo completa: prepara el entorno, entrena y publica el modelo, sirve la API con gunicorn (en un
# contenedor si hay motor Docker; si no, en este equipo), el cliente pide el riesgo de las pacientes de ejemplo
# y la API sigue sirviendo la app web hasta Ctrl+C, que para solo lo que arrancó la demo.
DEMO_DOCKER = --start-with "$(MAKE) --no-print-directory docker-run" --stop-with "$(MAKE) --no-print-directory docker-stop"

.PHONY: demo

demo: demo-0 web ## La demo completa: entrena, sirve la API y predice
	@if $(DOCKER) info >/dev/null 2>&1; then echo "Docker responde: la API se servirá en un contenedor."; \
		start='$(DEMO_DOCKER)'; \
	else echo "No hay motor Docker: la API se servirá con gunicorn en este equipo."; start=; fi; \
	eval $(SERVE_API) --keep --app-url "$$start" -- $(CLIENT_DEMO) $(CTRL_C_OK)

##> test ## Ejecuta todas las pruebas (lo mismo que CI)
##> check ## Antes del taller: qué le falta a este equipo

##@ Antes del taller

.PHONY: check wheels setup setup-dev lock

# Obligatorio: Python ≥ 3.11 con venv, make y los puertos del taller libres. Lo demás (Docker, uv, Node,
# redis-server, PostgreSQL, Chromium, wrk, nginx, R, Prometheus…) es opcional: dice qué etapa lo usa.
# Usa solo el Python del sistema: funciona antes de `make setup`.
check: ## Comprueba este equipo: qué falta y qué etapa lo usa
	@$(PYTHON) -m workshop.check_machine

# Python ≥ 3.11 como $(PYTHON), o un error en español (antes de crear .venv y antes de make wheels).
NEED_PYTHON = $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	echo "Error: hace falta Python 3.11 o superior como '$(PYTHON)' (es $$($(PYTHON) --version 2>&1 || echo 'un programa que no existe'))." \
	"Instálalo o indica otro: make $(firstword $(MAKECMDGOALS) setup) PYTHON=python3.11" >&2; exit 1; }

# La imagen base del Dockerfile, fijada por digest (ARG BASE_IMAGE), y su etiqueta sin el digest.
BASE_IMAGE_PINNED := $(shell awk -F= '/^ARG BASE_IMAGE=/ {print $$2; exit}' 02_docker/Dockerfile)
BASE_IMAGE_TAG := $(firstword $(subst @, ,$(BASE_IMAGE_PINNED)))
# Los paquetes de servir para la imagen (CPython 3.11 de Debian 12), se use el equipo que se use: para
# linux/amd64 (Lightsail, un PC) y linux/arm64 (la imagen nativa de un Mac con Apple Silicon).
DOCKER_WHEELS := $(WHEELS)/docker
DOCKER_ARCHS := x86_64 aarch64
# (glibc 2.36: los manylinux hasta 2_36; pip no los deduce de uno solo). $(1): la arquitectura.
DOCKER_WHEELS_TARGET = --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
	$(foreach glibc,5 12 17 $(shell seq 18 36),--platform manylinux_2_$(glibc)_$(1)) \
	--platform manylinux2014_$(1) $(if $(filter x86_64,$(1)),--platform manylinux2010_$(1) --platform manylinux1_$(1))
# La base de `make docker-build`: BASE_IMAGE si se da (CI: la sustituta de .ci/run); si no, la fijada por
# digest (la descarga si falta); sin registro (la sala tras `docker load`), la etiqueta local, con un aviso.
DOCKER_BASE = $$(if [ -n "$$BASE_IMAGE" ]; then echo "$$BASE_IMAGE"; \
	elif $(DOCKER) image inspect $(BASE_IMAGE_PINNED) >/dev/null 2>&1 || $(DOCKER) pull -q $(BASE_IMAGE_PINNED) >/dev/null 2>&1; \
	then echo $(BASE_IMAGE_PINNED); else echo $(BASE_IMAGE_TAG); \
	echo "Aviso: sin registro, la imagen se construye sobre la $(BASE_IMAGE_TAG) local, no la fijada por digest." >&2; fi)
DOCKER_IMAGES = $(BASE_IMAGE_TAG) nginx:1.27-alpine redis:7-bookworm postgres:15-bookworm

# Con buena red, antes del taller: todo lo que descarga cualquier etapa, para instalar sin red en la
# sala. Comprueba antes Python ≥ 3.11. Descarga, con sus hashes: uv y los paquetes de todo el taller
# (requirements/dev.txt incluye los demás) en wheels/, que `make setup` y `make setup-dev` usan sin
# conectarse; los de la imagen Docker en wheels/docker/, que `docker build` usa sin conectarse; los
# archivos de la app sin conexión (make web, si hay Node); y las imágenes de Docker de las etapas 02
# y 04 en wheels/imagenes-docker.tar (si hay motor Docker; en la sala: docker load -i …; `docker load`
# no conserva el digest y docker-build usa entonces la etiqueta local: ver DOCKER_BASE).
wheels: ## Con buena red: todo el taller, para instalar sin red
	@$(NEED_PYTHON)
	@mkdir -p $(DOCKER_WHEELS)
	$(PYTHON) -m pip download --quiet --require-hashes --dest $(WHEELS) -r requirements/uv.txt -r requirements/dev.txt
	$(foreach arch,$(DOCKER_ARCHS),$(PYTHON) -m pip download --quiet --require-hashes \
		$(call DOCKER_WHEELS_TARGET,$(arch)) --dest $(DOCKER_WHEELS) -r requirements/serve.txt &&) true
	@echo "Listo: $$(ls $(WHEELS)/*.whl $(WHEELS)/*.tar.gz 2>/dev/null | wc -l) paquetes en $(WHEELS)/ y" \
		"$$(ls $(DOCKER_WHEELS)/*.whl | wc -l) para la imagen en $(DOCKER_WHEELS)/."
	@$(MAKE) --no-print-directory web
	@if $(DOCKER) info >/dev/null 2>&1; then \
		$(DOCKER) pull -q $(BASE_IMAGE_PINNED) && $(DOCKER) tag $(BASE_IMAGE_PINNED) $(BASE_IMAGE_TAG) || exit 1; \
		for image in $(filter-out $(BASE_IMAGE_TAG),$(DOCKER_IMAGES)); do $(DOCKER) pull -q $$image || exit 1; done; \
		$(DOCKER) save -o $(WHEELS)/imagenes-docker.tar $(DOCKER_IMAGES) \
		&& echo "Imágenes de Docker en $(WHEELS)/imagenes-docker.tar (en la sala: docker load -i …)."; \
	else echo "Sin motor Docker: descarga luego $(BASE_IMAGE_PINNED) y $(filter-out $(BASE_IMAGE_TAG),$(DOCKER_IMAGES))."; fi
	@echo "R (cliente opcional): Debian/Ubuntu r-base-core r-cran-httr r-cran-jsonlite; macOS: brew install r."

# El instalador: uv (requirements/uv.txt, fijado y con hashes), que `make setup` instala en .venv con
# el pip de este Python (o, si no tiene, con el de .venv); si no puede (p. ej. sin red y sin wheels/),
# todo se instala con pip, más despacio. Los dos comprueban los hashes de requirements/*.txt.
# Solo con pip: make setup INSTALLER=pip
INSTALLER ?= uv
UV := $(VENV)/bin/uv
STAMP_UV := $(VENV)/.instalado-uv
# Instala con uv si está en .venv (y INSTALLER=uv) y si no con pip; $(1) son los argumentos.
install = if [ "$(INSTALLER)" = uv ] && [ -x $(UV) ]; then \
	$(UV) pip install --quiet --python $(PY) $(PIP_FROM) $(1); \
	else $(PY) -m pip install --quiet $(PIP_FROM) $(1); fi
# uv en .venv: con el pip de este Python si lo tiene (pip --python, ≥ 22.3), si no con el de .venv.
INSTALL_UV = $(PYTHON) -m pip --python $(PY) install --quiet --require-hashes $(PIP_FROM) -r requirements/uv.txt \
	2>/dev/null || { $(PY) -m ensurepip --default-pip >/dev/null \
	&& $(PY) -m pip install --quiet --require-hashes $(PIP_FROM) -r requirements/uv.txt; }

# Crea .venv (hace falta Python ≥ 3.11 con venv) e instala requirements/train.txt (servir y entrenar,
# todas las dependencias con sus hashes); después, este proyecto en modo editable.
setup: $(STAMP) ## Crea .venv e instala lo de la demo (servir y entrenar)

# Lo que usan make test, demo-3, demo-4, bench, notebook, lab, parity, pictures, lint y las órdenes de
# Lightsail (requirements/dev.txt): pruebas, navegador, cuaderno, linters, AWS, etapas 04 y 05.
setup-dev: $(STAMP_DEV) ## Añade lo de pruebas, etapas 03-05, bench, cuaderno…

# Con uv, sin pip de serie (ensurepip tarda unos segundos): uv.txt lo trae. Con INSTALLER=pip, con pip.
$(VENV)/bin/python:
	@$(NEED_PYTHON)
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "Error: a este Python le falta el módulo venv. En Debian/Ubuntu: sudo apt install python3-venv"; exit 1; }
	@echo "Creando el entorno virtual en $(VENV)…"
	@$(PYTHON) -m venv $(if $(filter uv,$(INSTALLER)),--without-pip) $(VENV)

$(STAMP_UV): requirements/uv.txt | $(VENV)/bin/python
	@if [ "$(INSTALLER)" = uv ] && { [ -x $(UV) ] || $(INSTALL_UV); } \
		&& $(UV) pip install --quiet --python $(PY) --require-hashes $(PIP_FROM) -r requirements/uv.txt; then touch $@; \
	else [ "$(INSTALLER)" != uv ] || echo "No se pudo instalar uv: se instala con pip, más despacio."; \
		$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --default-pip >/dev/null; fi

$(STAMP): requirements/train.txt pyproject.toml | $(STAMP_UV)
	@echo "Instalando las dependencias de la demo (requirements/train.txt) y el proyecto…"
	@$(call install,--require-hashes -r requirements/train.txt)
	@$(call install,--no-deps --no-build-isolation -e .)
	@touch $@

$(STAMP_DEV): requirements/dev.txt $(STAMP)
	@echo "Instalando las herramientas de desarrollo (requirements/dev.txt)…"
	@$(call install,--require-hashes -r requirements/dev.txt)
	@touch $@

# Mantenedor: escribe requirements/<nombre>.txt (todas las dependencias, con sus hashes, para cualquier
# sistema) desde requirements/<nombre>.in, con el uv de .venv. Cada .txt lleva arriba la orden exacta;
# tests/test_setup.py comprueba que coincide y que los .txt siguen a sus .in. Tras editar un .in: make lock
LOCK_NAMES = uv serve train dev
LOCK = $(UV) pip compile --universal --python-version 3.11.5 --generate-hashes
lock: | $(STAMP_UV) ## Mantenedor: requirements/*.txt, con hashes, desde *.in
	@[ -x $(UV) ] || { echo "Error: make lock necesita uv en $(VENV) (make setup lo instala)." >&2; exit 1; }
	@for name in $(LOCK_NAMES); do echo "requirements/$$name.in → requirements/$$name.txt"; \
		$(LOCK) --quiet requirements/$$name.in -o requirements/$$name.txt || exit 1; done
	@echo "04_esquemas/requirements.in → 04_esquemas/requirements.txt (la etapa 04 en Docker Compose)"
	@$(LOCK) --quiet 04_esquemas/requirements.in -o 04_esquemas/requirements.txt

##@ Etapa 00 · el modelo

# El modelo: versiones inmutables en $(MODEL_DIR)/versions/<versión>/ y el puntero publicado
# $(MODEL_DIR)/live.json. `make model` entrena la receta de referencia (los datos del taller, semilla 42)
# y la PUBLICA; si la receta no cambió, reutiliza su versión (tarda un par de segundos). También sirve
# para volver a la de referencia tras un experimento. Cualquier otro entrenamiento
# (p. ej. `$(PY) -m diabetes_model.train --seed 7`) queda sin publicar salvo --publish.
.PHONY: model demo-0 versions publish rollback candidate notebook lab

model: $(STAMP) ## Entrena la receta de referencia (si cambió) y la publica
	$(TRAIN_AND_PUBLISH)

# Lo que necesitan las demás etapas: una versión publicada. Solo entrena si todavía no hay ninguna.
$(MODEL): | $(STAMP)
	$(TRAIN_AND_PUBLISH)

demo-0: $(MODEL) ## Entrena si no hay modelo y resume la versión viva
	@$(PY) -m diabetes_model.summary

versions: | $(STAMP) ## Versiones: fecha, ROC AUC, la publicada y la anterior
	@$(PY) -m diabetes_model.versions list

publish: | $(STAMP) ## Comprueba y publica una versión (VERSION=v-…)
	@test -n "$(VERSION)" || { echo "Error: indica la versión: make publish VERSION=v-… (las lista make versions)." >&2; exit 2; }
	@$(PY) -m diabetes_model.versions publish "$(VERSION)"

# Vuelve a la versión anterior (o a VERSION=v-…), comprobándola antes de publicarla.
rollback: | $(STAMP) ## Vuelve a la versión anterior (o a VERSION=v-…)
	@$(PY) -m diabetes_model.versions rollback $(if $(VERSION),"$(VERSION)")

# La candidata: otra versión que la API prueba junto a la viva tras `make reload` (etapa 05).
candidate: | $(STAMP) ## Candidata VERSION=v-… WEIGHT=0.05 (0 sombra); CLEAR=1
	@$(PY) -m diabetes_model.versions candidate $(if $(CLEAR),--clear,"$(VERSION)" --weight "$(or $(WEIGHT),0)")

# Deja results/exploracion.ipynb y results/exploracion.html; no cambia el versionado del modelo.
notebook: $(STAMP_DEV) ## Ejecuta el cuaderno y deja el resultado en results/
	@mkdir -p results
	$(NBCONVERT) --to notebook --execute 00_intro/exploracion.ipynb --output-dir results --output exploracion.ipynb
	$(NBCONVERT) --to html results/exploracion.ipynb --output-dir results
	@echo "Listo: results/exploracion.ipynb y results/exploracion.html (ábrelo en el navegador)."

# Solo en 127.0.0.1. JupyterLab se niega a correr como root sin --allow-root (contenedores, máquinas de CI): se añade solo entonces.
lab: $(STAMP_DEV) ## Abre el cuaderno en JupyterLab (Ctrl+C para parar)
	$(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root) 00_intro/exploracion.ipynb

##@ Etapa 01 · API con Flask

.PHONY: demo-1 api-dev

# La demo de la charla (01_flask_api/talk_api.py) con `flask run` en 127.0.0.1, puerto DEV_PORT
# ($(DEV_PORT), de workshop.env), y un curl con una paciente válida, listo para pegar en otra terminal.
# La API completa en modo desarrollo: `make api-dev`.
TALK_CURL = $(PY) -c 'import sys; from diabetes_api.demo import curl_command; \
	from diabetes_model.store import live_version_dir, read_card; \
	print(curl_command(sys.argv[1], read_card(live_version_dir()), "/predict"))' http://127.0.0.1:$(DEV_PORT)

demo-1: $(MODEL) ## La demo de la charla (talk_api.py) y un curl
	@curl_line=$$($(TALK_CURL)) || exit 1; \
	printf '\nLa demo de la charla: 01_flask_api/talk_api.py. Prueba desde otra terminal (copia y pega):\n\n  %s\n\n' "$$curl_line"
	@$(PY) -m flask --app 01_flask_api/talk_api.py run --host 127.0.0.1 --port $(DEV_PORT) $(CTRL_C_OK)

# La API de producción (diabetes_api) con el servidor de desarrollo de Flask y depuración, en DEV_PORT:
# la que usan el cliente (`--url`) y la app mientras se desarrolla. Imprime un curl a /v1/predict.
api-dev: $(MODEL) ## La API completa en desarrollo y un curl
	@DEV_PORT=$(DEV_PORT) $(PY) -m diabetes_api.demo

##@ Etapa 02 · Gunicorn y Docker

# Imagen Docker con gunicorn. Cada variable se puede cambiar al llamar, p. ej.:
#   make docker-run DOCKER_NET="--network host"      make docker-build DOCKER_PLATFORM=linux/amd64
DOCKER ?= docker
DOCKER_IMAGE ?= diabetes-api
DOCKER_TAG ?= latest
DOCKER_CONTAINER ?= diabetes-api
# Arquitectura de la imagen. Vacío (por defecto) = la nativa de este equipo: en un Mac con Apple
# Silicon, arm64, sin emular (rápida). Lightsail ejecuta linux/amd64 (una imagen arm64 respondería
# «exec format error»): deploy-lightsail la fija a linux/amd64, y con BuildKit (Docker Desktop)
# --platform descarga la base amd64 y emula. El constructor clásico (docker.io de Debian, sin buildx)
# no emula: usa la base local tal cual, así que amd64 solo sirve en un anfitrión amd64. Los paquetes
# de wheels/docker (make wheels) son amd64: sin red, en un Mac, DOCKER_PLATFORM=linux/amd64.
DOCKER_PLATFORM ?=
# Dónde se publica la API: solo en este equipo (127.0.0.1). Para probar la app desde el móvil en la
# misma wifi: make app HOST=0.0.0.0 (o make docker-run HOST=0.0.0.0); ver 02_docker/README.md.
HOST ?= 127.0.0.1
# Red: con la red puente de Docker (portátil) se publica el puerto con -p en HOST; si el motor no la
# tiene (CI: dockerd --bridge=none) se usa la red del anfitrión. Se detecta solo; se puede fijar.
DOCKER_NET ?= $(shell $(DOCKER) network inspect bridge >/dev/null 2>&1 \
	&& echo "-p $(HOST):$(PORT):$(PORT)" || echo "--network host")
# Sin red puente, `docker build` también necesita la red del anfitrión para llegar a PyPI.
DOCKER_BUILD_NET = $(if $(findstring --network host,$(DOCKER_NET)),--network host)
# Como en producción: raíz de solo lectura (+ /tmp en memoria) y memoria limitada.
DOCKER_RUN_OPTS ?= --read-only --tmpfs /tmp --memory 512m
DOCKER_REF = $(DOCKER_IMAGE):$(DOCKER_TAG)
# Un curl de ejemplo con una paciente válida, generado desde la ficha del modelo.
DOCKER_CURL = $(PY) -c 'import sys; from diabetes_api.demo import curl_command; \
	from diabetes_model.store import live_version_dir, read_card; \
	print(curl_command(sys.argv[1], read_card(live_version_dir())))' http://localhost:$(PORT)
# Espera (máx. 60 s) a que Docker marque el contenedor como «healthy»; si no, muestra sus logs y falla.
DOCKER_WAIT_HEALTHY = for _ in $$(seq 60); do \
	status=$$($(DOCKER) inspect -f '{{.State.Health.Status}}' $(DOCKER_CONTAINER) 2>/dev/null); \
	[ "$$status" = healthy ] && break; sleep 1; done; \
	if [ "$$status" != healthy ]; then echo "El contenedor no está sano ($$status). Últimos logs:"; \
	$(DOCKER) logs --tail 30 $(DOCKER_CONTAINER); exit 1; fi
# Cómo probar la API que sirve el contenedor (copia y pega).
DOCKER_TRY = echo "  curl -s http://localhost:$(PORT)$(HEALTH_PATH)"; echo "  $$($(DOCKER_CURL))"

.PHONY: demo-2 docker-engine docker-build docker-run docker-stop reload break-model

# Construye la imagen y sirve la API con gunicorn en un contenedor en primer plano (Ctrl+C para parar).
# Al salir (también con Ctrl+C o si muere la terminal) se borra el contenedor: no queda ninguno huérfano.
demo-2: docker-build ## Construye la imagen y sirve la API en Docker (Ctrl+C)
	@echo; echo "Prueba la API desde otra terminal cuando veas «Listo en …» (copia y pega):"; echo
	@$(DOCKER_TRY); echo
	@trap '$(DOCKER) rm -f $(DOCKER_CONTAINER)-demo >/dev/null 2>&1' EXIT; \
		$(DOCKER) run --rm --name $(DOCKER_CONTAINER)-demo $(DOCKER_NET) $(DOCKER_RUN_OPTS) $(DOCKER_REF) \
		$(CTRL_C_OK)

# Sin motor Docker, una frase en español (en vez del error de Docker en inglés) antes de entrenar o
# construir nada. GNU make añade su línea «make: *** [… docker-engine] Error 1»: no se puede quitar.
docker-engine:
	@$(DOCKER) info >/dev/null 2>&1 || { echo "Error: Docker no responde (¿está abierto Docker Desktop o \
	arrancado el servicio docker?); sin Docker, make app sirve la API con Gunicorn en este equipo." >&2; exit 1; }

# La imagen lleva el modelo publicado (make model) y la app web (con el modo sin conexión si hay Node:
# make web); por defecto, para la arquitectura de este equipo (DOCKER_PLATFORM).
docker-build: docker-engine $(MODEL) web ## Construye la imagen Docker con el modelo entrenado
	$(DOCKER) build $(DOCKER_BUILD_NET) $(if $(DOCKER_PLATFORM),--platform $(DOCKER_PLATFORM)) \
		--build-arg PORT=$(PORT) --build-arg BASE_IMAGE="$(DOCKER_BASE)" -f 02_docker/Dockerfile -t $(DOCKER_REF) .
	@$(DOCKER) image ls $(DOCKER_REF)

docker-run: docker-build ## Arranca el contenedor en segundo plano, ya sano
	@$(DOCKER) rm -f $(DOCKER_CONTAINER) >/dev/null 2>&1 || true
	$(DOCKER) run -d --name $(DOCKER_CONTAINER) $(DOCKER_NET) $(DOCKER_RUN_OPTS) $(DOCKER_REF)
	@echo "Esperando a que Docker marque el contenedor como «healthy» (máx. 60 s)…"
	@$(DOCKER_WAIT_HEALTHY)
	@echo "Listo. Prueba:"; $(DOCKER_TRY)
	@echo "Logs: docker logs -f $(DOCKER_CONTAINER) · Parar: make docker-stop"

# SIGTERM: gunicorn termina las peticiones en curso y sale con orden; después se borra el contenedor.
docker-stop: ## Para y borra el contenedor de docker-run
	@if $(DOCKER) container inspect $(DOCKER_CONTAINER) >/dev/null 2>&1; then \
		$(DOCKER) stop $(DOCKER_CONTAINER) >/dev/null && $(DOCKER) rm $(DOCKER_CONTAINER) >/dev/null \
		&& echo "Contenedor $(DOCKER_CONTAINER) parado y borrado."; \
	else echo "No hay ningún contenedor llamado $(DOCKER_CONTAINER)."; fi

# Comprueba la versión publicada y avisa (SIGHUP) al gunicorn de este equipo (el de PIDFILE) para que
# la sirva: los workers se renuevan sin cortar peticiones.
reload: | $(STAMP) ## Comprueba la versión publicada y recarga gunicorn
	@$(PY) -m serving.reload

# La demo de tolerancia a fallos, con la API de este equipo (make app; la de un contenedor lleva su
# versión dentro de la imagen): publica a propósito una COPIA rota de la versión viva (las versiones
# son de solo lectura), y después `make reload` se niega y la API sigue sirviendo; `make rollback`.
break-model: $(MODEL) ## Publica a propósito una copia rota del modelo (demo)
	@$(PY) -m serving.break_model

##@ Etapa 03 · AWS Lightsail

# AWS Lightsail con 03_lightsail/deploy.py (.venv/bin/python 03_lightsail/deploy.py --help). Región, nombre,
# potencia y nodos: LIGHTSAIL_REGION, LIGHTSAIL_SERVICE, LIGHTSAIL_POWER, LIGHTSAIL_SCALE, p. ej.
#   LIGHTSAIL_POWER=micro make deploy-lightsail      make destroy-lightsail YES=1
# La imagen es la de la etapa 02 (DOCKER_REF). Si el servicio ya existe (código 5 de `create`),
# deploy-lightsail lo reutiliza: sube la imagen y publica un despliegue nuevo (versión nueva del modelo).
LIGHTSAIL := $(PY) 03_lightsail/deploy.py
LIGHTSAIL_IMAGE = $(if $(DOCKER_REF),--image $(DOCKER_REF))

.PHONY: demo-3 deploy-lightsail destroy-lightsail lightsail-deployments lightsail-rollback

# El plan del despliegue, llamada a llamada, y su coste: sin cuenta de AWS.
demo-3: $(STAMP_DEV) ## Plan del despliegue en Lightsail y su coste (sin AWS)
	@$(LIGHTSAIL) plan $(LIGHTSAIL_IMAGE)

# Crea el servicio, sube la imagen, despliega y prueba. ¡Factura hasta que se borra!
# Lightsail solo ejecuta linux/amd64: la imagen se construye para esa plataforma (también la de docker-build).
deploy-lightsail: override DOCKER_PLATFORM = linux/amd64
deploy-lightsail: docker-build $(STAMP_DEV) ## Crea el servicio y despliega la imagen (¡factura!)
	@$(LIGHTSAIL) create || { status=$$?; [ $$status -eq 5 ] || exit $$status; \
		echo "El servicio ya existe: se sube la imagen y se publica un despliegue nuevo."; }
	$(LIGHTSAIL) push $(LIGHTSAIL_IMAGE)
	$(LIGHTSAIL) deploy
	$(LIGHTSAIL) smoke
	@echo "AVISO: el servicio factura hasta que lo borres: make destroy-lightsail"

# Pide confirmación (YES=1 para no preguntar) y comprueba que el servicio ya no existe.
destroy-lightsail: $(STAMP_DEV) ## Borra el servicio de Lightsail (pide confirmación)
	$(LIGHTSAIL) destroy $(if $(YES),--yes)

# Versión, estado, fecha e imágenes de cada despliegue; * marca el activo.
lightsail-deployments: $(STAMP_DEV) ## Lista los despliegues del servicio (* = activo)
	@$(LIGHTSAIL) deployments

# Vuelve a desplegar el despliegue anterior que estuvo activo (o el número DEPLOYMENT=N).
lightsail-rollback: $(STAMP_DEV) ## Vuelve al despliegue anterior (o a DEPLOYMENT=N)
	$(LIGHTSAIL) rollback $(if $(DEPLOYMENT),--version $(DEPLOYMENT))

##@ Etapa 04 · esquemas de integración

# Tres esquemas de integración con el mismo modelo y las mismas pacientes: base de datos compartida
# (por lotes), API REST y streaming (Redis Streams). `make demo-4` arranca en 127.0.0.1 redis-server,
# la API con gunicorn, el trabajo por lotes y los consumidores, mide y para todo al acabar (también
# con Ctrl+C). Resultados en results/esquemas.md y results/esquemas.png. Versión corta, p. ej.:
#   make demo-4 SCHEMES_PATIENTS=50 SCHEMES_SECONDS=5 SCHEMES_BURST=1000
# Modelo más pesado (coste simulado por evento en los consumidores): SCHEMES_EVENT_COST_MS=2.
# PostgreSQL en vez de SQLite: DATABASE_URL=postgresql://… Redis propio: REDIS_URL=redis://…
# Cada pieza por separado: .venv/bin/python -m schemes --help (ver 04_esquemas/README.md).

.PHONY: demo-4

demo-4: $(STAMP_DEV) $(MODEL) ## Base de datos, API REST y streaming: la tabla, medida
	@$(PY) -m schemes demo $(CTRL_C_OK)

##@ Etapa 05 · mantenimiento

# La historia de la etapa 05 de principio a fin (≤ 3 min), en una COPIA del modelo (results/mantenimiento):
# la API con gunicorn, Prometheus y un cliente real con ≈ 200 peticiones/s; (a) una candidata mala que pasa
# la ficha → el juez la retira; (b) una reentrenada → sombra, 5 %, 25 % y la promueve; (c) el simulacro de
# deriva. Cifras en results/mantenimiento.json; con RECORD=1, también el registro docs/cifras/mantenimiento.json.
# Cada pieza por separado: .venv/bin/python -m maintenance --help (ver 05_mantenimiento/README.md).
.PHONY: demo-5

demo-5: $(STAMP_DEV) $(MODEL) ## Canario con juez: retira la mala, promueve la buena
	@MAINTENANCE_RECORD=$(if $(RECORD),1,0) $(PY) -m maintenance demo $(CTRL_C_OK)

##@ App · cliente móvil

# La API con gunicorn en 127.0.0.1:$(PORT). mobile_client/serve_api.py la arranca solo si no
# responde ya (el PID del maestro queda en $(PIDFILE)), con WEB_DIR=mobile_client/web para servir
# la app en /app/, y al acabar para por su PID solo lo que arrancó. Ctrl+C es la forma normal de
# parar `make app`: serve_api.py para lo suyo y sale con 0, pero make recibe el mismo Ctrl+C y termina
# con 130 (el código de una interrupción; no es un fallo). Otro puerto: make app PORT=9000

.PHONY: demo-client app web

# Arranca la API si no responde ya, envía las pacientes de ejemplo y para solo lo que arrancó.
demo-client: $(MODEL) ## Riesgo de las pacientes de ejemplo (arranca la API)
	@$(SERVE_API) -- $(CLIENT_DEMO)

app: $(MODEL) web ## Sirve la API y la app web móvil (Ctrl+C para parar)
	@$(SERVE_API) --keep --app-url --log -

# El modo sin conexión de la app: onnxruntime-web (versión fijada en mobile_client/package.json) en
# mobile_client/web/vendor/, ignorada por git. Necesita Node 18 o posterior; sin Node lo dice y la app
# sigue funcionando con conexión. Ver mobile_client/README.md.
web: | $(STAMP) ## Instala el modo sin conexión de la app (necesita Node)
	@$(PY) -m mobile_client.web_build

##@ Producción

# Benchmark con wrk (sudo apt-get install wrk, o brew install wrk): cada configuración de servidor
# en 127.0.0.1 y 5 s por medida (unos 4,5 min en total: docs/cifras/bench-completo.json). La variante corta de CI (menos de 1 min):
#   make bench BENCH_SECONDS=1 BENCH_CONFIGS=ci
# Más opciones en 02_docker/bench/README.md. Resultados en results/ (bench.md y bench.png).

.PHONY: bench parity

# Necesita lo de desarrollo (psutil, matplotlib y FastAPI para la referencia): lo instala si falta.
bench: $(STAMP_DEV) $(MODEL) ## Mide peticiones/s y latencia con wrk (results/bench.md)
	$(PY) -m bench

# La misma paciente da el mismo riesgo por los seis caminos (scikit-learn, onnxruntime, la API,
# onnxruntime-web en Chromium, la tabla de lotes y el stream de la etapa 04): tools/parity.py, con
# servidores reales en 127.0.0.1 que arranca y para ella misma; tests/test_parity.py llama a la misma
# medida. Ver 00_intro/README.md.
parity: $(STAMP_DEV) $(MODEL) ## Paridad entre motores: el mismo riesgo por seis caminos
	$(PY) -m tools.parity

##@ Desarrollo

# Las marcas de pytest están en pyproject.toml. `make test` es lo que ejecuta CI (.ci/run): con
# CI=true no se salta nada. `make test-fast` deja fuera Docker, navegador, cuaderno, lo lento y todo
# lo que arranca un servidor real (marca `server`): ningún proceso que escuche en un puerto.
FAST_TESTS = not docker and not browser and not slow and not notebook and not server

.PHONY: help test test-fast lint stages clean notebook-refresh pictures

test: $(STAMP_DEV) $(MODEL) ## Todas las pruebas, como CI (Docker, navegador…)
	$(PYTEST)

test-fast: $(STAMP_DEV) $(MODEL) ## Pruebas rápidas (sin servidores, Docker, navegador…)
	$(PYTEST) -m "$(FAST_TESTS)"

# Las imágenes que ven los README (docs/img/): la app a 360 px (formulario, riesgo alto, riesgo bajo,
# sin conexión) en Chromium, los gráficos del benchmark y de los esquemas y la tabla de paridad. Y los
# diagramas Mermaid de los README a 830 px en docs/img/diagramas/ (tools/diagrams.py: instala Mermaid
# con npm ci en tools/diagrams/ si falta; falla si alguno tiene texto de menos de 12 px).
pictures: $(STAMP_DEV) $(MODEL) web ## Regenera las imágenes de los README (docs/img/)
	$(PY) -m tools.pictures
	$(PY) -m tools.diagrams

# ruff para el Python y actionlint para el flujo de GitHub Actions (ver CONTRIBUTING.md).
lint: $(STAMP_DEV) ## Estilo: ruff (Python) y actionlint (GitHub Actions)
	$(PY) -m ruff check .
	$(VENV)/bin/actionlint .github/workflows/ci.yml

# Solo biblioteca estándar: con el Python de .venv o, si aún no existe, con el del sistema (≥ 3.11).
stages: ## Importaciones entre etapas; falla si hay una al revés
	@$(if $(wildcard $(PY)),$(PY),$(PYTHON)) -m workshop.stages

clean: ## Borra lo generado (modelo, resultados); conserva .venv
	rm -rf $(MODEL_DIR) results test-artifacts .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

# Mantenedor: ejecuta el cuaderno y guarda sus salidas (gráficos) en el archivo versionado.
notebook-refresh: $(STAMP_DEV) ## Guarda las salidas del cuaderno en el versionado
	$(NBCONVERT) --to notebook --execute --inplace 00_intro/exploracion.ipynb
	$(PY) -m nbstripout --keep-output 00_intro/exploracion.ipynb

# Las secciones y los objetivos en el orden de este archivo; colores solo si la salida es una terminal.
help: ## Muestra esta ayuda
	@[ -t 1 ] && color=1 || color=0; \
	awk -v color=$$color ' \
		BEGIN { if (color) { head = "\033[1m"; name = "\033[36m"; off = "\033[0m" } \
			print "Uso: make <objetivo>   (p. ej. make demo)" } \
		/^##@ / { printf "\n%s%s%s\n", head, substr($$0, 5), off; next } \
		/^##> / { split(substr($$0, 5), part, / ## /); printf "  %s%-21s%s %s\n", name, part[1], off, part[2]; next } \
		/^[a-zA-Z0-9_-]+:.*## / { split($$0, part, /:.*## /); printf "  %s%-21s%s %s\n", name, part[1], off, part[2] } \
	' $(firstword $(MAKEFILE_LIST))
