// Diabetes Prediction: formulario construido con la vista pública del modelo (GET /v1/model) que
// pide la predicción a la API (POST /v1/predict) o la calcula en este dispositivo con el mismo
// modelo ONNX (GET /v1/model.onnx) y onnxruntime-web, también sin conexión. Sin compilación: el
// motor lo copia `make web` a vendor/ y el service worker (sw.js) guarda la app para abrirla sin red.
"use strict";

(() => {
  const KEYS = { url: "diabetes-api-url", key: "diabetes-api-key", where: "diabetes-where", card: "diabetes-card:" };
  const WHERE = ["auto", "api", "device"];
  const TIMEOUT_MS = 15000;
  const AUTO_TIMEOUT_MS = 6000; // en automático, pasado este tiempo se calcula en el dispositivo
  const DECIMALS = 6; // como la API
  const MODEL_CACHE = "diabetes-model";
  const VENDOR_CACHE = "diabetes-vendor-";
  const INVALID = "Los datos de la paciente no son válidos: revisa los campos indicados."; // el mismo texto que la API
  const NOT_INSTALLED = "El modo sin conexión no está instalado (make web).";
  const INSECURE = "El cálculo en el dispositivo y el uso sin conexión necesitan un contexto seguro (la app " +
    "servida por https://, localhost o 127.0.0.1, no abierta como archivo ni por http desde otro equipo), así que " +
    "aquí la app funciona solo con conexión a la API.";
  const $ = (id) => document.getElementById(id);
  // useGrouping "always": «1.000» como en la línea de órdenes (es-ES, por defecto, no agrupa cuatro cifras).
  const numberFormat = new Intl.NumberFormat("es-ES", { maximumFractionDigits: 2, useGrouping: "always" });
  const percentFormat = new Intl.NumberFormat("es-ES", { style: "percent", maximumFractionDigits: 1 });
  // La clave de la API va con el origen para el que se escribió: { origin, key, remember } o null.
  const state = { base: "", key: null, keyEdited: false, where: "auto", card: null, attempt: 0 };
  // Service worker y Web Crypto: solo en un contexto seguro servido por http(s). Un archivo (file://)
  // cuenta como seguro en Chromium, pero ahí no hay service worker ni una API del mismo origen.
  const secure = window.isSecureContext && /^https?:$/.test(location.protocol) && Boolean(window.crypto?.subtle) &&
    "caches" in window;
  // El cálculo en el dispositivo: el modelo comprobado (bytes y vista con la que se publicó) y su sesión.
  const device = { status: "off", message: "", card: null, bytes: null, session: null, sessionVersion: null,
    pending: null };

  class Unreachable extends Error {}
  class ApiProblem extends Error {
    constructor(message, details = []) {
      super(message);
      this.details = details;
    }
  }
  class DeviceProblem extends Error {}

  // ---------------------------------------------------------------- Ajustes guardados
  function defaultBase() {
    // Servida por la API (http/https): la misma dirección. Abierta como archivo: la del campo.
    const served = location.protocol === "http:" || location.protocol === "https:";
    return served ? location.origin : $("api-url").dataset.fileDefault;
  }

  // `area`: "localStorage" (este dispositivo, sin fecha de caducidad) o "sessionStorage" (esta
  // pestaña, hasta cerrarla).
  function load(name, area = "localStorage") {
    try {
      return window[area].getItem(name);
    } catch {
      return null; // sin almacenamiento (modo privado estricto): los ajustes valen solo para esta visita
    }
  }

  function store(name, value, area = "localStorage") {
    try {
      if (value) window[area].setItem(name, value);
      else window[area].removeItem(name);
    } catch {
      // Sin almacenamiento: nada que guardar.
    }
  }

  // ---------------------------------------------------------------- La clave de la API
  // Se guarda con el origen de la API para la que se escribió y solo viaja a ese origen, en las
  // peticiones que la piden. Por defecto en sessionStorage (se olvida al cerrar la pestaña); en
  // localStorage solo si se marca «recordar la clave en este dispositivo».
  function originOf(url) {
    try {
      return new URL(url, location.href).origin;
    } catch {
      return "";
    }
  }

  function readKey() {
    for (const area of ["sessionStorage", "localStorage"]) {
      const text = load(KEYS.key, area);
      if (!text) continue;
      try {
        const saved = JSON.parse(text);
        if (typeof saved?.key === "string" && saved.key && typeof saved.origin === "string" && saved.origin) {
          return { origin: saved.origin, key: saved.key, remember: area === "localStorage" };
        }
      } catch {
        // La clave sola, sin su origen (versiones anteriores): no se sabe para qué API era.
      }
      store(KEYS.key, "", area); // se borra: habrá que escribirla de nuevo
    }
    return null;
  }

  function writeKey(saved) {
    // En un solo sitio: el otro se vacía (desmarcar «recordar» la borra de este dispositivo).
    const text = saved ? JSON.stringify({ origin: saved.origin, key: saved.key }) : "";
    store(KEYS.key, saved && !saved.remember ? text : "", "sessionStorage");
    store(KEYS.key, saved && saved.remember ? text : "", "localStorage");
  }

  function showKey() {
    // La casilla muestra la clave solo si es la de la API elegida; si es de otra, lo dice.
    const saved = state.key;
    const here = Boolean(saved) && saved.origin === originOf(state.base);
    $("api-key").value = here ? saved.key : "";
    $("api-key-remember").checked = Boolean(saved?.remember);
    const note = $("api-key-note");
    note.textContent = saved && !here ? `La clave guardada es para ${saved.origin}: no se envía a ` +
      `${originOf(state.base)}. Escríbela aquí si esta API pide clave.` : "";
    note.hidden = !note.textContent;
    state.keyEdited = false;
  }

  function rememberKey() {
    if (state.key) {
      state.key.remember = $("api-key-remember").checked;
      writeKey(state.key);
    }
  }

  function validUrl(text) {
    try {
      const url = new URL(text);
      return url.protocol === "http:" || url.protocol === "https:";
    } catch {
      return false;
    }
  }

  function savedCard(base) {
    try {
      return JSON.parse(load(KEYS.card + base));
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------- HTTP
  function authHeaders(url) {
    // Solo al origen para el que se escribió la clave (nunca a otra API a la que se cambie la URL).
    const saved = state.key;
    return saved && saved.origin === originOf(url) ? { Authorization: `Bearer ${saved.key}` } : {};
  }

  async function request(url, options, timeout) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    try {
      return await fetch(url, { ...options, signal: controller.signal });
    } catch {
      throw new Unreachable();
    } finally {
      clearTimeout(timer);
    }
  }

  // `auth`: la ruta pide la clave (POST /v1/predict). La vista pública (GET /v1/model) va sin ella.
  async function api(path, { body, timeout = TIMEOUT_MS, auth = false } = {}) {
    const url = state.base + path;
    const options = { headers: { Accept: "application/json", ...(auth ? authHeaders(url) : {}) } };
    if (body !== undefined) {
      Object.assign(options, { method: "POST", body: JSON.stringify(body) });
      options.headers["Content-Type"] = "application/json";
    }
    const response = await request(url, options, timeout);
    let data;
    try {
      data = await response.json();
    } catch {
      throw new ApiProblem(`${state.base} respondió (${response.status}), pero no parece la API de diabetes. ` +
        "Revisa la URL en «Conexión con la API».");
    }
    if (!response.ok) {
      const error = data.error || {};
      const problem = new ApiProblem(error.message || `La API respondió con el código ${response.status}.`,
        error.details || []);
      problem.status = response.status;
      throw problem;
    }
    return data;
  }

  // ---------------------------------------------------------------- Mensajes
  function say(text) {
    $("status").textContent = text;
  }

  function showAlert(text, items = [], retry = false) {
    $("alert-text").textContent = text;
    const list = $("alert-list");
    list.replaceChildren(...items.map((item) => Object.assign(document.createElement("li"), { textContent: item })));
    list.hidden = items.length === 0;
    $("retry").hidden = !retry;
    $("alert").hidden = false;
  }

  function hideAlert() {
    $("alert").hidden = true;
  }

  function unreachableMessage() {
    return `No se puede conectar con la API en ${state.base}. Comprueba que está en marcha ` +
      "(en el ordenador del taller: make app o make docker-run) y que la URL de " +
      "«Conexión con la API» es correcta.";
  }

  function setDevice(status, message) {
    device.status = status;
    device.message = message;
    const note = $("offline-status");
    note.dataset.state = status;
    note.textContent = message;
  }

  // ---------------------------------------------------------------- Formulario desde la vista del modelo
  function fieldFor(feature) {
    const id = `f-${feature.name}`;
    const zeroOk = Boolean(feature.zero_means_missing);
    const wrapper = document.createElement("div");
    wrapper.className = "field";

    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: feature.label });
    const unit = Object.assign(document.createElement("span"), { className: "unit", textContent: ` (${feature.unit})` });
    label.append(unit);

    // Texto, no type="number": con el navegador en español, type="number" tira la coma de «85,5»
    // (queda 855) sin avisar. La cifra la lee readNumber(), con coma o con punto decimal.
    const input = Object.assign(document.createElement("input"), {
      id, name: feature.name, type: "text", required: true, autocomplete: "off", spellcheck: false,
      inputMode: feature.type === "integer" ? "numeric" : "decimal",
    });
    input.dataset.hint = `${id}-hint`;
    input.setAttribute("aria-describedby", input.dataset.hint);

    const range = `Entre ${numberFormat.format(feature.min)} y ${numberFormat.format(feature.max)} ${feature.unit}`;
    const decimals = feature.type === "integer" ? "" : " · decimales con coma o con punto";
    const hint = Object.assign(document.createElement("p"), {
      id: `${id}-hint`, className: "hint",
      textContent: `${range}${zeroOk ? " · 0 si no se midió" : ""}${decimals}. ${feature.description}`,
    });
    const error = Object.assign(document.createElement("p"), { id: `${id}-error`, className: "field-error", hidden: true });
    input.addEventListener("input", () => clearFieldError(input));
    wrapper.append(label, input, hint, error);
    return wrapper;
  }

  function buildForm(card) {
    // Los valores escritos se conservan si la vista no cambió (p. ej. al volver la conexión).
    const previous = Object.fromEntries([...$("fields").querySelectorAll("input")].map((i) => [i.name, i.value]));
    $("fields").replaceChildren(...card.features.map(fieldFor));
    for (const input of $("fields").querySelectorAll("input")) input.value = previous[input.name] || "";
    $("patient-form").hidden = false;
  }

  function setFieldError(input, message) {
    const error = $(`${input.id}-error`);
    error.textContent = message;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", `${error.id} ${input.dataset.hint}`);
  }

  function clearFieldError(input) {
    const error = $(`${input.id}-error`);
    if (!error) return;
    error.hidden = true;
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", input.dataset.hint);
  }

  function showFieldErrors(problem) {
    const unplaced = [];
    let first = null;
    for (const detail of problem.details) {
      const input = $(`f-${detail.field}`);
      if (input && input.form === $("patient-form")) {
        setFieldError(input, detail.message);
        first = first || input;
      } else {
        unplaced.push(`${detail.field}: ${detail.message}`);
      }
    }
    showAlert(problem.message, unplaced);
    if (first) first.focus();
  }

  // ---------------------------------------------------------------- Lectura de las cifras
  // Como se escriben a mano: «85,5» y «85.5» son lo mismo (un solo separador decimal, coma o
  // punto); sin separador de miles, exponentes ni espacios dentro. «1.234,5» es ambiguo y se rechaza.
  const DECIMAL = /^[+-]?\d+(?:[.,]\d+)?$/;

  function readNumber(text) {
    // null si está vacío; NaN si no es una cifra escrita así.
    const clean = text.trim();
    if (clean === "") return null;
    const value = DECIMAL.test(clean) ? Number(clean.replace(",", ".")) : NaN;
    return Number.isFinite(value) ? value : NaN;
  }

  function notANumber(text, feature) {
    const how = feature.type === "integer"
      ? "escribe un número entero, sin puntos de miles (por ejemplo, 35)"
      : "escribe la cifra con una coma o un punto para los decimales y sin separador de miles " +
        "(por ejemplo, 85,5 o 85.5)";
    return `«${text.trim()}» no es un número válido para ${feature.label}: ${how}.`;
  }

  function readPatient(form, card) {
    // Los valores de la paciente y, de los campos que no son una cifra, su mensaje.
    const patient = {};
    const unreadable = {};
    for (const feature of card.features) {
      const text = form.elements.namedItem(feature.name)?.value ?? "";
      patient[feature.name] = readNumber(text);
      if (Number.isNaN(patient[feature.name])) unreadable[feature.name] = notANumber(text, feature);
    }
    return { patient, unreadable };
  }

  // ---------------------------------------------------------------- Validación (las reglas de la API)
  // Las mismas reglas y los mismos textos que la API (diabetes_api/predict.py), antes de calcular
  // en cualquier sitio: rango, entero y «0 = no medido».
  function checkValue(value, feature) {
    if (value === null) return "Falta este campo.";
    if (!Number.isFinite(value)) return "Debe ser un número finito (no NaN ni Infinity).";
    if (feature.type === "integer" && !Number.isInteger(value)) return "Debe ser un número entero.";
    if (value === 0 && feature.zero_means_missing) return null; // 0 significa «no medido»: el modelo lo imputa
    if (!(feature.min <= value && value <= feature.max)) {
      const extra = feature.zero_means_missing ? " (o 0 si no se midió)" : "";
      return `Debe estar entre ${numberFormat.format(feature.min)} y ${numberFormat.format(feature.max)}${extra}.`;
    }
    return null;
  }

  function validate(patient, card, unreadable = {}) {
    return card.features
      .map((feature) => ({ field: feature.name,
        message: unreadable[feature.name] ?? checkValue(patient[feature.name], feature) }))
      .filter((detail) => detail.message !== null);
  }

  // ---------------------------------------------------------------- El modelo en el dispositivo
  const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

  async function sha256(bytes) {
    return hex(await crypto.subtle.digest("SHA-256", bytes));
  }

  function modelUrl(card) {
    return new URL(card.onnx.url, `${state.base}/`).href;
  }

  function modelKey(card) {
    // La clave de la caché: la URL del modelo con su versión y su huella (cada versión, la suya).
    return `${modelUrl(card)}?version=${encodeURIComponent(card.version)}&sha256=${card.onnx.sha256}`;
  }

  async function vendorInfo() {
    try {
      const response = await fetch("vendor/vendor.json", { cache: "no-cache" });
      return response.ok ? await response.json() : null;
    } catch {
      return null;
    }
  }

  async function cacheVendor(info, online) {
    // Guarda el motor (una sola descarga) en la caché de su versión y borra las de otras versiones.
    const name = VENDOR_CACHE + info.version;
    const cache = await caches.open(name);
    for (const file of Object.keys(info.files)) {
      const url = new URL(`vendor/${file}`, location.href).href;
      if (await cache.match(url)) continue;
      if (!online) throw new DeviceProblem(NOT_INSTALLED);
      try {
        await cache.add(url);
      } catch {
        throw new DeviceProblem(`No se pudo descargar el motor de cálculo (vendor/${file}). ${NOT_INSTALLED}`);
      }
    }
    for (const old of await caches.keys()) {
      if (old.startsWith(VENDOR_CACHE) && old !== name) await caches.delete(old);
    }
  }

  async function cachedModel(cache, card) {
    const hit = await cache.match(modelKey(card));
    if (!hit) return null;
    const bytes = new Uint8Array(await hit.arrayBuffer());
    if (await sha256(bytes) === card.onnx.sha256) return bytes;
    await cache.delete(modelKey(card)); // dañado: se descarta
    return null;
  }

  async function downloadModel(card) {
    const url = modelUrl(card); // ruta protegida con API_KEY: lleva la clave si la URL es de su origen
    const response = await request(url, { headers: authHeaders(url), cache: "no-cache" }, TIMEOUT_MS);
    if (!response.ok) {
      throw new DeviceProblem(response.status === 401
        ? "La API pide una clave para descargar el modelo: escríbela en «Conexión con la API»."
        : `No se pudo descargar el modelo (la API respondió con el código ${response.status}).`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    // La huella se comprueba ANTES de usar o guardar el modelo.
    if (bytes.length !== card.onnx.size || await sha256(bytes) !== card.onnx.sha256) {
      throw new DeviceProblem("El modelo descargado no coincide con la huella sha256 que publica la API: " +
        "se ha rechazado y no se usará.");
    }
    return bytes;
  }

  async function loadModel(card, online) {
    if (!card.onnx || !card.onnx.url || !/^[0-9a-f]{64}$/.test(card.onnx.sha256 || "")) {
      throw new DeviceProblem("Esta API no publica su modelo ONNX: solo se puede calcular en el servidor.");
    }
    const cache = await caches.open(MODEL_CACHE);
    let bytes = await cachedModel(cache, card);
    if (!bytes) {
      if (!online) throw new DeviceProblem("No hay ningún modelo guardado en este dispositivo: abre la app una vez con conexión.");
      bytes = await downloadModel(card);
      await cache.put(modelKey(card), new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    }
    // Una versión nueva sustituye a las anteriores.
    for (const old of await cache.keys()) {
      if (old.url !== modelKey(card)) await cache.delete(old);
    }
    return bytes;
  }

  function prepareDevice(card, online) {
    device.pending = (async () => {
      if (!secure) {
        setDevice("insecure", INSECURE);
        return;
      }
      // Antes de la primera espera: el estado anterior (p. ej. «la API pide una clave») no debe
      // quedarse a la vista junto al formulario mientras se vuelve a preparar.
      setDevice("preparing", "Preparando el cálculo en este dispositivo…");
      const info = await vendorInfo();
      if (!info || !info.files) {
        setDevice("missing", NOT_INSTALLED);
        return;
      }
      try {
        await cacheVendor(info, online);
        const bytes = await loadModel(card, online);
        if (device.card?.version !== card.version) {
          device.session = null; // otra versión: otra sesión
        }
        Object.assign(device, { card, bytes });
        setDevice("ready", `Listo para calcular sin conexión con el modelo ${card.version}, guardado en este dispositivo.`);
      } catch (error) {
        if (!(error instanceof DeviceProblem) && !(error instanceof Unreachable)) console.error(error);
        setDevice("error", error instanceof DeviceProblem ? error.message
          : "No se pudo preparar el cálculo en este dispositivo.");
      }
    })();
    return device.pending;
  }

  function loadRuntime() {
    if (window.ort) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const script = Object.assign(document.createElement("script"), { src: "vendor/ort.wasm.min.js" });
      script.addEventListener("load", resolve);
      script.addEventListener("error", () => { script.remove(); reject(new DeviceProblem(NOT_INSTALLED)); });
      document.head.append(script);
    });
  }

  async function deviceSession() {
    await device.pending;
    if (device.status !== "ready") throw new DeviceProblem(device.message || NOT_INSTALLED);
    if (device.session && device.sessionVersion === device.card.version) return device.session;
    await loadRuntime();
    ort.env.wasm.numThreads = 1; // sin SharedArrayBuffer: no hace falta aislamiento entre orígenes
    ort.env.wasm.wasmPaths = new URL("vendor/", location.href).href; // nunca de una CDN
    device.session = await ort.InferenceSession.create(device.bytes.slice(), { executionProviders: ["wasm"] });
    device.sessionVersion = device.card.version;
    return device.session;
  }

  async function predictOnDevice(patient) {
    const session = await deviceSession();
    const card = device.card;
    const row = Float32Array.from(card.features.map((feature) => patient[feature.name]));
    const input = new ort.Tensor("float32", row, [1, row.length]);
    const output = await session.run({ [session.inputNames[0]]: input });
    const probability = Number(Number(output.probabilities.data[1]).toFixed(DECIMALS)); // como la API
    const prediction = probability >= card.threshold ? 1 : 0;
    const label = card.classes.find((item) => item.value === prediction)?.label ?? String(prediction);
    return { prediction, label, probability, model_version: card.version, where: "device" };
  }

  async function predictOnServer(patient, timeout) {
    return { ...(await api("/v1/predict", { body: patient, timeout, auth: true })), where: "server" };
  }

  async function compute(patient) {
    if (state.where === "device") return predictOnDevice(patient);
    if (state.where === "api") return predictOnServer(patient, TIMEOUT_MS);
    if (navigator.onLine === false && device.status === "ready") return predictOnDevice(patient);
    try {
      return await predictOnServer(patient, AUTO_TIMEOUT_MS);
    } catch (error) {
      if (!(error instanceof Unreachable) && !(error instanceof ApiProblem && error.status >= 502)) throw error;
      try {
        return await predictOnDevice(patient);
      } catch (problem) {
        if (problem instanceof DeviceProblem) {
          throw new DeviceProblem(`${unreachableMessage()} Tampoco se puede calcular en este dispositivo: ${problem.message}`);
        }
        throw problem;
      }
    }
  }

  // ---------------------------------------------------------------- Resultado
  function showResult(result) {
    const section = $("result");
    section.dataset.prediction = String(result.prediction);
    section.dataset.probability = String(result.probability);
    section.dataset.where = result.where;
    $("result-label").textContent = result.label;
    $("result-probability").textContent = percentFormat.format(result.probability);
    $("result-meter").style.width = `${Math.round(result.probability * 1000) / 10}%`;
    const where = result.where === "device" ? "Calculado en este dispositivo" : "Calculado en el servidor";
    $("result-model").textContent = `${where} con el modelo ${result.model_version}.`;
    section.hidden = false;
    // Para lectores de pantalla: el resultado se anuncia aunque el foco no llegue a leerlo.
    $("announce").textContent = `${result.label}: ${percentFormat.format(result.probability)} de probabilidad.`;
    $("result-title").focus();
    section.scrollIntoView({ block: "nearest" });
  }

  function setBusy(busy) {
    const button = $("submit");
    button.disabled = busy;
    button.setAttribute("aria-busy", String(busy));
    $("patient-form").setAttribute("aria-busy", String(busy));
    $("submit-text").textContent = busy ? "Calculando…" : "Calcular riesgo";
  }

  // ---------------------------------------------------------------- Acciones
  async function connect() {
    const attempt = ++state.attempt; // si se cambia la URL a medio conectar, gana la última
    hideAlert();
    $("patient-form").hidden = true;
    $("result").hidden = true;
    say(`Conectando con ${state.base}…`);
    try {
      const card = await api("/v1/model");
      if (attempt !== state.attempt) return;
      state.card = card;
      store(KEYS.card + state.base, JSON.stringify(card));
      buildForm(card);
      say(`Conectado con ${state.base} · modelo ${card.version}`);
      prepareDevice(card, true); // en segundo plano: descarga y comprueba el modelo si cambió
    } catch (error) {
      if (attempt !== state.attempt) return;
      const card = error instanceof Unreachable && state.where !== "api" ? savedCard(state.base) : null;
      if (card) {
        await prepareDevice(card, false);
        if (attempt !== state.attempt) return;
        if (device.status === "ready") {
          state.card = card;
          buildForm(card);
          say(`Sin conexión con ${state.base}: se calcula en este dispositivo con el modelo ${card.version}.`);
          return;
        }
      }
      say("");
      showAlert(error instanceof Unreachable ? unreachableMessage() : error.message, [], true);
      $("settings").open = true;
    }
  }

  async function predict(event) {
    event.preventDefault();
    const form = $("patient-form");
    hideAlert();
    for (const input of form.querySelectorAll("input")) clearFieldError(input);
    const { patient, unreadable } = readPatient(form, state.card);
    const problems = validate(patient, state.card, unreadable);
    if (problems.length) {
      $("result").hidden = true;
      $("announce").textContent = "";
      showFieldErrors(new ApiProblem(INVALID, problems));
      return;
    }
    setBusy(true);
    try {
      showResult(await compute(patient));
    } catch (error) {
      $("result").hidden = true;
      $("announce").textContent = "";
      if (error instanceof Unreachable) showAlert(unreachableMessage(), [], false);
      else if (error instanceof ApiProblem) showFieldErrors(error);
      else if (error instanceof DeviceProblem) showAlert(error.message);
      else showAlert(`No se pudo calcular el riesgo: ${error.message || error}`);
    } finally {
      setBusy(false);
    }
  }

  function saveConnection(event) {
    event.preventDefault();
    const input = $("api-url");
    const text = input.value.trim().replace(/\/+$/, "");
    const error = $("api-url-error");
    if (!validUrl(text)) {
      error.textContent = "Escribe una URL completa, con http:// o https://.";
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    error.hidden = true;
    input.removeAttribute("aria-invalid");
    state.base = text;
    const origin = originOf(text);
    // La clave de la casilla es para esta API si se escribió ahora o si ya era suya; la de otra API
    // que seguía en la casilla al cambiar la URL no se le pasa a esta.
    if (state.keyEdited || state.key?.origin === origin) {
      const key = $("api-key").value.trim();
      state.key = key ? { origin, key, remember: $("api-key-remember").checked } : null;
    }
    writeKey(state.key);
    showKey();
    store(KEYS.url, text === defaultBase() ? "" : text);
    connect();
  }

  function resetUrl() {
    store(KEYS.url, "");
    state.base = defaultBase();
    $("api-url").value = state.base;
    showKey();
    connect();
  }

  function chooseWhere(event) {
    state.where = event.target.value;
    store(KEYS.where, state.where === "auto" ? "" : state.where);
  }

  function registerServiceWorker() {
    if (!secure || !("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("sw.js").catch((error) => {
      console.warn("No se pudo registrar el service worker:", error);
    });
  }

  function start() {
    state.base = load(KEYS.url) || defaultBase();
    state.key = readKey();
    state.where = WHERE.includes(load(KEYS.where)) ? load(KEYS.where) : "auto";
    $("api-url").value = state.base;
    showKey();
    $("api-key").addEventListener("input", () => { state.keyEdited = true; });
    $("api-key-remember").addEventListener("change", rememberKey);
    for (const radio of document.querySelectorAll("input[name=where]")) {
      radio.checked = radio.value === state.where;
      radio.addEventListener("change", chooseWhere);
    }
    if (!secure) setDevice("insecure", INSECURE);
    $("settings-form").addEventListener("submit", saveConnection);
    $("api-url-reset").addEventListener("click", resetUrl);
    $("patient-form").addEventListener("submit", predict);
    $("retry").addEventListener("click", connect);
    registerServiceWorker();
    connect();
  }

  start();
})();
