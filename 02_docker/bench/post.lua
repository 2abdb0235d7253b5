-- Script de wrk para el benchmark del taller (lo usa 02_docker/bench/load.py).
--
-- Variables de entorno:
--   BENCH_BODIES   archivo con un cuerpo JSON por línea; sin ella, peticiones GET.
--   BENCH_THREADS  número de hilos de wrk (-t): cada hilo recorre su parte de los cuerpos,
--                  así dos hilos nunca envían el mismo paciente (fallo de caché de verdad).
--   BENCH_OFFSET   por qué cuerpo empezar (0): la segunda medida de un mismo servidor sigue
--                  donde acabó la primera, con pacientes que aún no ha visto.
--   BENCH_API_KEY  si no está vacía, cada petición lleva «Authorization: Bearer <clave>».
--   BENCH_TIMING   1: además, la latencia de las respuestas 2xx por separado. wrk mide la de
--                  todas juntas (también las 503) y no da a Lua ni la conexión ni el tiempo de
--                  cada respuesta; así que cada petición lleva la hora de envío (reloj monótono,
--                  en µs) en X-Request-ID, la API la devuelve en la respuesta y response() resta.
--                  Se guardan, tal cual (sin la corrección que wrk aplica a sus percentiles, ver
--                  done()), el histograma de las 2xx y el de todas.
--                  Y cuenta las peticiones sin respuesta: las enviadas hace más de BENCH_STALE_US (2 s)
--                  que al terminar seguían sin contestar (wrk no las cuenta: una conexión que el servidor
--                  nunca acepta no da error ni «timeout» en wrk).
--   BENCH_STEADY_AFTER_US  con BENCH_TIMING, además el de las 2xx enviadas pasados estos µs (0: no):
--                  con cientos de conexiones nuevas a la vez, las últimas que el servidor acepta
--                  esperan su primera respuesta mucho más que el resto (README).
-- Al terminar imprime una línea «BENCH_JSON {...}» con los percentiles y los recuentos:
-- es más robusto que leer el texto de wrk.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local prepared, tails = {}, {}  -- con BENCH_TIMING, cada petición va en dos trozos: antes y después de la hora
local stride = 1
local clock = nil
local TIMING_MARK = "@@hora@@"
local BUCKETS_PER_E = 200  -- histogramas: cubetas logarítmicas de un 0,5 % de ancho
local started, steady_after = 0, 0
position = 0  -- globales: done() lee las de cada hilo
statuses = {}
ok_latency, all_latency, steady_latency = {}, {}, {}
local verified = false
pending = {}  -- con BENCH_TIMING: hora de envío (texto, µs) → peticiones enviadas a esa hora aún sin respuesta

local function monotonic_clock()
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec *now);
  ]]
  local now, id = ffi.new("bench_timespec"), (ffi.os == "OSX") and 6 or 1  -- CLOCK_MONOTONIC
  return function()
    ffi.C.clock_gettime(id, now)
    return tonumber(now.tv_sec) * 1e6 + tonumber(now.tv_nsec) / 1e3
  end
end

