#!/usr/bin/env bash
# Al arrancar el codespace: el motor Docker propio del contenedor (Docker dentro de Docker; necesita
# "--privileged" en devcontainer.json) para `make demo-2`. Si no arranca, lo dice y sigue: sin Docker,
# `make demo` y `make app` sirven la API con Gunicorn en el propio codespace.
set -u
if docker info >/dev/null 2>&1; then
  exit 0
fi
sudo sh -c 'dockerd >/tmp/dockerd.log 2>&1 &'
for _ in $(seq 30); do
  docker info >/dev/null 2>&1 && { echo "Motor Docker listo."; exit 0; }
  sleep 1
done
echo "El motor Docker no arrancó (mira /tmp/dockerd.log): make demo servirá la API sin Docker."
exit 0
