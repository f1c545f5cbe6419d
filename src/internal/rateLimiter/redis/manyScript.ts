/**
 * Several limits at once as one Redis Lua script (`limit([...])`, `check([...])` on the Redis
 * store): every request's wait is computed first, writing nothing; the call is admitted at
 * `now + T` (T the longest wait) by every request if T is within every rule's wait bound, or
 * by none. The same algorithm fragments as `script.ts` (one decision, straight-line for the
 * hot path), in a loop (`luaAlgorithms.ts`).
 *
 * KEYS: per request, its state key then its block key. ARGV: 1 now ("" = Redis TIME), then
 * per request 7 arguments: algorithm, limit, windowMillis, burst, cost, maxWait (-1 =
 * unbounded), blockDuration in ms (0: none).
 *
 * Returns `{ admitted (1/0), wait (-1 = never), refused (1-based request, 0 when admitted),
 * then per request remaining and resetAfter }` (read at `now + wait` when admitted, at `now`
 * otherwise, resetAfter 0).
 */

import * as Lua from "./luaAlgorithms.js"

export type ManyReply = ReadonlyArray<number>

export const manyLua = `
local n = #KEYS / 2
${Lua.now(1)}
-- per request: its arguments, its wait, what remains now, its block, its state as read
local alg, lim, win_, bur, cost_, mw, bms = {}, {}, {}, {}, {}, {}, {}
local waits, rem, blocked = {}, {}, {}
local sa, sb, logs = {}, {}, {}
local longest, worst, never, bound = 0, 1, false, -1
for r = 1, n do
  local j = 1 + (r - 1) * 7
  local key = KEYS[2 * r - 1]
  local limit, win, burst, cost = tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3]), tonumber(ARGV[j + 4]), tonumber(ARGV[j + 5])
  alg[r], lim[r], win_[r], bur[r], cost_[r] = ARGV[j + 1], limit, win, burst, cost
  mw[r], bms[r] = tonumber(ARGV[j + 6]), tonumber(ARGV[j + 7])
  local wait = -1
  local bl = 0
  local stored = redis.call("GET", KEYS[2 * r])
  if stored then
    bl = tonumber(stored)
    if bl >= 0 and bl <= now then bl = 0 end
  end
  blocked[r] = bl
  if bl ~= 0 then
    if bl > 0 then wait = bl - now end
    rem[r] = 0
  elseif alg[r] == "s" then
${Lua.SLIDING_STATE}
${Lua.SLIDING_WAIT}
    rem[r] = limit - sum
    logs[r] = { members, times, costs }
  else
${Lua.PAIR_READ}
    if alg[r] == "t" then
${Lua.BUCKET_STATE}
${Lua.BUCKET_WAIT}
      rem[r] = math.floor(level / win)
    elseif alg[r] == "g" then
${Lua.GCRA_STATE}
${Lua.GCRA_WAIT}
      rem[r] = 0
      if tolerance - ahead > 0 then rem[r] = math.floor((tolerance - ahead) / win) end
    else
${Lua.WINDOW_STATE}
${Lua.WINDOW_WAIT}
      rem[r] = limit - count
    end
    sa[r], sb[r] = a, b
  end
  if rem[r] < 0 then rem[r] = 0 end
  waits[r] = wait
  if wait < 0 then
    if not never then worst = r end
    never = true
  elseif not never and wait > longest then
    longest = wait
    worst = r
  end
  if mw[r] >= 0 and (bound < 0 or mw[r] < bound) then bound = mw[r] end
end

if never or (bound >= 0 and longest > bound) then
  -- refused: nothing used; a rule's blockDuration blocks the keys over their own bound
  local out = { 0, 0, 0 }
  for r = 1, n do
    local wait = waits[r]
    if bms[r] > 0 and blocked[r] == 0 and (wait < 0 or (mw[r] >= 0 and wait > mw[r])) then
      redis.call("SET", KEYS[2 * r], string.format("%d", now + bms[r]), "PX", string.format("%d", bms[r] + grace))
      rem[r] = 0
      if wait >= 0 and wait < bms[r] and not never and bms[r] > longest then
        longest = bms[r]
        worst = r
      end
    end
    out[2 + 2 * r] = rem[r]
    out[3 + 2 * r] = 0
  end
  out[2] = longest
  if never then out[2] = -1 end
  out[3] = worst
  return out
end

-- admitted by every request at x = now + longest
local x = now + longest
local out = { 1, longest, 0 }
for r = 1, n do
  local key = KEYS[2 * r - 1]
  local limit, win, burst, cost = lim[r], win_[r], bur[r], cost_[r]
  local remaining, reset, ttl, value
  if alg[r] == "s" then
    local members, times, costs = logs[r][1], logs[r][2], logs[r][3]
    local n = #times
${Lua.SLIDING_ADMIT}
  else
    local a, b = sa[r], sb[r]
    if alg[r] == "t" then
      local full, need = burst * win, cost * win
${Lua.BUCKET_ADMIT}
    elseif alg[r] == "g" then
      local tolerance, increment = burst * win, cost * win
${Lua.GCRA_ADMIT}
    else
${Lua.WINDOW_ADMIT}
    end
${Lua.WRITE_PAIR}
  end
  if remaining < 0 then remaining = 0 end
  out[2 + 2 * r] = remaining
  out[3 + 2 * r] = reset
end
return out
`
