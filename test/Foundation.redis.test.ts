/**
 * The configuration file's `redis` section: with it, `Foundation` builds the rate limiter and the
 * breakers on the test's own redis-server, with the stores' options from the section.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { CircuitBreaker, Config, Foundation, RateLimiter } from "../src/index.js"
import { pollUntil } from "./support/polling.js"
import { redisTests, useRedisServer } from "./support/redisServer.js"

const server = useRedisServer()

describe("Config redis section", () => {
  it("an unknown store option fails with its path and the nearest name", () => {
    const exit = Effect.runSyncExit(Config.decode({ redis: { url: "redis://127.0.0.1:1", rateLimiter: { prefx: "app" } } }))
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? (exit.cause.reasons[0] as any).error : undefined
    expect(error.path).toBe("redis.rateLimiter.prefx")
    expect(error.message).toContain('did you mean "prefix"?')
  })
})

describe("Foundation with a redis section and a builder for the same store", () => {
  it.effect("fails InvalidConfig at redis instead of ignoring one of the two", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(
          Foundation.layer(
            { redis: { url: "redis://127.0.0.1:1" } },
            { rateLimiter: (rules) => RateLimiter.layer({ rules }), circuitBreaker: (options) => CircuitBreaker.layer(options) }
          )
        )
      )
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "redis" })
      expect(error.message).toContain("configure that store in one place")
    }).pipe(Effect.scoped)
  )
})

describe.skipIf(!redisTests.enabled)("Foundation with a redis section", () => {
  it.live("decides limits in Redis under the configured prefix and shares breaker state there", () =>
    Effect.gen(function* () {
      const admitted = yield* Effect.succeed("ok").pipe(RateLimiter.limit("api", "alice"))
      expect(admitted).toBe("ok")
      const keys = yield* Effect.promise(() => server.command("KEYS", "cfg-rl:*"))
      expect(keys).toContain("cfg-rl:api:alice")
      yield* CircuitBreaker.CircuitBreaker.use((breakers) => breakers.trip("db"))
      // the transition is published in the background
      const shared = yield* pollUntil(
        Effect.promise(() => server.command("EXISTS", "cfg-cb:state:db")).pipe(Effect.map((reply) => reply.startsWith(":1"))),
        2_000
      )
      expect(shared).toBe(true)
    }).pipe(
      Effect.provide(
        Foundation.layer({
          circuitBreaker: { breakers: { db: { resetTimeout: "10 seconds" } } },
          rateLimiter: { rules: { api: { algorithm: "gcra", limit: 10, window: "1 minute" } } },
          redis: { url: server.url, rateLimiter: { prefix: "cfg-rl" }, circuitBreaker: { prefix: "cfg-cb" } }
        })
      )
    )
  )
})
