/**
 * The four rate-limit algorithms as one Redis Lua script: a line-by-line mirror of
 * `rateLimitAlgorithms.ts` (token bucket, fixed window, GCRA) and `rateLimitSlidingLog.ts`
 * (exact sliding window), so one decision is one atomic `EVALSHA` round trip.
 *
 * **Why it is exact.** Lua 5.1 numbers are IEEE doubles, like JavaScript's, and every quantity
 * is an integer below 2^53 (rule validation guarantees it), so `+ - *`, `math.floor` and
 * `math.ceil(x / y)` give the same results on both sides. Two traps are avoided explicitly:
 * Lua's own number-to-string (`..`, `tostring`) uses `%.14g` (it would round a 15-digit
 * integer), so every stored number goes through `string.format("%d")` (a 64-bit
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
 * `cost` ms, -1 for no end), 9 the rule's blockDuration in ms (0: none). `packedLua` takes
 * the rule's numbers in one binary argument instead (`packedArguments`).
 *
 * Returns `{ admitted (1/0), wait (-1 = never), remaining, resetAfter (peek: -1 = never),
 * now, blockedUntil (peek: 0 none, -1 no end) }`, a take the first four only (each element of
 * a reply costs Redis time): on admission
 * `remaining`/`resetAfter` are read at `now + wait` (when the caller runs, as the memory store
 * does after its sleep), on rejection at `now` on the unchanged state (`resetAfter` is then 0:
 * unused).
 *
 * **Speed.** The script is straight-line code per algorithm, spliced from the fragments the
 * multi-check script shares (`luaAlgorithms.ts`), with no local function: Lua creates a
 * closure (and its upvalues) per function per call, even on a path that never calls it; a first
 * version written with one function per algorithm step cost about 1.6x the Redis time of this
 * one, and a last `refuse` function alone about 1.4% of a decision's Redis instructions. A decision
 * makes four Redis calls when admitted (TIME, GET of the block, GET, SET), three when refused.
 */
import { Redis } from "effect/persistence"
import * as Lua from "./luaAlgorithms.js"

/** The reply of one decision (`take` answers the first four only). */
export type Reply = readonly [admitted: number, wait: number, remaining: number, resetAfter: number, now?: number, blockedUntil?: number]

/** The arguments as text: ARGV as described above (any `Redis` service can send them). */
const textArguments = `
local key = KEYS[1]
local alg = ARGV[1]
local limit = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local maxWait = tonumber(ARGV[6])
local op = ARGV[8]
local blockMs = tonumber(ARGV[9])
${Lua.now(7)}
`

/**
 * The arguments with the rule packed: ARGV 1 is the rule's algorithm (1 t, 2 f, 3 g, 4 s),
 * limit, windowMillis, burst, maxWait and blockDuration as six little-endian doubles
 * (`packRule`, made once per rule), 2 cost, 3 now, 4 operation. Unpacking them is one C call
 * (`struct`, built into Redis's Lua) instead of five Redis arguments and five `tonumber`
 * (strtod) calls: about an eighth of the Redis CPU of a decision. The doubles are exact (every
 * number is an integer below 2^53, or -1 / Infinity). Binary arguments need a client that
 * sends bytes as they are (node-redis does: the store uses this form on its node-redis path).
 */
const packedArguments = `
local key = KEYS[1]
local code, limit, win, burst, maxWait, blockMs = struct.unpack("<dddddd", ARGV[1])
local alg = "t"
if code == 2 then alg = "f" elseif code == 3 then alg = "g" elseif code == 4 then alg = "s" end
-- a cost of 1 (most decisions) needs no tonumber: comparing interned strings is cheap
local cost = 1
if ARGV[2] ~= "1" then cost = tonumber(ARGV[2]) end
local op = ARGV[4]
${Lua.now(3)}
`

