/**
 * The shared breaker's Lua scripts. Each runs atomically in Redis, so a lease is taken or a
 * transition is recorded and announced in one step and one round trip.
 *
 * Keys: `<prefix>:lease:<breaker>:<i>` for the `halfOpenMaxCalls` probe leases (value: the
 * holder's token, TTL: the half-open wait), `<prefix>:state:<breaker>` while a breaker is Open
 * somewhere (TTL: the time it stays open), and the channel `<prefix>:transitions`.
 */

/** KEYS[1] lease key prefix; ARGV: token, slots, ttl millis. Returns the slot taken or -1. */
export const ACQUIRE = `for i = 0, tonumber(ARGV[2]) - 1 do
  if redis.call("SET", KEYS[1] .. ":" .. i, ARGV[1], "NX", "PX", ARGV[3]) then return i end
end
return -1`

/** KEYS[1] lease key prefix; ARGV: token, slots. Frees the slot holding token; returns it or -1. */
export const RELEASE = `for i = 0, tonumber(ARGV[2]) - 1 do
  local key = KEYS[1] .. ":" .. i
  if redis.call("GET", key) == ARGV[1] then redis.call("DEL", key) return i end
end
return -1`
/**
 * KEYS[1] state key; ARGV: to ("Open" | "Closed"), origin, remaining millis, channel, message.
 * The state key and the message in one round trip: a slow link costs one RTT per transition.
 */
export const SHARE = `if ARGV[1] == "Open" then redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3]) else redis.call("DEL", KEYS[1]) end
return redis.call("PUBLISH", ARGV[4], ARGV[5])`

/** KEYS: state keys. Returns their PTTLs (-2 for an absent key: not open anywhere). */
export const READ = `local ttls = {}
for i, key in ipairs(KEYS) do ttls[i] = redis.call("PTTL", key) end
return ttls`
