/**
 * The four algorithms as Lua fragments, spliced into both scripts: one decision
 * (`script.ts`, straight-line code for the hot path) and several at once (`manyScript.ts`, a
 * loop). Each mirrors `algorithms.ts` / `slidingLog.ts` line by line (see `script.ts` for why
 * the arithmetic is exact).
 *
 * The fragments share local names. In: `key`, `now`, `limit`, `win`, `burst`, `cost` (and
 * `grace`). A `*_STATE` fragment reads the key's state as of `now`; `*_WAIT` sets `wait`
 * (declared -1 by the caller: -1 = never) to the time from `now` until `cost` fits; `*_ADMIT`
 * admits `cost` at `x` (a time the wait said it fits at) and sets `remaining` and `reset`
 * (read at `x`), and for the pair algorithms `value` and `ttl` (ms from `now`; 0 or less: the
 * key is back to "as if never seen") for `WRITE_PAIR`.
 */

/** The exact sliding window: a sorted set of "<time>:<cost>", oldest first. */
export const SLIDING_STATE = `
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
  for i = first, n do sum = sum + costs[i] end`

export const SLIDING_WAIT = `
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
  end`

export const SLIDING_ADMIT = `
  local time = x
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
  -- what is live at time (>= x) after this admission
  local live = cost
  for i = 1, n do
    if times[i] > time - win then live = live + costs[i] end
  end
  remaining = limit - live
  reset = time + win - x`

/** The pair algorithms' state, stored as "a b" (`algorithms.ts`). */
export const PAIR_READ = `
  local a, b
  local pair = redis.call("GET", key)
  if pair then
    local c = string.find(pair, " ", 1, true)
    a = tonumber(string.sub(pair, 1, c - 1))
    b = tonumber(string.sub(pair, c + 1))
  end`

export const WRITE_PAIR = `
  if ttl <= 0 then
    redis.call("DEL", key) -- as if never seen (a reward can bring a key back there)
  else
    redis.call("SET", key, value, "PX", string.format("%d", ttl + grace))
  end`

/** The clock of every script: Redis's TIME, or the caller's (`ARGV[position]`, the test vectors'). */
export const now = (position: number) => `
local now
-- TTLs are exact with Redis time; with a caller's (test) clock, real time may run ahead of it
local grace = 0
if ARGV[${position}] ~= "" then
  now = tonumber(ARGV[${position}])
  grace = 60000
else
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`

/** The bucket's level at `time` (`at` or `time`), full at most. */
const levelAt = (time: string) => `    local level = a
    if ${time} > b then
      level = a + (${time} - b) * limit
      if level > full then level = full end
    end`

/** Token bucket: one token = win units; refills limit units per ms; a = level at time b. */
export const BUCKET_STATE = `
    local full = burst * win
    if a == nil then
      a = full
      b = now
    end
    local at = now
    if b > at then at = b end
${levelAt("at")}
    local need = cost * win`

export const BUCKET_WAIT = `
    if need <= full then
      if level >= need then wait = at - now else wait = at - now + math.ceil((need - level) / limit) end
    end`

/** (needs `full` and `need`; a negative `need`, a reward, never fills past `full`) */
export const BUCKET_ADMIT = `
    local time = x
    if b > time then time = b end
${levelAt("time")}
    a = level - need
    if a > full then a = full end
    local refill = math.ceil((full - a) / limit)
    ttl = time - now + refill
    value = string.format("%d %d", a, time)
    remaining = math.floor(a / win)
    reset = time - x + refill`

/** GCRA: the theoretical arrival time is a ms + b units of 1/limit ms. */
export const GCRA_STATE = `
    local tolerance = burst * win
    if a == nil then
      a = now
      b = 0
    end
    local ahead = (a - now) * limit + b
    if ahead < 0 then ahead = 0 end
    local increment = cost * win`

export const GCRA_WAIT = `
    if increment <= tolerance then
      local over = ahead + increment - tolerance
      if over <= 0 then wait = 0 else wait = math.ceil(over / limit) end
    end`

/** (needs `tolerance` and `increment`; a negative `increment`, a reward, never goes below no debt) */
export const GCRA_ADMIT = `
    local next = (a - x) * limit + b
    if next < 0 then next = 0 end
    next = next + increment
    if next < 0 then next = 0 end
    local whole = math.floor(next / limit)
    -- TAT - now in units is next + (x - now) * limit; TAT - x is next
    ttl = math.ceil((next + (x - now) * limit) / limit)
    value = string.format("%d %d", x + whole, next - whole * limit)
    remaining = 0
    if tolerance - next > 0 then remaining = math.floor((tolerance - next) / win) end
    reset = math.ceil(next / limit)`

/** Fixed window aligned to multiples of win since the epoch: a = window start, b = count. */
export const WINDOW_STATE = `
    if a == nil then
      a = now - (now % win)
      b = 0
    end
    local at = now
    if a > at then at = a end
    local start = at - (at % win)
    local count = 0
    if start == a then count = b end`

export const WINDOW_WAIT = `
    if cost <= limit then
      if count + cost <= limit then wait = at - now else wait = start + win - now end
    end`

export const WINDOW_ADMIT = `
    local time = x
    if a > time then time = a end
    local s = time - (time % win)
    if s == a then b = b + cost else b = cost end
    if b < 0 then b = 0 end
    -- the new count belongs to the window [s, s + win), which contains x
    ttl = s + win - now
    if b == 0 then ttl = 0 end
    value = string.format("%d %d", s, b)
    remaining = limit - b
    reset = s + win - x`
