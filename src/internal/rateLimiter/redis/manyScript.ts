/**
 * Several limits at once as one Redis Lua script (`limit([...])`, `check([...])` on the Redis
 * store): every request's wait is computed first, writing nothing; the call is admitted at
 * `now + T` (T the longest wait) by every request if T is within every rule's wait bound, or
 * by none. The same algorithms as `script.ts` (one decision), line by line, in a loop; that
 * script stays straight-line for the one-rule hot path.
 *
 * KEYS: per request, its state key then its block key. ARGV: 1 now ("" = Redis TIME), then
 * per request 7 arguments: algorithm, limit, windowMillis, burst, cost, maxWait (-1 =
 * unbounded), blockDuration in ms (0: none).
 *
 * Returns `{ admitted (1/0), wait (-1 = never), refused (1-based request, 0 when admitted),
 * then per request remaining and resetAfter }` (read at `now + wait` when admitted, at `now`
 * otherwise, resetAfter 0).
 */

export type ManyReply = ReadonlyArray<number>

export const manyLua = `
local n = #KEYS / 2
local now
local grace = 0
if ARGV[1] ~= "" then
  now = tonumber(ARGV[1])
  grace = 60000
else
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local alg, lim, win, bur, cost, mw, bms = {}, {}, {}, {}, {}, {}, {}
local sa, sb, times, costs, members, first = {}, {}, {}, {}, {}, {}
local waits, rem, blocked = {}, {}, {}
local longest, worst, never, bound = 0, 1, false, -1
for i = 1, n do
  local j = 1 + (i - 1) * 7
  local al = ARGV[j + 1]
  local limit = tonumber(ARGV[j + 2])
  local w = tonumber(ARGV[j + 3])
  local burst = tonumber(ARGV[j + 4])
  local c = tonumber(ARGV[j + 5])
  alg[i], lim[i], win[i], bur[i], cost[i] = al, limit, w, burst, c
  mw[i] = tonumber(ARGV[j + 6])
  bms[i] = tonumber(ARGV[j + 7])
  local key = KEYS[2 * i - 1]
  local wait = -1
  local bl = 0
  local stored = redis.call("GET", KEYS[2 * i])
  if stored then
    bl = tonumber(stored)
    if bl >= 0 and bl <= now then bl = 0 end
  end
  blocked[i] = bl
  if bl ~= 0 then
    if bl > 0 then wait = bl - now end
    rem[i] = 0
  elseif al == "s" then
    local ms = redis.call("ZRANGE", key, 0, -1)
    local m = #ms
    local ts, cs = {}, {}
    for k = 1, m do
      local sep = string.find(ms[k], ":", 1, true)
      ts[k] = tonumber(string.sub(ms[k], 1, sep - 1))
      cs[k] = tonumber(string.sub(ms[k], sep + 1))
    end
    members[i], times[i], costs[i] = ms, ts, cs
    local at = now
    if m > 0 and ts[m] > at then at = ts[m] end
    local f = 1
    while f <= m and ts[f] <= at - w do f = f + 1 end
    first[i] = f
    local sum = 0
    for k = f, m do sum = sum + cs[k] end
    if c <= limit then
      if sum + c <= limit then
        wait = at - now
      else
        local excess = sum + c - limit
        for k = f, m do
          excess = excess - cs[k]
          if excess <= 0 then
            wait = ts[k] + w - now
            break
          end
        end
      end
    end
    rem[i] = limit - sum
  else
    local a, b
    local pair = redis.call("GET", key)
    if pair then
      local sep = string.find(pair, " ", 1, true)
      a = tonumber(string.sub(pair, 1, sep - 1))
      b = tonumber(string.sub(pair, sep + 1))
    end
    if al == "t" then
      local full = burst * w
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
      local need = c * w
      if need <= full then
        if level >= need then wait = at - now else wait = at - now + math.ceil((need - level) / limit) end
      end
      rem[i] = math.floor(level / w)
    elseif al == "g" then
      local tolerance = burst * w
      if a == nil then
        a = now
        b = 0
      end
      local ahead = (a - now) * limit + b
      if ahead < 0 then ahead = 0 end
      local increment = c * w
      if increment <= tolerance then
        local over = ahead + increment - tolerance
        if over <= 0 then wait = 0 else wait = math.ceil(over / limit) end
      end
      rem[i] = 0
      if tolerance - ahead > 0 then rem[i] = math.floor((tolerance - ahead) / w) end
    else
      if a == nil then
        a = now - (now % w)
        b = 0
      end
      local at = now
      if a > at then at = a end
      local start = at - (at % w)
      local count = 0
      if start == a then count = b end
      if c <= limit then
        if count + c <= limit then wait = at - now else wait = start + w - now end
      end
      rem[i] = limit - count
    end
    sa[i], sb[i] = a, b
  end
  if rem[i] < 0 then rem[i] = 0 end
  waits[i] = wait
  if wait < 0 then
    if not never then worst = i end
    never = true
  elseif not never and wait > longest then
    longest = wait
    worst = i
  end
  if mw[i] >= 0 and (bound < 0 or mw[i] < bound) then bound = mw[i] end
end

if never or (bound >= 0 and longest > bound) then
  -- refused: nothing used; a rule's blockDuration blocks the keys over their own bound
  local out = { 0, 0, 0 }
  for i = 1, n do
    local wait = waits[i]
    if bms[i] > 0 and blocked[i] == 0 and (wait < 0 or (mw[i] >= 0 and wait > mw[i])) then
      redis.call("SET", KEYS[2 * i], string.format("%d", now + bms[i]), "PX", string.format("%d", bms[i] + grace))
      rem[i] = 0
      if wait >= 0 and wait < bms[i] then
        waits[i] = bms[i]
        if not never and bms[i] > longest then
          longest = bms[i]
          worst = i
        end
      end
    end
    out[2 + 2 * i] = rem[i]
    out[3 + 2 * i] = 0
  end
  out[2] = longest
  if never then out[2] = -1 end
  out[3] = worst
  return out
end

-- admitted by every request at x = now + longest
local x = now + longest
local out = { 1, longest, 0 }
for i = 1, n do
  local key = KEYS[2 * i - 1]
  local al, limit, w, burst, c = alg[i], lim[i], win[i], bur[i], cost[i]
  local remaining, reset
  if al == "s" then
    local ts, cs, ms = times[i], costs[i], members[i]
    local m = #ts
    local time = x
    if m > 0 and ts[m] > time then time = ts[m] end
    redis.call("ZREMRANGEBYSCORE", key, "-inf", string.format("%d", time - w))
    local merged = c
    if m > 0 and ts[m] == time then
      redis.call("ZREM", key, ms[m])
      merged = cs[m] + c
    end
    local stamp = string.format("%d", time)
    redis.call("ZADD", key, stamp, stamp .. ":" .. string.format("%d", merged))
    redis.call("PEXPIRE", key, string.format("%d", time + w - now + grace))
    local live = c
    for k = 1, m do
      if ts[k] > time - w then live = live + cs[k] end
    end
    remaining = limit - live
    reset = time + w - x
  elseif al == "t" then
    local a, b = sa[i], sb[i]
    local full = burst * w
    local time = x
    if b > time then time = b end
    local level = a
    if time > b then
      level = a + (time - b) * limit
      if level > full then level = full end
    end
    a = level - c * w
    b = time
    local refill = math.ceil((full - a) / limit)
    redis.call("SET", key, string.format("%d %d", a, b), "PX", string.format("%d", b - now + refill + grace))
    remaining = math.floor(a / w)
    reset = b - x + refill
  elseif al == "g" then
    local a, b = sa[i], sb[i]
    local next = (a - x) * limit + b
    if next < 0 then next = 0 end
    next = next + c * w
    local whole = math.floor(next / limit)
    redis.call("SET", key, string.format("%d %d", x + whole, next - whole * limit), "PX", string.format("%d", math.ceil((next + (x - now) * limit) / limit) + grace))
    remaining = 0
    if burst * w - next > 0 then remaining = math.floor((burst * w - next) / w) end
    reset = math.ceil(next / limit)
  else
    local a, b = sa[i], sb[i]
    local time = x
    if a > time then time = a end
    local s = time - (time % w)
    if s == a then b = b + c else b = c end
    a = s
    redis.call("SET", key, string.format("%d %d", a, b), "PX", string.format("%d", a + w - now + grace))
    remaining = limit - b
    reset = a + w - x
  end
  if remaining < 0 then remaining = 0 end
  out[2 + 2 * i] = remaining
  out[3 + 2 * i] = reset
end
return out
`
