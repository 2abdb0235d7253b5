// Diabetes Prediction: formulario construido con la ficha del modelo (GET /v1/model)
// que pide la predicción a la API (POST /v1/predict). Sin dependencias ni compilación.
"use strict";

(() => {
  const STORAGE_KEY = "diabetes-api-url";
  const TIMEOUT_MS = 15000;
  const $ = (id) => document.getElementById(id);
  const numberFormat = new Intl.NumberFormat("es-ES", { maximumFractionDigits: 2 });
  const percentFormat = new Intl.NumberFormat("es-ES", { style: "percent", maximumFractionDigits: 1 });
  const state = { base: "", card: null, attempt: 0 };

  class Unreachable extends Error {}
  class ApiProblem extends Error {
    constructor(message, details = []) {
      super(message);
      this.details = details;
    }
  }

  // ---------------------------------------------------------------- URL de la API
  function defaultBase() {
    // Servida por la API (http/https): la misma dirección. Abierta como archivo: la del campo.
    const served = location.protocol === "http:" || location.protocol === "https:";
    return served ? location.origin : $("api-url").dataset.fileDefault;
  }

  function storage(action, value) {
    try {
      if (action === "get") return localStorage.getItem(STORAGE_KEY);
      if (value) localStorage.setItem(STORAGE_KEY, value);
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      // Sin localStorage (modo privado estricto): la URL vale solo para esta visita.
    }
    return null;
  }

  function validUrl(text) {
    try {
      const url = new URL(text);
      return url.protocol === "http:" || url.protocol === "https:";
    } catch {
      return false;
    }
  }

  // ---------------------------------------------------------------- HTTP
  async function api(path, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    const options = { headers: { Accept: "application/json" }, signal: controller.signal };
    if (body !== undefined) {
      Object.assign(options, { method: "POST", body: JSON.stringify(body) });
      options.headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(state.base + path, options);
    } catch {
      throw new Unreachable();
    } finally {
      clearTimeout(timer);
    }
    let data;
    try {
      data = await response.json();
    } catch {
      throw new ApiProblem(`${state.base} respondió (${response.status}), pero no parece la API de diabetes. ` +
        "Revisa la URL en «Conexión con la API».");
    }
    if (!response.ok) {
      const error = data.error || {};
      throw new ApiProblem(error.message || `La API respondió con el código ${response.status}.`,
        error.details || []);
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
      "(en el ordenador del taller: make app, make docker-run o make demo-1) y que la URL de " +
      "«Conexión con la API» es correcta.";
  }

  // ---------------------------------------------------------------- Formulario desde la ficha
  function fieldFor(feature) {
    const id = `f-${feature.name}`;
    const zeroOk = Boolean(feature.zero_means_missing);
    const wrapper = document.createElement("div");
    wrapper.className = "field";

    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: feature.label });
    const unit = Object.assign(document.createElement("span"), { className: "unit", textContent: ` (${feature.unit})` });
    label.append(unit);

    const input = Object.assign(document.createElement("input"), {
      id, name: feature.name, type: "number", required: true,
      min: String(zeroOk ? 0 : feature.min), max: String(feature.max),
      step: feature.type === "integer" ? "1" : "any",
      inputMode: feature.type === "integer" ? "numeric" : "decimal",
    });
    input.dataset.hint = `${id}-hint`;
    input.setAttribute("aria-describedby", input.dataset.hint);

    const range = `Entre ${numberFormat.format(feature.min)} y ${numberFormat.format(feature.max)} ${feature.unit}`;
    const hint = Object.assign(document.createElement("p"), {
      id: `${id}-hint`, className: "hint",
      textContent: `${range}${zeroOk ? " · 0 si no se midió" : ""}. ${feature.description}`,
    });
    const error = Object.assign(document.createElement("p"), { id: `${id}-error`, className: "field-error", hidden: true });
    input.addEventListener("input", () => clearFieldError(input));
    wrapper.append(label, input, hint, error);
    return wrapper;
  }

  function buildForm(card) {
    $("fields").replaceChildren(...card.features.map(fieldFor));
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

  // ---------------------------------------------------------------- Resultado
  function showResult(result) {
    const section = $("result");
    section.dataset.prediction = String(result.prediction);
    section.dataset.probability = String(result.probability);
    $("result-label").textContent = result.label;
    $("result-probability").textContent = percentFormat.format(result.probability);
    $("result-meter").style.width = `${Math.round(result.probability * 1000) / 10}%`;
    $("result-model").textContent = `Modelo ${result.model_version}`;
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
      buildForm(card);
      say(`Conectado con ${state.base} · modelo ${card.version}`);
    } catch (error) {
      if (attempt !== state.attempt) return;
      say("");
      showAlert(error instanceof Unreachable ? unreachableMessage() : error.message, [], true);
      $("settings").open = true;
    }
  }

  async function predict(event) {
    event.preventDefault();
    const form = $("patient-form");
    hideAlert();
    const patient = {};
    for (const input of form.querySelectorAll("input")) {
      clearFieldError(input);
      if (input.value !== "") patient[input.name] = Number(input.value);
    }
    setBusy(true);
    try {
      showResult(await api("/v1/predict", patient));
    } catch (error) {
      $("result").hidden = true;
      $("announce").textContent = "";
      if (error instanceof Unreachable) showAlert(unreachableMessage(), [], false);
      else showFieldErrors(error);
    } finally {
      setBusy(false);
    }
  }

  function saveUrl(event) {
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
    storage("set", text === defaultBase() ? "" : text);
    connect();
  }

  function resetUrl() {
    storage("set", "");
    state.base = defaultBase();
    $("api-url").value = state.base;
    connect();
  }

  function start() {
    state.base = storage("get") || defaultBase();
    $("api-url").value = state.base;
    $("settings-form").addEventListener("submit", saveUrl);
    $("api-url-reset").addEventListener("click", resetUrl);
    $("patient-form").addEventListener("submit", predict);
    $("retry").addEventListener("click", connect);
    connect();
  }

  start();
})();
