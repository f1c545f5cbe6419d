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
 * KEYS: 1 the key's state, 2 its block (the instant it ends, "-1" for no end, with a TTL).
 * ARGV: 1 algorithm (t = token bucket, f = fixed window, g = gcra, s = sliding window),
 * 2 limit, 3 windowMillis, 4 burst, 5 cost, 6 maxWait (-1 = unbounded), 7 now ("" = Redis
 * TIME), 8 operation ("take" uses the allowance, "peek" only reads it, "adjust" uses `cost`
 * whether it fits or not, or gives `-cost` back when negative, "block" blocks the key for
 * `cost` ms, -1 for no end), 9 the rule's blockDuration in ms (0: none).
 *
 * Returns `{ admitted (1/0), wait (-1 = never), remaining, resetAfter (peek: -1 = never),
 * now, blockedUntil (peek: 0 none, -1 no end) }`: on admission
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
export type Reply = readonly [admitted: number, wait: number, remaining: number, resetAfter: number, now: number, blockedUntil: number]

export const lua = `
local key = KEYS[1]
local alg = ARGV[1]
local limit = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local maxWait = tonumber(ARGV[6])
local op = ARGV[8]
local take = op == "take"
local blockMs = tonumber(ARGV[9])
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
-- straight-line code, no closures but refuse (made once, called on refusals): this runs
-- inside Redis's single thread on every decision

if op == "block" then
  -- cost is the block's length in ms, -1 for no end
  if cost < 0 then
    redis.call("SET", KEYS[2], "-1")
  else
    redis.call("SET", KEYS[2], string.format("%d", now + cost), "PX", string.format("%d", cost + grace))
  end
  return { 1, 0, 0, 0, now, 0 }
end
-- a block: the instant it ends (-1: no end), stored at KEYS[2]
local blocked = 0
local stored = redis.call("GET", KEYS[2])
if stored then
  blocked = tonumber(stored)
  if blocked >= 0 and blocked <= now then blocked = 0 end
  if blocked ~= 0 then
    local left = -1
    if blocked > 0 then left = blocked - now end
    if take then return { 0, left, 0, 0, now, blocked } end
    if op == "peek" then return { 0, 0, 0, left, now, blocked } end
  end
end
local adjust = op == "adjust"

-- a refused take; with the rule's blockDuration the key is blocked from now on
local function refuse(wait, remaining)
  if blockMs > 0 then
    redis.call("SET", KEYS[2], string.format("%d", now + blockMs), "PX", string.format("%d", blockMs + grace))
    if wait >= 0 and wait < blockMs then wait = blockMs end
  end
  return { 0, wait, remaining, 0, now, 0 }
end

if alg == "s" then
  -- exact sliding window over a log of (time, cost), oldest first (slidingLog.ts)
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
  if op == "peek" then
    local reset = 0
    if n > 0 and times[n] + win - now > 0 then reset = times[n] + win - now end
    local remaining = limit - sum
    if remaining < 0 then remaining = 0 end
    return { 0, 0, remaining, reset, now, 0 }
  end
  if adjust and cost < 0 then
    -- a reward: the newest live admissions given back first (slidingLog.reward)
    redis.call("ZREMRANGEBYSCORE", key, "-inf", string.format("%d", at - win))
    local left = -cost
    local i = n
    while left > 0 and i >= first do
      redis.call("ZREM", key, members[i])
      if costs[i] > left then
        local stamp = string.format("%d", times[i])
        redis.call("ZADD", key, stamp, stamp .. ":" .. string.format("%d", costs[i] - left))
        left = 0
      else
        left = left - costs[i]
      end
      i = i - 1
    end
    return { 1, 0, 0, 0, now, 0 }
  end
  local wait = -1
  if adjust then
    wait = at - now -- a penalty: used whether it fits or not
  elseif cost <= limit then
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
  if not adjust and (wait < 0 or (maxWait >= 0 and wait > maxWait)) then return refuse(wait, limit - sum) end
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
  return { 1, wait, limit - live, time + win - now - wait, now, 0 }
end

-- pair algorithms: state (a, b) as in algorithms.ts, stored as "a b"
local a, b
local pair = redis.call("GET", key)
if pair then
  local c = string.find(pair, " ", 1, true)
  a = tonumber(string.sub(pair, 1, c - 1))
  b = tonumber(string.sub(pair, c + 1))
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
  if op == "peek" then
    local remaining = math.floor(level / win)
    if remaining < 0 then remaining = 0 end
    return { 0, 0, remaining, at - now + math.ceil((full - level) / limit), now, 0 }
  end
  local need = cost * win
  local wait = -1
  if adjust then
    wait = at - now -- a penalty (a reward when cost < 0): whether it fits or not
  elseif need <= full then
    if level >= need then wait = at - now else wait = at - now + math.ceil((need - level) / limit) end
  end
  if not adjust and (wait < 0 or (maxWait >= 0 and wait > maxWait)) then
    return refuse(wait, math.floor(level / win))
  end
  local time = now + wait
  if b > time then time = b end
  level = a
  if time > b then
    level = a + (time - b) * limit
    if level > full then level = full end
  end
  a = level - need
  if a > full then a = full end
  b = time
  local refill = math.ceil((full - a) / limit)
  if b - now + refill <= 0 then
    redis.call("DEL", key) -- a reward back to a full bucket: as if never seen
    return { 1, 0, 0, 0, now, 0 }
  end
  redis.call("SET", key, string.format("%d %d", a, b), "PX", string.format("%d", b - now + refill + grace))
  local remaining = math.floor(a / win)
  if remaining < 0 then remaining = 0 end
  return { 1, wait, remaining, b - now - wait + refill, now, 0 }
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
  if op == "peek" then
    local left = tolerance - ahead
    local remaining = 0
    if left > 0 then remaining = math.floor(left / win) end
    return { 0, 0, remaining, math.ceil(ahead / limit), now, 0 }
  end
  local increment = cost * win
  local wait = -1
  if adjust then
    wait = 0 -- a penalty (a reward when cost < 0): whether it fits or not
  elseif increment <= tolerance then
    local over = ahead + increment - tolerance
    if over <= 0 then wait = 0 else wait = math.ceil(over / limit) end
  end
  if not adjust and (wait < 0 or (maxWait >= 0 and wait > maxWait)) then
    local left = tolerance - ahead
    local remaining = 0
    if left > 0 then remaining = math.floor(left / win) end
    return refuse(wait, remaining)
  end
  local x = now + wait
  local next = (a - x) * limit + b
  if next < 0 then next = 0 end
  next = next + increment
  if next < 0 then next = 0 end
  if next + wait * limit <= 0 then
    redis.call("DEL", key) -- a reward back to no debt: as if never seen
    return { 1, 0, 0, 0, now, 0 }
  end
  local whole = math.floor(next / limit)
  a = x + whole
  b = next - whole * limit
  -- TAT - now in units is next + wait * limit; TAT - (now + wait) is next
  redis.call("SET", key, string.format("%d %d", a, b), "PX", string.format("%d", math.ceil((next + wait * limit) / limit) + grace))
  local left = tolerance - next
  local remaining = 0
  if left > 0 then remaining = math.floor(left / win) end
  return { 1, wait, remaining, math.ceil(next / limit), now, 0 }
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
if op == "peek" then
  local reset = 0
  if start == a and b > 0 then reset = start + win - now end
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return { 0, 0, remaining, reset, now, 0 }
end
local wait = -1
if adjust then
  wait = at - now -- a penalty (a reward when cost < 0): whether it fits or not
elseif cost <= limit then
  if count + cost <= limit then wait = at - now else wait = start + win - now end
end
if not adjust and (wait < 0 or (maxWait >= 0 and wait > maxWait)) then
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return refuse(wait, remaining)
end
local time = now + wait
if a > time then time = a end
local s = time - (time % win)
if s == a then b = b + cost else b = cost end
if b < 0 then b = 0 end
a = s
if b == 0 then
  redis.call("DEL", key) -- a reward back to an empty window: as if never seen
  return { 1, 0, 0, 0, now, 0 }
end
-- the new count belongs to the window [a, a + win), which contains now + wait
redis.call("SET", key, string.format("%d %d", a, b), "PX", string.format("%d", a + win - now + grace))
local remaining = limit - b
if remaining < 0 then remaining = 0 end
return { 1, wait, remaining, a + win - now - wait, now, 0 }
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
  ) => [key, `${key}!block`, algorithm, limit, windowMillis, burst, cost, maxWait, now, operation, 0],
  { lua, numberOfKeys: 2 }
).withReturnType<Reply>()
