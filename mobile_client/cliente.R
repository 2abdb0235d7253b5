#!/usr/bin/env Rscript
# Cliente en R de la API de riesgo de diabetes: la función `predict(data)` de la diapositiva de la
# charla, escrita en R sin copiar nada del modelo. No imputa ceros ni escala: manda las medidas en
# bruto y la API (el grafo ONNX, con el preprocesado dentro) hace el resto. Ver mobile_client/README.md.
#
# Uso (desde la raíz del repositorio, con la API en marcha, p. ej. `make app` en otra terminal):
#   Rscript mobile_client/cliente.R                           # una paciente de ejemplo
#   Rscript mobile_client/cliente.R pacientes.csv             # un CSV → pacientes-predicciones.csv
#   Rscript mobile_client/cliente.R pacientes.csv salida.csv  # eligiendo el archivo de salida
#
# El CSV, en UTF-8 y separado por comas: cifras con punto o con coma decimal (85.5 o 85,5) y sin
# separador de miles; la coma decimal, entre comillas ("85,5"), porque sin ellas separa columnas.
#
# También como biblioteca, en R o RStudio: source("mobile_client/cliente.R") define predict() y
# predict_csv() sin ejecutar nada.
#
# Variables de entorno:
#   API_URL  la API (por defecto http://127.0.0.1:8000; con Lightsail, la URL pública del servicio)
#   API_KEY  la clave, si el servidor tiene una: se envía como «Authorization: Bearer <clave>»
#
# Códigos de salida: 0 bien; 1 datos que corregir (CSV, 422); 2 uso incorrecto; 3 la API no se
# alcanza, rechaza la clave o falla.
#
# Necesita R con los paquetes httr y jsonlite (Debian/Ubuntu: sudo apt-get install r-base-core
# r-cran-httr r-cran-jsonlite; macOS: brew install r y después install.packages(c("httr", "jsonlite"))).

# ¿Con Rscript (ejecuta la orden) o con source() (solo define las funciones)?
run_as_script <- sys.nframe() == 0L

local({
  missing <- Filter(function(package) !requireNamespace(package, quietly = TRUE), c("httr", "jsonlite"))
  if (length(missing)) {
    text <- sprintf(paste("Faltan paquetes de R: %s. Instálalos con `sudo apt-get install %s` (Debian/Ubuntu)",
                          "o, en R, con install.packages(c(%s))."), paste(missing, collapse = ", "),
                    paste0("r-cran-", missing, collapse = " "), paste0("\"", missing, "\"", collapse = ", "))
    if (!run_as_script) stop(text, call. = FALSE)  # con source(): un error, sin cerrar la sesión de R
    message("Error: ", text)
    quit(save = "no", status = 3)
  }
})
suppressPackageStartupMessages({
  library(httr)
  library(jsonlite)
})

DEFAULT_URL <- "http://127.0.0.1:8000"
BATCH_SIZE <- 100  # pacientes por petición (la API admite hasta 1.000: MAX_BATCH)
TIMEOUT_S <- 30
# Una cifra como la escribe una persona: un solo separador decimal, punto o coma; sin separador de
# miles («1.234,5» es ambiguo), exponentes ni espacios dentro.
DECIMAL <- "^[+-]?[0-9]+([.,][0-9]+)?$"
DECIMAL_FORMAT <- "con punto o con coma decimal (85.5 o 85,5) y sin separador de miles"
CSV_COMMA <- "la coma decimal va entre comillas (\"85,5\") o se escribe con punto (85.5)"
# La paciente de la diapositiva: las 8 medidas en bruto, en el orden de la ficha; el 0 de la
# insulina significa «no medido» y lo imputa el modelo, no este cliente.
example_patient <- list(Pregnancies = 6, Glucose = 148, BloodPressure = 72, SkinThickness = 35,
                        Insulin = 0, BMI = 33.6, DiabetesPedigreeFunction = 0.627, Age = 50)


# ------------------------------------------------------------------ Errores en una frase

client_error <- function(text, status) {
  structure(class = c("client_error", "error", "condition"),
            list(message = text, call = NULL, status = status))
}

fail <- function(text, status) stop(client_error(text, status))


# ------------------------------------------------------------------ La API

api_url <- function() {
  url <- Sys.getenv("API_URL")
  sub("/+$", "", if (nzchar(url)) url else DEFAULT_URL)
}

auth_headers <- function() {
  key <- Sys.getenv("API_KEY")
  if (nzchar(key)) c(Authorization = paste("Bearer", key)) else character()
}

