/**
 * The four rate-limit algorithms as one Redis Lua script: a line-by-line mirror of
 * `rateLimitAlgorithms.ts` (token bucket, fixed window, GCRA) and `rateLimitSlidingLog.ts`
 * (exact sliding window), so one decision is one atomic `EVALSHA` round trip.
 *
 * **Why it is exact.** Lua 5.1 numbers are IEEE doubles, like JavaScript's, and every quantity
 * is an integer below 2^53 (rule validation guarantees it), so `+ - *`, `math.floor` and
 * `math.ceil(x / y)` give the same results on both sides. Two traps are avoided explicitly:
 * Redis turns a Lua number passed to `redis.call` into a string with `%.14g` (it would round
 * a 15-digit integer), so every stored number goes through `fmt` (`%.17g`); and a Lua number
 * returned to Redis is truncated to an integer, so "never" (`Infinity` in JS) is returned as -1.
 *
 * **Clock.** `now` is Redis's `TIME` (seconds and microseconds, floored to whole ms), so every
 * process and host decides on one clock whatever its own says. ARGV[7] can carry a caller's
 * time instead; only the shared test vectors use it (to drive Redis with `TestClock` time).
 *
 * **Key layout.** Pair algorithms: one string `"<a> <b>"` per key (the pair state of the
 * memory store). Sliding window: a sorted set per key, member `"<time>:<cost>"`, score = time
 * (admissions in the same ms share one member, as in the memory log). Every write sets the TTL
 * to the time until the key is back to "as if never seen" (`resetAfter`, at least 1 ms), so an
 * idle key vanishes exactly when forgetting it changes no decision.
 *
 * ARGV: 1 algorithm (t = token bucket, f = fixed window, g = gcra, s = sliding window),
 * 2 limit, 3 windowMillis, 4 burst, 5 cost, 6 maxWait (-1 = unbounded), 7 now ("" = Redis
 * TIME), 8 operation ("take" uses the allowance, "peek" only reads it).
 *
 * Returns `{ admitted (1/0), wait (-1 = never), remaining, resetAfter, now }`: on admission
 * `remaining`/`resetAfter` are read at `now + wait` (when the caller runs, as the memory store
 * does after its sleep), on rejection at `now` on the unchanged state.
 */
import { Redis } from "effect/persistence"

/** The reply of one decision. */
export type Reply = readonly [admitted: number, wait: number, remaining: number, resetAfter: number, now: number]

