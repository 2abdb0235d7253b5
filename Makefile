# Taller: despliegue de modelos de Machine Learning en producción.
# `make` (o `make help`) lista los objetivos. Cada etapa usa lo que construye la anterior.

.DEFAULT_GOAL := help
SHELL := /bin/bash

# Puerto, ruta de salud y carpeta del modelo: definidos una sola vez en workshop.env.
include workshop.env

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MODEL := $(MODEL_DIR)/model.joblib
CARD := $(MODEL_DIR)/model.json
STAMP := $(VENV)/.instalado

.PHONY: help setup model demo-0 notebook demo test lint clean

help: ## Muestra esta ayuda
	@echo "Objetivos disponibles (make <objetivo>):"
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

# ---------------------------------------------------------------- Etapa 00

setup: $(STAMP) ## Crea .venv e instala las dependencias fijadas (rápido si no cambió nada)

$(STAMP): requirements.txt 01_flask_api/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "Error: hace falta Python 3.11 o superior como '$(PYTHON)'."; \
		echo "Instálalo o indica otro intérprete: make setup PYTHON=python3.11"; exit 1; }
	@echo "Creando el entorno virtual en $(VENV) e instalando dependencias…"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

model: $(MODEL) ## Entrena el modelo si falta o si cambian los datos, el código o las dependencias

$(MODEL): 00_intro/train.py 00_intro/features.py 00_intro/model_card.py 00_intro/data/diabetes.csv $(STAMP)
	$(PY) 00_intro/train.py

demo-0: $(MODEL) ## Etapa 00: entrena (si hace falta) y resume la ficha del modelo
	@$(PY) 00_intro/summary.py $(CARD)

notebook: $(STAMP) ## Ejecuta el cuaderno de la etapa 00 y guarda sus gráficos
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace 00_intro/exploracion.ipynb
	$(PY) -m nbstripout --keep-output 00_intro/exploracion.ipynb

demo: demo-0 ## La demo completa para quien empieza: prepara, entrena y resume

test: $(MODEL) ## Ejecuta todas las pruebas
	$(PY) -m pytest

lint: $(STAMP) ## Revisa el estilo del código con ruff
	$(PY) -m ruff check .

clean: ## Borra lo generado (modelo, resultados, cachés); conserva .venv
	rm -rf $(MODEL_DIR) results test-artifacts .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

# ---------------------------------------------------------------- Etapa 01

DEMO_1_PORT := 5000

.PHONY: demo-1

demo-1: $(MODEL) ## Etapa 01: API Flask en modo desarrollo (127.0.0.1:5000) y un curl listo para pegar
	PYTHONPATH=01_flask_api $(PY) -m diabetes_api.demo --port $(DEMO_1_PORT)
