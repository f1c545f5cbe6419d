/**
 * The four rate-limit algorithms as one Redis Lua script: a line-by-line mirror of
 * `rateLimitAlgorithms.ts` (token bucket, fixed window, GCRA) and `rateLimitSlidingLog.ts`
 * (exact sliding window), so one decision is one atomic `EVALSHA` round trip.
 *
 * **Why it is exact.** Lua 5.1 numbers are IEEE doubles, like JavaScript's, and every quantity
 * is an integer below 2^53 (rule validation guarantees it), so `+ - *`, `math.floor` and
 * `math.ceil(x / y)` give the same results on both sides. Two traps are avoided explicitly:
 * Redis turns a Lua number passed to `redis.call` into a string with `%.14g` (it would round
 * a 15-digit integer), so every stored number goes through `string.format("%d")` (a 64-bit
 * integer conversion in Redis's Lua: exact for these integers, and cheaper than `%.17g`); and a Lua number
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
 * does after its sleep), on rejection at `now` on the unchanged state (`resetAfter` is then 0:
 * unused).
 *
 * **Speed.** The script is straight-line code per algorithm, without local functions: Lua
 * creates a closure per function per call, and a first version written with one function per
 * algorithm step cost about 1.6x the Redis time of this one.
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
local take = ARGV[8] == "take"
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
-- straight-line code, no closures: this runs inside Redis's single thread on every decision

if alg == "s" then
  -- exact sliding window over a log of (time, cost), oldest first (rateLimitSlidingLog.ts)
  local members = redis.call("ZRANGE", key, 0, -1)
  local n = #members
  local times, costs = {}, {}
  for i = 1, n do
    local m = members[i]
    local c = string.find(m, ":", 1, true)
    times[i] = tonumber(string.sub(m, 1, c - 1))
    costs[i] = tonumber(string.sub(m, c + 1))
  end
  -- the live sum at max(now, last): callers already waiting hold slots up to the last entry
  local at = now
  if n > 0 and times[n] > at then at = times[n] end
  local first = 1
  while first <= n and times[first] <= at - win do first = first + 1 end
  local sum = 0
  for i = first, n do sum = sum + costs[i] end
  if not take then
    local reset = 0
    if n > 0 and times[n] + win - now > 0 then reset = times[n] + win - now end
    return { 0, 0, limit - sum, reset, now }
  end
  local wait = -1
  if cost <= limit then
    if sum + cost <= limit then
      wait = at - now
    else
      local excess = sum + cost - limit
      for i = first, n do
        excess = excess - costs[i]
        if excess <= 0 then
          wait = times[i] + win - now
          break
        end
      end
    end
  end
  if wait < 0 or (maxWait >= 0 and wait > maxWait) then return { 0, wait, limit - sum, 0, now } end
  local time = now + wait
  if n > 0 and times[n] > time then time = times[n] end
  redis.call("ZREMRANGEBYSCORE", key, "-inf", string.format("%d", time - win))
  local merged = cost
  if n > 0 and times[n] == time then
    redis.call("ZREM", key, members[n])
    merged = costs[n] + cost
  end
  local stamp = string.format("%d", time)
  redis.call("ZADD", key, stamp, stamp .. ":" .. string.format("%d", merged))
  redis.call("PEXPIRE", key, string.format("%d", time + win - now + grace))
  -- what is live at time (>= now + wait) after this admission
  local live = cost
  for i = 1, n do
    if times[i] > time - win then live = live + costs[i] end
  end
  return { 1, wait, limit - live, time + win - now - wait, now }
end

-- pair algorithms: state (a, b) as in rateLimitAlgorithms.ts, stored as "a b"
local a, b
local stored = redis.call("GET", key)
if stored then
  local c = string.find(stored, " ", 1, true)
  a = tonumber(string.sub(stored, 1, c - 1))
  b = tonumber(string.sub(stored, c + 1))
end

if alg == "t" then
  -- token bucket: one token = win units; refills limit units per ms; a = level at time b
  local full = burst * win
  if a == nil then
    a = full
    b = now
  end
  local at = now
  if b > at then at = b end
  local level = a
  if at > b then
    level = a + (at - b) * limit
    if level > full then level = full end
  end
  if not take then
    return { 0, 0, math.floor(level / win), at - now + math.ceil((full - level) / limit), now }
  end
  local need = cost * win
  local wait = -1
  if need <= full then
    if level >= need then wait = at - now else wait = at - now + math.ceil((need - level) / limit) end
  end
  if wait < 0 or (maxWait >= 0 and wait > maxWait) then
    return { 0, wait, math.floor(level / win), 0, now }
  end
  local time = now + wait
  if b > time then time = b end
  level = a
  if time > b then
    level = a + (time - b) * limit
    if level > full then level = full end
  end
  a = level - need
  b = time
  local refill = math.ceil((full - a) / limit)
  redis.call("SET", key, string.format("%d %d", a, b), "PX", string.format("%d", b - now + refill + grace))
  local remaining = math.floor(a / win)
  if remaining < 0 then remaining = 0 end
  return { 1, wait, remaining, b - now - wait + refill, now }
end

if alg == "g" then
  -- GCRA: theoretical arrival time = a ms + b units of 1/limit ms
  local tolerance = burst * win
  if a == nil then
    a = now
    b = 0
  end
  local ahead = (a - now) * limit + b
  if ahead < 0 then ahead = 0 end
  if not take then
    local left = tolerance - ahead
    local remaining = 0
    if left > 0 then remaining = math.floor(left / win) end
    return { 0, 0, remaining, math.ceil(ahead / limit), now }
  end
  local increment = cost * win
  local wait = -1
  if increment <= tolerance then
    local over = ahead + increment - tolerance
    if over <= 0 then wait = 0 else wait = math.ceil(over / limit) end
  end
  if wait < 0 or (maxWait >= 0 and wait > maxWait) then
    local left = tolerance - ahead
    local remaining = 0
    if left > 0 then remaining = math.floor(left / win) end
    return { 0, wait, remaining, 0, now }
  end
  local x = now + wait
  local next = (a - x) * limit + b
  if next < 0 then next = 0 end
  next = next + increment
  local whole = math.floor(next / limit)
  a = x + whole
  b = next - whole * limit
  -- TAT - now in units is next + wait * limit; TAT - (now + wait) is next
  redis.call("SET", key, string.format("%d %d", a, b), "PX", string.format("%d", math.ceil((next + wait * limit) / limit) + grace))
  local left = tolerance - next
  local remaining = 0
  if left > 0 then remaining = math.floor(left / win) end
  return { 1, wait, remaining, math.ceil(next / limit), now }
end

-- fixed window aligned to multiples of win since the epoch: a = window start, b = count
if a == nil then
  a = now - (now % win)
  b = 0
end
local at = now
if a > at then at = a end
local start = at - (at % win)
local count = 0
if start == a then count = b end
if not take then
  local reset = 0
  if start == a and b > 0 then reset = start + win - now end
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return { 0, 0, remaining, reset, now }
end
local wait = -1
if cost <= limit then
  if count + cost <= limit then wait = at - now else wait = start + win - now end
end
if wait < 0 or (maxWait >= 0 and wait > maxWait) then
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return { 0, wait, remaining, 0, now }
end
local time = now + wait
if a > time then time = a end
local s = time - (time % win)
if s == a then b = b + cost else b = cost end
a = s
-- the new count belongs to the window [a, a + win), which contains now + wait
redis.call("SET", key, string.format("%d %d", a, b), "PX", string.format("%d", a + win - now + grace))
local remaining = limit - b
if remaining < 0 then remaining = 0 end
return { 1, wait, remaining, a + win - now - wait, now }
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
