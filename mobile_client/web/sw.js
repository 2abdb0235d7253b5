// Service worker de «Diabetes Prediction»: la app se abre sin red y calcula en el dispositivo.
//
// - La carcasa (index.html, app.js, styles.css, manifiesto, iconos, vendor/vendor.json) va
//   PRIMERO A LA RED: con conexión siempre se usa la versión desplegada (el navegador la revalida
//   con su ETag, así que lo que no cambió no se vuelve a descargar) y la copia de la caché solo se
//   usa sin conexión. Nunca hay un app.js antiguo frente a una API nueva.
// - El motor (vendor/*.js, *.mjs, *.wasm) va PRIMERO A LA CACHÉ: lo guarda app.js en la caché
//   «diabetes-vendor-<versión de onnxruntime-web>» y borra las de otras versiones.
// - El modelo ONNX lo guarda app.js («diabetes-model») tras comprobar su sha256.
// - Las llamadas a la API (/v1/…) no pasan por aquí: van siempre a la red.
"use strict";

// Cambia SHELL_VERSION si cambia la lista SHELL o la forma de servir: el activate borra las demás.
const SHELL_VERSION = "2";
const SHELL_CACHE = `diabetes-shell-v${SHELL_VERSION}`;
const SHELL = [
  "./", "app.js", "styles.css", "manifest.webmanifest",
  "icons/icon.svg", "icons/icon-192.png", "icons/icon-512.png", "icons/icon-maskable-512.png",
  "icons/apple-touch-icon.png",
];
const OPTIONAL = ["vendor/vendor.json"]; // sin `make web` no existe: la instalación no falla por él
const NETWORK_TIMEOUT_MS = 4000; // red colgada (wifi sin salida): pasado este tiempo, la copia guardada
const SCOPE_PATH = new URL(self.registration.scope).pathname;
const VENDOR_PATH = `${SCOPE_PATH}vendor/`;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // cache: "no-cache" revalida con el ETag: lo que ya estaba en la caché HTTP llega con un 304.
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: "no-cache" })));
    await Promise.all(OPTIONAL.map((path) => cache.add(new Request(path, { cache: "no-cache" })).catch(() => {})));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith("diabetes-shell-") && name !== SHELL_CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE_PATH)) return; // la API, a la red
  if (url.pathname.startsWith(VENDOR_PATH) && !url.pathname.endsWith("/vendor.json")) {
    event.respondWith(cacheFirst(request));
  } else {
    event.respondWith(networkFirst(request));
  }
});

// ignoreVary: la API responde con «Vary: Origin, Accept-Encoding», y un módulo (import()) lleva la
// cabecera Origin aunque sea del mismo origen; el archivo es el mismo en todos los casos.
async function cacheFirst(request) {
  const cached = await caches.match(request, { ignoreVary: true });
  return cached || fetch(request);
}

async function networkFirst(request) {
  const cache = await caches.open(SHELL_CACHE);
  const navigation = request.mode === "navigate";
  const cached = await cache.match(request, { ignoreSearch: navigation, ignoreVary: true });
  const network = fetch(request, { cache: "no-cache" }).then(async (response) => {
    if (response.ok) await cache.put(request, response.clone());
    return response;
  });
  if (!cached) return network;
  network.catch(() => {}); // si gana la copia guardada, el fallo de la red no es un error sin atender
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(cached), NETWORK_TIMEOUT_MS); });
  try {
    return await Promise.race([network, timeout]);
  } catch {
    return cached; // sin conexión: la copia guardada
  } finally {
    clearTimeout(timer);
  }
}
