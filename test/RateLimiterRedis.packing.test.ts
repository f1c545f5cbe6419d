/**
 * The packed rule argument of the Redis script (`packRule`, six little-endian doubles read by
 * `struct.unpack` in Redis's Lua): every number a rule can carry comes back exactly, as the
 * text arguments' `tonumber` gives it. Against the test's own redis-server.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { createClient } from "redis"
import { packRule } from "../src/internal/rateLimiter/redis/script.js"
import { redisTests, useRedisServer } from "./support/redisServer.js"

const server = useRedisServer()

/** The six numbers as Lua reads them, written back with `%d` (exact for integers below 2^53). */
const unpack = `
local code, limit, win, burst, maxWait, blockMs = struct.unpack("<dddddd", ARGV[1])
local out = {}
for i, x in ipairs({ code, limit, win, burst, maxWait, blockMs }) do out[i] = string.format("%d", x) end
return out`

const big = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

describe.skipIf(!redisTests.enabled)("packRule", () => {
  it("carries each algorithm code and every integer below 2^53 exactly (and -1 for an unbounded wait)", async () => {
    const client = createClient({ url: server.url })
    await client.connect()
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("t", "f", "g", "s" as const),
          big,
          big,
          big,
          fc.oneof(fc.constant(-1), big),
          big,
          async (code, limit, windowMillis, burst, maxWait, blockMillis) => {
            const packed = packRule(code, limit, windowMillis, burst, maxWait, blockMillis)
            const reply = await client.sendCommand(["EVAL", unpack, "0", packed as Buffer])
            const expected = [{ t: 1, f: 2, g: 3, s: 4 }[code], limit, windowMillis, burst, maxWait, blockMillis].map(String)
            expect(reply).toEqual(expected)
          }
        ),
        { numRuns: 200 }
      )
    } finally {
      await client.close()
    }
  })
})
