// La página /docs: Swagger UI (servido desde este mismo origen, sin CDN) con sus etiquetas en español.
//
// Swagger UI no trae traducciones: un MutationObserver cambia cada texto que dibuja (y cada uno que
// vuelve a dibujar: «Probar» pasa a «Cancelar» y vuelve) por el suyo en español, antes de que el
// navegador lo pinte. Solo se traducen textos exactos de la interfaz, nunca el contenido de la API
// (ejemplos, respuestas, código): lo que está dentro de SKIP se deja como llega.
"use strict";

(function () {
  const SPANISH = {
    "Try it out": "Probar",
    "Cancel": "Cancelar",
    "Execute": "Ejecutar",
    "Clear": "Limpiar",
    "Authorize": "Autorizar",
    "Apply credentials": "Autorizar",
    "Remove authorization": "Cerrar sesión",
    "auth-bearer-value": "Clave de la API",
    "authorization button locked": "Autorizada",
    "authorization button unlocked": "Sin autorizar",
    "Request content type": "Tipo de contenido de la petición",
    "Response content type": "Tipo de contenido de la respuesta",
    "Media Type": "Tipo de contenido",
    "Expand operation": "Desplegar la ruta",
    "Collapse operation": "Plegar la ruta",
    "Expand": "Desplegar",
    "Collapse": "Plegar",
    "Authorized": "Autorizado",
    "Available authorizations": "Autorizaciones disponibles",
    "Logout": "Cerrar sesión",
    "Close": "Cerrar",
    "Value:": "Valor:",
    "Name:": "Nombre:",
    "Parameters": "Parámetros",
    "No parameters": "Sin parámetros",
    "Request body": "Cuerpo de la petición",
    "required": "obligatorio",
    "Responses": "Respuestas",
    "Response body": "Cuerpo de la respuesta",
    "Response headers": "Cabeceras de la respuesta",
    "Server response": "Respuesta del servidor",
    "Request URL": "URL de la petición",
    "Code": "Código",
    "Description": "Descripción",
    "Details": "Detalles",
    "Links": "Enlaces",
    "No links": "Sin enlaces",
    "Undocumented": "No documentada",
    "Media type": "Tipo de contenido",
    "Controls": "Controla la cabecera",  // «Controls <code>Accept</code> header.»
    "header.": "",
    "default": "Rutas",  // el grupo de las rutas sin etiqueta
    "Example Value": "Valor de ejemplo",
    "Edit Value": "Editar valor",
    "Schema": "Esquema",
    "Schemas": "Esquemas",
    "Servers": "Servidores",
    "Download": "Descargar",
    "Headers:": "Cabeceras:",
    "Loading...": "Cargando…",
    "Failed to load API definition.": "No se pudo cargar el contrato de la API.",
    "Expand all": "Desplegar todo",
    "Collapse all": "Plegar todo",
    "Copy to clipboard": "Copiar al portapapeles",
    "Reset": "Restablecer",
    "Hide": "Ocultar",
    "Show": "Mostrar",
  };
  // Lo que escribe la API o la persona: ejemplos, cuerpos, respuestas y descripciones del contrato.
  const SKIP = "pre, code, textarea, input, .microlight, .renderedMarkdown, .response-col_description__inner";
  const ATTRIBUTES = ["aria-label", "title", "placeholder"];

  // Cada cambio vuelve a avisar al observador: solo se escribe lo que cambia (si no, un bucle sin fin).
  function translateText(node) {
    const text = node.nodeValue;
    const spanish = SPANISH[text.trim()];
    if (spanish === undefined || !node.parentElement || node.parentElement.closest(SKIP)) return;
    const translated = text.replace(text.trim(), spanish);
    if (translated !== text) node.nodeValue = translated;
  }

  function translateAttributes(element) {
    for (const name of ATTRIBUTES) {
      const value = (element.getAttribute(name) || "").trim();
      const spanish = SPANISH[value];
      if (spanish !== undefined && spanish !== value) element.setAttribute(name, spanish);
    }
  }

  function translateTree(root) {
    if (root.nodeType === Node.TEXT_NODE) return translateText(root);
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    translateAttributes(root);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) translateText(node);
      else translateAttributes(node);
    }
  }

  const observer = new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "childList") record.addedNodes.forEach(translateTree);
      else if (record.type === "characterData") translateText(record.target);
      else translateAttributes(record.target);
    }
  });
  const root = document.getElementById("swagger-ui");
  observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                          attributeFilter: ATTRIBUTES});

  // El contrato de esta misma API; sin validador externo (nada sale de este origen).
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: false,
    persistAuthorization: false,
  });
  root.setAttribute("data-translated", "es");
}());