export const lua = `
local key = KEYS[1]
local alg = ARGV[1]
local limit = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local maxWait = tonumber(ARGV[6])
local now
-- TTLs are exact with Redis time; with a caller's (test) clock, real time may run ahead of it
local grace = 0
if ARGV[7] ~= "" then
  now = tonumber(ARGV[7])
  grace = 60000
else
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local take = ARGV[8] == "take"
local INF = -1

local function fmt(n) return string.format("%.17g", n) end
local function max(x, y) if x > y then return x end return y end
local function fits(wait) return wait ~= INF and (maxWait < 0 or wait <= maxWait) end

if alg == "s" then
  -- exact sliding window over a log of (time, cost), oldest first
  local members = redis.call("ZRANGE", key, 0, -1)
  local times, costs = {}, {}
  for i = 1, #members do
    local t, c = string.match(members[i], "^(%-?%d+):(%d+)$")
    times[i] = tonumber(t)
    costs[i] = tonumber(c)
  end
  local n = #times
  local function lastTime() if n > 0 then return times[n] end return nil end
  -- total cost admitted in (at - win, at]
  local function liveSum(at)
    local sum = 0
    for i = 1, n do if times[i] > at - win then sum = sum + costs[i] end end
    return sum
  end
  local function delay()
    if cost > limit then return INF end
    if n == 0 then return 0 end
    local at = max(now, times[n])
    local horizon = at - win
    local i = 1
    while i <= n and times[i] <= horizon do i = i + 1 end
    local sum = 0
    for j = i, n do sum = sum + costs[j] end
    if sum + cost <= limit then return at - now end
    local excess = sum + cost - limit
    for j = i, n do
      excess = excess - costs[j]
      if excess <= 0 then return times[j] + win - now end
    end
    return INF
  end
  local function remaining(at)
    if n == 0 then return limit end
    return limit - liveSum(max(at, times[n]))
  end
  local function resetAfter(at)
    if n == 0 then return 0 end
    return max(0, times[n] + win - at)
  end
  if not take then return { 0, 0, remaining(now), resetAfter(now), now } end
  local wait = delay()
  if not fits(wait) then return { 0, wait, remaining(now), resetAfter(now), now } end
  local time = now + wait
  if n > 0 then time = max(time, times[n]) end
  redis.call("ZREMRANGEBYSCORE", key, "-inf", fmt(time - win))
  local merged = cost
  if n > 0 and times[n] == time then
    redis.call("ZREM", key, members[n])
    merged = costs[n] + cost
  end
  redis.call("ZADD", key, fmt(time), fmt(time) .. ":" .. fmt(merged))
  redis.call("PEXPIRE", key, fmt(max(1, time + win - now) + grace))
  -- the log as it is now, for remaining/resetAfter
  local kept_t, kept_c = {}, {}
  for i = 1, n do
    if times[i] > time - win and times[i] ~= time then
      kept_t[#kept_t + 1] = times[i]
      kept_c[#kept_c + 1] = costs[i]
    end
  end
  kept_t[#kept_t + 1] = time
  kept_c[#kept_c + 1] = merged
  times, costs, n = kept_t, kept_c, #kept_t
  local at = now + wait
  return { 1, wait, remaining(at), resetAfter(at), now }
end

-- pair algorithms: state (a, b), see rateLimitAlgorithms.ts
local a, b
local stored = redis.call("GET", key)
if stored then
  local sa, sb = string.match(stored, "^(%-?%d+) (%-?%d+)$")
  a = tonumber(sa)
  b = tonumber(sb)
end

local initial, delay, admit, remaining, resetAfter

if alg == "t" then
  -- token bucket: one token = win units; refills limit units per ms; a = level at time b
  local full = burst * win
  local function level(at)
    if at <= b then return a end
    local l = a + (at - b) * limit
    if l >= full then return full end
    return l
  end
  initial = function() a = full; b = now end
  delay = function()
    local need = cost * win
    if need > full then return INF end
    local at = max(now, b)
    local l = level(at)
    if l >= need then return at - now end
    return at - now + math.ceil((need - l) / limit)
  end
  admit = function(at)
    local time = max(at, b)
    a = level(time) - cost * win
    b = time
  end
  remaining = function(at) return math.floor(level(max(at, b)) / win) end
  resetAfter = function(at)
    local t = max(at, b)
    return t - at + math.ceil((full - level(t)) / limit)
  end
elseif alg == "g" then
  -- GCRA: theoretical arrival time = a ms + b units of 1/limit ms
  local tolerance = burst * win
  local function ahead(at)
    local x = (a - at) * limit + b
    if x > 0 then return x end
    return 0
  end
  initial = function() a = now; b = 0 end
  delay = function()
    local increment = cost * win
    if increment > tolerance then return INF end
    local over = ahead(now) + increment - tolerance
    if over <= 0 then return 0 end
    return math.ceil(over / limit)
  end
  admit = function(at)
    local x = ahead(at) + cost * win
    local whole = math.floor(x / limit)
    a = at + whole
    b = x - whole * limit
  end
  remaining = function(at)
    local left = tolerance - ahead(at)
    if left > 0 then return math.floor(left / win) end
    return 0
  end
  resetAfter = function(at) return math.ceil(ahead(at) / limit) end
else
  -- fixed window aligned to multiples of win since the epoch: a = window start, b = count
  local function start(at) return at - (at % win) end
  initial = function() a = start(now); b = 0 end
  delay = function()
    if cost > limit then return INF end
    local at = max(now, a)
    local s = start(at)
    local count = 0
    if s == a then count = b end
    if count + cost <= limit then return at - now end
    return s + win - now
  end
  admit = function(at)
    local time = max(at, a)
    local s = start(time)
    local count = 0
    if s == a then count = b end
    a = s
    b = count + cost
  end
  remaining = function(at)
    local t = max(at, a)
    if start(t) == a then return limit - b end
    return limit
  end
  resetAfter = function(at)
    local t = max(at, a)
    local s = start(t)
    if s == a and b > 0 then return s + win - at end
    return 0
  end
end

if a == nil then initial() end
if not take then return { 0, 0, max(0, remaining(now)), resetAfter(now), now } end
local wait = delay()
if not fits(wait) then return { 0, wait, max(0, remaining(now)), resetAfter(now), now } end
admit(now + wait)
redis.call("SET", key, fmt(a) .. " " .. fmt(b), "PX", fmt(max(1, resetAfter(now)) + grace))
return { 1, wait, max(0, remaining(now + wait)), resetAfter(now + wait), now }
`

/** Algorithm codes of ARGV[1]. */
export const algorithmCode = {
  "token-bucket": "t",
  "fixed-window": "f",
  gcra: "g",
  "sliding-window": "s"
} as const

/**
 * The script descriptor for effect's `Redis.eval` (which loads it once with `SCRIPT LOAD`,
 * calls it by SHA and reloads it after `NOSCRIPT`).
 */
export const script = Redis.script(
  (
    key: string,
    algorithm: string,
    limit: number,
    windowMillis: number,
    burst: number,
    cost: number,
    maxWait: number,
    now: string,
    operation: "take" | "peek"
  ) => [key, algorithm, limit, windowMillis, burst, cost, maxWait, now, operation],
  { lua, numberOfKeys: 1 }
).withReturnType<Reply>()