# Una llamada a la API: el cuerpo JSON de la respuesta como lista, o un error en español.
call_api <- function(path, body = NULL) {
  url <- paste0(api_url(), path)
  headers <- add_headers(.headers = auth_headers())
  response <- tryCatch(
    if (is.null(body)) {
      GET(url, headers, timeout(TIMEOUT_S))
    } else {
      # digits = NA: todos los dígitos (por defecto jsonlite redondea a 4 decimales).
      POST(url, headers, timeout(TIMEOUT_S), content_type_json(),
           body = toJSON(body, auto_unbox = TRUE, digits = NA, dataframe = "rows"))
    },
    error = function(e) {
      detail <- trimws(conditionMessage(e))
      if (grepl("Timeout was reached", detail, fixed = TRUE)) {
        fail(sprintf("La API en %s no respondió en %d s: inténtalo de nuevo en un momento.", api_url(), TIMEOUT_S), 3)
      }
      fail(sprintf(paste("No se puede conectar con la API en %s: ¿está en marcha? Arráncala con `make app` o",
                         "indica su dirección en API_URL (detalle: %s)."), api_url(), detail), 3)
    })
  text <- content(response, as = "text", encoding = "UTF-8")
  answer <- tryCatch(fromJSON(text, simplifyVector = TRUE), error = function(e) NULL)
  status <- status_code(response)
  if (status == 200 && is.list(answer)) {
    return(answer)
  }
  if (!is.list(answer) || is.null(answer$error$message)) {
    fail(sprintf("%s respondió %d y no con JSON de la API: ¿es API_URL la dirección de la API?", url, status), 3)
  }
  if (status == 404) {
    fail(sprintf("%s no existe (404): ¿es API_URL la dirección de la API, sin ruta al final?", url), 3)
  }
  if (status == 401) {
    fail(if (length(auth_headers()))
      "La API rechazó la clave (401): la de API_KEY no es ninguna de las del servidor."
    else "La API pide una clave (401): defínela en la variable de entorno API_KEY y vuelve a intentarlo.", 3)
  }
  details <- answer$error$details
  lines <- if (is.data.frame(details) && nrow(details) > 0)
    paste0("\n  - ", details$field, ": ", details$message, collapse = "") else ""
  fail(paste0(answer$error$message, lines), if (status == 422) 1 else 3)
}


# ------------------------------------------------------------------ predict(data), como en la diapositiva

# Una paciente (lista con nombre: las variables de la ficha) → list(prediction, label, probability,
# model_version). Lo que no valga lo dice la API (422) en español. Ojo: tras source(), este `predict`
# tapa a `stats::predict` en la sesión; para un modelo de R, llama a `stats::predict(modelo, …)`.
predict <- function(data) {
  call_api("/v1/predict", as.list(data))
}

# Las variables que espera el modelo, de su ficha pública (GET /v1/model): nada escrito a mano.
model_features <- function() {
  call_api("/v1/model")$features$name
}

# «instances[3].Glucose» del lote que empieza en la fila `start` → «Fila 5, Glucose» del CSV (la 1 es la cabecera).
csv_rows <- function(text, start) {
  found <- gregexpr("instances\\[[0-9]+\\]\\.", text)
  regmatches(text, found) <- lapply(regmatches(text, found), function(items) {
    sprintf("Fila %d, ", start + as.integer(gsub("[^0-9]", "", items)) + 1)
  })
  text
}

# Los textos del CSV → números: «85,5» y «85.5» son 85.5; lo que no es una cifra así, NA.
read_numbers <- function(text) {
  text <- trimws(text)
  ok <- grepl(DECIMAL, text)
  numbers <- rep(NA_real_, length(text))
  numbers[ok] <- as.numeric(sub(",", ".", text[ok], fixed = TRUE))
  numbers
}

# Cada fila con tantos valores como columnas la cabecera: read.csv, si no, desplaza las columnas sin
# avisar (una coma decimal sin comillas, «85,5», parte la cifra en dos valores).
check_fields <- function(path) {
  counts <- tryCatch(count.fields(path, sep = ",", quote = "\"", comment.char = "", blank.lines.skip = TRUE),
                     error = function(e) integer())
  extra <- which(counts > counts[1])
  if (length(extra)) {
    fail(sprintf("Fila %d de «%s»: tiene más valores que columnas la cabecera. ¿Una coma decimal sin comillas? %s%s.",
                 extra[1], path, "En un CSV separado por comas, ", CSV_COMMA), 1)
  }
}

