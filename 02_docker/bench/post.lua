-- Script de wrk para el benchmark del taller (lo usa 02_docker/bench/load.py).
--
-- Variables de entorno:
--   BENCH_BODIES   archivo con un cuerpo JSON por línea; sin ella, peticiones GET.
--   BENCH_THREADS  número de hilos de wrk (-t): cada hilo recorre su parte de los cuerpos,
--                  así dos hilos nunca envían el mismo paciente (caché fallada de verdad).
--   BENCH_OFFSET   por qué cuerpo empezar (0): la segunda medida de un mismo servidor sigue
--                  donde acabó la primera, con pacientes que aún no ha visto.
-- Al terminar imprime una línea «BENCH_JSON {...}» con los percentiles y los recuentos:
-- es más robusto que leer el texto de wrk.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local prepared = {}
local stride = 1
position = 0  -- global: done() lee la de cada hilo

function init(args)
  ok, bad, hits, misses = 0, 0, 0, 0
  local path = os.getenv("BENCH_BODIES")
  if path == nil or path == "" then
    prepared[1] = wrk.format("GET")
    return
  end
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(path) do
    if #line > 0 then
      prepared[#prepared + 1] = wrk.format("POST", nil, headers, line)
    end
  end
  stride = tonumber(os.getenv("BENCH_THREADS") or "1")
  position = tonumber(os.getenv("BENCH_OFFSET") or "0") + id
end

function request()
  local index = position % #prepared + 1
  position = position + stride
  return prepared[index]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
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

function done(summary, latency, requests)
  local e = summary.errors
  local p = function(q) return latency:percentile(q) end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d}, ' ..
    '"responses": {"ok": %d, "bad": %d, "cache_hit": %d, "cache_miss": %d}, "next_offset": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, p(50), p(90), p(95), p(99),
    total("ok"), total("bad"), total("hits"), total("misses"), highest("position")))
end
