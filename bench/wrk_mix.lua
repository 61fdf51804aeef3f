-- wrk script for bench/callback.py (run with -t1): sends pre-built signed callbacks, records
-- every response for the bench to check, and stops once each request it sent is answered.
--
--   wrk -t1 -cN -dCAP -s bench/wrk_mix.lua URL -- REQUESTS OUT MODE TOTAL [RATE]
--
-- REQUESTS: one request a line, "target<TAB>body". TOTAL requests are sent, in file order,
-- cycling when TOTAL exceeds the file (only the bare handler is given that: the pipeline
-- de-duplicates). MODE "closed": each connection sends its next request as soon as it has
-- an answer. MODE "rate": requests go out on a fixed schedule of RATE per second (wrk2's
-- constant rate, which Debian lacks): delay() hands each request the next slot of one
-- schedule, so the rate does not depend on latency while a connection is free; a slot
-- that could only be served late (every connection busy) is counted as late.
-- OUT gets "status length\nbody\n" per response. done() prints one "BENCH ..." line.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
  int getpid(void);
  int kill(int pid, int sig);
]]
local CLOCK_MONOTONIC, SIGINT = 1, 2
local ts = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- Globals, so that done() can read them with thread:get().
sent, answered, late_slots, first_ms, last_ms = 0, 0, 0, 0, 0

local requests = {}
local out, total, interval, next_slot
local reserved = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local mode = args[3]
  total = tonumber(args[4])
  if mode == "rate" then
    interval = 1000 / tonumber(args[5])
  end
  for line in io.lines(args[1]) do
    local target, body = line:match("^([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", target, { ["Content-Type"] = "text/xml" }, body)
  end
  out = assert(io.open(args[2], "wb"))
end

function delay()
  if reserved >= total then
    return 3600000 -- nothing left to send: idle until the last answers are in
  end
  reserved = reserved + 1
  if not interval then
    return 0
  end
  local now = now_ms()
  next_slot = next_slot or now
  local slot = next_slot
  next_slot = next_slot + interval
  if slot <= now then
    if now - slot > 10 then
      late_slots = late_slots + 1
    end
    return 0
  end
  return math.floor(slot - now + 0.5)
end

function request()
  if reserved == 0 then
    return requests[1] -- wrk's check of the script before the run: not a request
  end
  sent = sent + 1
  if sent == 1 then
    first_ms = now_ms()
  end
  return requests[(sent - 1) % #requests + 1]
end

function response(status, headers, body)
  answered = answered + 1
  last_ms = now_ms()
  out:write(status, " ", #body, "\n", body, "\n")
  if answered >= total then
    out:close()
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), SIGINT) -- wakes wrk's main thread from its duration sleep
  end
end

function done(summary, latency, requests)
  local t = threads[1]
  local e = summary.errors
  io.write(string.format(
    "BENCH sent=%d answered=%d seconds=%.4f late_slots=%d connect=%d read=%d write=%d " ..
    "status=%d timeout=%d p50=%d p90=%d p99=%d p999=%d max=%d\n",
    t:get("sent"), t:get("answered"), (t:get("last_ms") - t:get("first_ms")) / 1000,
    t:get("late_slots"), e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