# Un CSV con las columnas de la ficha (se admiten columnas de más, como «paciente», que se copian tal
# cual) → otro CSV con las mismas columnas más prediction, label, probability y model_version.
# Los rangos y el «0 = no medido» los comprueba la API; aquí solo se comprueba que cada valor es una cifra.
predict_csv <- function(path, output = NULL, batch_size = BATCH_SIZE) {
  if (!file.exists(path)) fail(sprintf("No existe el archivo «%s».", path), 1)
  check_fields(path)
  # Todo como texto: las columnas se copian sin cambiar una coma.
  rows <- tryCatch(read.csv(path, check.names = FALSE, colClasses = "character", na.strings = character(),
                            fileEncoding = "UTF-8-BOM"),
                   error = function(e) fail(sprintf("«%s» no es un CSV que se pueda leer (%s).", path,
                                                    conditionMessage(e)), 1))
  features <- model_features()
  missing <- setdiff(features, names(rows))
  if (length(missing) && ncol(rows) == 1 && grepl(";", names(rows)[1], fixed = TRUE)) {
    fail(sprintf(paste("«%s» separa las columnas con «;»: este cliente lee CSV separados por comas (guárdalo",
                       "como «CSV UTF-8» con la coma como separador; %s)."), path, CSV_COMMA), 1)
  }
  if (length(missing)) {
    fail(sprintf("A «%s» le faltan las columnas: %s. La primera fila debe nombrar estas columnas: %s.",
                 path, paste(missing, collapse = ", "), paste(features, collapse = ",")), 1)
  }
  if (nrow(rows) == 0) fail(sprintf("«%s» no tiene pacientes: solo la fila de cabecera.", path), 1)
  values <- rows[features]
  for (name in features) {
    numbers <- read_numbers(values[[name]])
    bad <- which(!is.finite(numbers))
    if (length(bad)) {
      fail(sprintf("Fila %d de «%s»: «%s» no es un número válido para %s: escribe una cifra %s (%s).",
                   bad[1] + 1, path, values[[name]][bad[1]], name, DECIMAL_FORMAT, CSV_COMMA), 1)
    }
    values[[name]] <- numbers
  }
  results <- list()
  version <- NULL
  for (start in seq(1, nrow(values), by = batch_size)) {
    part <- values[start:min(start + batch_size - 1, nrow(values)), , drop = FALSE]
    answer <- tryCatch(call_api("/v1/predict", list(instances = part)), client_error = function(e) {
      e$message <- csv_rows(e$message, start)
      stop(e)
    })
    results[[length(results) + 1]] <- answer$predictions[, c("prediction", "label", "probability")]
    version <- answer$model_version
  }
  out <- cbind(rows, do.call(rbind, results), model_version = version, stringsAsFactors = FALSE)
  if (is.null(output)) output <- sub("(\\.csv)?$", "-predicciones.csv", path, ignore.case = TRUE)
  write_csv(out, output)
  invisible(list(rows = out, file = output, model_version = version))
}

# Un CSV en UTF-8 con comillas solo donde hacen falta (como el módulo csv de Python).
write_csv <- function(table, output) {
  field <- function(x) {
    x <- as.character(x)
    quoted <- grepl("[\",\r\n]", x)
    x[quoted] <- paste0("\"", gsub("\"", "\"\"", x[quoted]), "\"")
    x
  }
  lines <- c(paste(field(names(table)), collapse = ","), do.call(paste, c(lapply(table, field), sep = ",")))
  connection <- file(output, open = "w", encoding = "UTF-8")
  on.exit(close(connection))
  writeLines(lines, connection)
}


# ------------------------------------------------------------------ Salida en español

# 0.709398 → «70,9 %».
percent <- function(probability) {
  paste(formatC(probability * 100, format = "f", digits = 1, decimal.mark = ","), "%")
}

# 0.709398 → «0,709398» (los 6 decimales que da la API).
decimal <- function(probability) formatC(probability, format = "f", digits = 6, decimal.mark = ",")

say <- function(...) cat(..., "\n", sep = "")

show_one <- function(result) {
  say("Resultado: ", result$label)
  say("Probabilidad de diabetes: ", percent(result$probability), " (", decimal(result$probability), ")")
  say("Modelo: ", result$model_version)
}

show_csv <- function(done) {
  rows <- done$rows
  who <- if ("paciente" %in% names(rows)) rows$paciente else paste("Fila", seq_len(nrow(rows)) + 1)
  shown <- head(seq_len(nrow(rows)), 20)
  for (i in shown) {
    say("  ", formatC(who[i], width = -max(nchar(who[shown]))), "  ", formatC(rows$label[i], width = -26),
        " ", formatC(percent(rows$probability[i]), width = 7))
  }
  if (nrow(rows) > length(shown)) say("  … y ", nrow(rows) - length(shown), " más.")
  say(nrow(rows), " predicciones escritas en «", done$file, "» (modelo ", done$model_version, ").")
}


# ------------------------------------------------------------------ Línea de órdenes

USAGE <- paste0("Uso: Rscript mobile_client/cliente.R [pacientes.csv [salida.csv]]  (API_URL, API_KEY: ver la ",
                "cabecera)\nEl CSV, en UTF-8 y separado por comas: cifras ", DECIMAL_FORMAT, "; en él, ", CSV_COMMA, ".")

main <- function(args = commandArgs(trailingOnly = TRUE)) {
  if (length(args) && args[1] %in% c("-h", "--help", "--ayuda")) {
    say(USAGE)
    return(0)
  }
  if (length(args) > 2 || any(startsWith(args, "-"))) {
    message(USAGE)
    return(2)
  }
  outcome <- tryCatch({
    if (length(args) == 0) {
      say("Paciente de ejemplo → ", api_url())
      show_one(predict(example_patient))
    } else {
      say("Pacientes de «", args[1], "» → ", api_url())
      show_csv(predict_csv(args[1], if (length(args) == 2) args[2] else NULL))
    }
    0
  }, client_error = function(e) {
    message("Error: ", conditionMessage(e))
    e$status
  })
  outcome
}

if (run_as_script) {
  if (!isTRUE(l10n_info()[["UTF-8"]])) invisible(Sys.setlocale("LC_CTYPE", "C.UTF-8"))  # tildes y «»
  quit(save = "no", status = main())
}