local function prepare(method, headers, body)
  local text = wrk.format(method, nil, headers, body)
  if clock ~= nil then
    local first, last = text:find(TIMING_MARK, 1, true)
    tails[#prepared + 1] = text:sub(last + 1)
    text = text:sub(1, first - 1)
  end
  prepared[#prepared + 1] = text
end

function init(args)
  ok, bad, hits, misses, retry = 0, 0, 0, 0, 0
  local headers = {}
  local key = os.getenv("BENCH_API_KEY") or ""
  if key ~= "" then headers["Authorization"] = "Bearer " .. key end
  if os.getenv("BENCH_TIMING") == "1" then
    clock = monotonic_clock()
    started = clock()
    steady_after = tonumber(os.getenv("BENCH_STEADY_AFTER_US") or "0") or 0
    headers["X-Request-ID"] = TIMING_MARK
  end
  local path = os.getenv("BENCH_BODIES")
  if path == nil or path == "" then
    prepare("GET", headers)
    return
  end
  headers["Content-Type"] = "application/json"
  for line in io.lines(path) do
    if #line > 0 then
      prepare("POST", headers, line)
    end
  end
  stride = tonumber(os.getenv("BENCH_THREADS") or "1")
  position = tonumber(os.getenv("BENCH_OFFSET") or "0") + id
end

function request()
  local index = position % #prepared + 1
  position = position + stride
  if clock == nil then return prepared[index] end
  local sent = string.format("%.0f", clock())
  if id == 0 and not verified then
    verified = true  -- wrk llama una vez a request() en el primer hilo para contar su tubería: no se envía
  else
    pending[sent] = (pending[sent] or 0) + 1
  end
  return prepared[index] .. "t" .. sent .. tails[index]
end

local function record_latency(headers, success)
  local text = (headers["X-Request-ID"] or headers["x-request-id"] or ""):match("^t(%d+)$")
  local sent = tonumber(text)
  if sent == nil then return end
  if pending[text] then pending[text] = (pending[text] > 1) and pending[text] - 1 or nil end
  local bucket = math.floor(math.log(math.max(clock() - sent, 1)) * BUCKETS_PER_E)
  all_latency[bucket] = (all_latency[bucket] or 0) + 1
  if not success then return end
  ok_latency[bucket] = (ok_latency[bucket] or 0) + 1
  if steady_after > 0 and sent - started > steady_after then steady_latency[bucket] = (steady_latency[bucket] or 0) + 1 end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local success = status >= 200 and status < 300
  if success then ok = ok + 1 else bad = bad + 1 end
  if status == 503 and (headers["Retry-After"] or headers["retry-after"]) then retry = retry + 1 end
  if clock ~= nil then record_latency(headers, success) end
  local cache = headers["X-Cache"] or headers["x-cache"]
  if cache == "HIT" then hits = hits + 1 elseif cache == "MISS" then misses = misses + 1 end
end

local function total(name)
  local sum = 0
  for _, thread in ipairs(threads) do sum = sum + (thread:get(name) or 0) end
  return sum
end

-- Los hilos no avanzan al mismo ritmo: la siguiente medida debe empezar después del cuerpo
-- más alto que haya usado cualquiera de ellos (no en «offset + peticiones»).
local function highest(name)
  local top = 0
  for _, thread in ipairs(threads) do top = math.max(top, thread:get(name) or 0) end
  return top
end

-- Las tablas de todos los hilos, sumadas por clave.
local function merged(name)
  local sum = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get(name) or {}) do sum[key] = (sum[key] or 0) + count end
  end
  return sum
end

local function json_counts(counts)
  local keys, parts = {}, {}
  for key in pairs(counts) do keys[#keys + 1] = key end
  table.sort(keys)
  for _, key in ipairs(keys) do parts[#parts + 1] = string.format('"%d": %d', key, counts[key]) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

-- p50, p99 y máximo (µs) de un histograma de post.lua, con el borde superior de cada cubeta; null sin datos.
local function percentiles(name)
  local counts = merged(name)
  local keys, count = {}, 0
  for key, n in pairs(counts) do keys[#keys + 1] = key; count = count + n end
  if count == 0 then return "null" end
  table.sort(keys)
  local edge = function(key) return math.exp((key + 1) / BUCKETS_PER_E) end
  local function at(q)
    local seen = 0
    for _, key in ipairs(keys) do
      seen = seen + counts[key]
      if seen >= q * count then return edge(key) end
    end
    return edge(keys[#keys])
  end
  return string.format('{"count": %d, "p50": %.0f, "p99": %.0f, "max": %.0f}',
    count, at(0.50), at(0.99), edge(keys[#keys]))
end

-- Los percentiles de wrk (latency) llevan su corrección de la «omisión coordinada»: por cada
-- respuesta más lenta que el doble del intervalo medio entre peticiones de una conexión, wrk
-- añade muestras ficticias (las que habría medido un cliente que no espera). Suben la cola: su
-- p99 es mayor que el de las respuestas tal cual (los de percentiles()).
-- Las peticiones enviadas hace más de BENCH_STALE_US que seguían sin respuesta al terminar (con BENCH_TIMING).
local function unanswered()
  if os.getenv("BENCH_TIMING") ~= "1" then return 0 end
  local stale = monotonic_clock()() - (tonumber(os.getenv("BENCH_STALE_US") or "2000000") or 2000000)
  local count = 0
  for sent, n in pairs(merged("pending")) do
    if tonumber(sent) < stale then count = count + n end
  end
  return count
end

function done(summary, latency, requests)
  local e = summary.errors
  local p = function(q) return latency:percentile(q) end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d}, ' ..
    '"responses": {"ok": %d, "bad": %d, "cache_hit": %d, "cache_miss": %d, "retry_after_503": %d}, ' ..
    '"next_offset": %d, ' ..
    '"statuses": %s, "ok_latency_us": %s, "all_latency_us": %s, "steady_ok_latency_us": %s, "unanswered": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, p(50), p(90), p(95), p(99),
    total("ok"), total("bad"), total("hits"), total("misses"), total("retry"), highest("position"),
    json_counts(merged("statuses")), percentiles("ok_latency"), percentiles("all_latency"),
    percentiles("steady_latency"), unanswered()))
end