const body = `
local take = op == "take"
local adjust = op == "adjust"

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
local stored = redis.call("GET", KEYS[2])
if stored then
  local blocked = tonumber(stored)
  if blocked < 0 or blocked > now then
    local left = -1
    if blocked > 0 then left = blocked - now end
    if take then return { 0, left, 0, 0 } end
    if op == "peek" then return { 0, 0, 0, left, now, blocked } end
  end
end

local wait = -1
-- a refused take: remaining is then read at now, and the refusal is answered at the end
local refused = false
local remaining, reset, ttl, value
if alg == "s" then
${Lua.SLIDING_STATE}
  if op == "peek" then
    local left = 0
    if n > 0 and times[n] + win - now > 0 then left = times[n] + win - now end
    remaining = limit - sum
    if remaining < 0 then remaining = 0 end
    return { 0, 0, remaining, left, now, 0 }
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
  if adjust then wait = at - now else
${Lua.SLIDING_WAIT}
  end
  if not adjust and (wait < 0 or (maxWait >= 0 and wait > maxWait)) then
    refused = true
    remaining = limit - sum
  else
    local x = now + wait
${Lua.SLIDING_ADMIT}
  end
else
${Lua.PAIR_READ}
  if alg == "t" then
${Lua.BUCKET_STATE}
    if op == "peek" then
      remaining = math.floor(level / win)
      if remaining < 0 then remaining = 0 end
      return { 0, 0, remaining, at - now + math.ceil((full - level) / limit), now, 0 }
    end
    -- a penalty (a reward when cost < 0) is used whether it fits or not
    if adjust then wait = at - now else
${Lua.BUCKET_WAIT}
    end
    if not adjust and (wait < 0 or (maxWait >= 0 and wait > maxWait)) then
      refused = true
      remaining = math.floor(level / win)
    else
      local x = now + wait
${Lua.BUCKET_ADMIT}
    end
  elseif alg == "g" then
${Lua.GCRA_STATE}
    if op == "peek" then
      remaining = 0
      if tolerance - ahead > 0 then remaining = math.floor((tolerance - ahead) / win) end
      return { 0, 0, remaining, math.ceil(ahead / limit), now, 0 }
    end
    if adjust then wait = 0 else
${Lua.GCRA_WAIT}
    end
    if not adjust and (wait < 0 or (maxWait >= 0 and wait > maxWait)) then
      refused = true
      remaining = 0
      if tolerance - ahead > 0 then remaining = math.floor((tolerance - ahead) / win) end
    else
      local x = now + wait
${Lua.GCRA_ADMIT}
    end
  else
${Lua.WINDOW_STATE}
    if op == "peek" then
      local left = 0
      if start == a and b > 0 then left = start + win - now end
      remaining = limit - count
      if remaining < 0 then remaining = 0 end
      return { 0, 0, remaining, left, now, 0 }
    end
    if adjust then wait = at - now else
${Lua.WINDOW_WAIT}
    end
    if not adjust and (wait < 0 or (maxWait >= 0 and wait > maxWait)) then
      refused = true
      remaining = limit - count
    else
      local x = now + wait
${Lua.WINDOW_ADMIT}
    end
  end
  if not refused then
${Lua.WRITE_PAIR}
  end
end
if remaining < 0 then remaining = 0 end
if refused then
  -- with the rule's blockDuration the key is blocked from now on
  if blockMs > 0 then
    redis.call("SET", KEYS[2], string.format("%d", now + blockMs), "PX", string.format("%d", blockMs + grace))
    if wait >= 0 and wait < blockMs then wait = blockMs end
  end
  return { 0, wait, remaining, 0 }
end
return { 1, wait, remaining, reset }
`

/** The script with its arguments as text (ARGV as described above). */
export const lua = textArguments + body

/** The same script with the rule packed in one binary argument (`packedArguments`). */
export const packedLua = packedArguments + body

const algorithmNumber = { t: 1, f: 2, g: 3, s: 4 } as const

/** ARGV 1 of `packedLua`: the rule's numbers as six little-endian doubles. */
export const packRule = (
  code: keyof typeof algorithmNumber,
  limit: number,
  windowMillis: number,
  burst: number,
  maxWait: number,
  blockMillis: number
): Uint8Array => {
  const packed = Buffer.alloc(48)
  packed.writeDoubleLE(algorithmNumber[code], 0)
  packed.writeDoubleLE(limit, 8)
  packed.writeDoubleLE(windowMillis, 16)
  packed.writeDoubleLE(burst, 24)
  packed.writeDoubleLE(maxWait, 32)
  packed.writeDoubleLE(blockMillis, 40)
  return packed
}

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
