/**
 * The Redis store's policies beyond one rule and one key, against a real redis-server and
 * deciding on the caller's `TestClock` time (as the shared vectors do): limit 0 (deny all),
 * penalty, reward and block (the shared scenarios), several rules at once in one script call,
 * inline rules and rules changed at run time. Each test names the rate-limiter-flexible
 * scenario it translates where there is one.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RateLimiterRedis from "../src/RateLimiterRedis.js"
import { algorithms, policyScenarios } from "./internal/rateLimiter/policyScenarios.js"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server?.stop()
})

let prefixes = 0
const redisLayer = Layer.suspend(() => NodeRedis.layer({ url: server.url, disableOfflineQueue: true }))

const withRules = (rules: Record<string, RateLimiterRedis.RedisRateRule>) =>
  Effect.provide(
    Layer.effect(
      RateLimiter.RateLimiter,
      RateLimiterRedis.make({ prefix: `pol${process.pid}-${prefixes++}`, onRedisError: "failClosed", rules }, "caller")
    ).pipe(Layer.provide(redisLayer))
  )

describe("RateLimiterRedis policies", () => {
  describe.each(algorithms)("%s", (algorithm) => {
    policyScenarios(algorithm, withRules)
  })
})

/** A deterministic sequence of multi-checks (and penalties, rewards) over three rules. */
const sequence = (seed: number) => {
  let x = seed
  const next = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648
    return x % n
  }
  return Array.from({ length: 50 }, () => ({
    gap: next(400),
    rules: 1 + next(7),
    key: next(2),
    cost: 1 + next(3),
    adjust: next(6) - 3
  }))
}

const run = (steps: ReturnType<typeof sequence>) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter.RateLimiter
    yield* TestClock.setTime(1_000_000)
    const out: Array<unknown> = []
    for (const step of steps) {
      yield* TestClock.adjust(Duration.millis(step.gap))
      const requests = ["r0", "r1", "r2"]
        .filter((_, i) => (step.rules >> i) & 1)
        .map((rule) => ({ rule, key: `k${step.key}`, cost: step.cost }))
      const result = yield* Effect.result(limiter.check(requests))
      out.push(
        result._tag === "Success"
          ? result.success.map((allowance) => [allowance.remaining, Duration.toMillis(allowance.resetAfter)])
          : [(result.failure as { rule?: string }).rule, (result.failure as { remaining?: number }).remaining]
      )
      if (step.adjust > 0) yield* limiter.penalty("r0", `k${step.key}`, step.adjust)
      if (step.adjust < 0) yield* limiter.reward("r1", `k${step.key}`, -step.adjust)
      out.push((yield* limiter.status("r0", `k${step.key}`)).remaining, (yield* limiter.status("r1", `k${step.key}`)).remaining)
    }
    return out
  })

describe("RateLimiterRedis multi-checks, penalties and rewards decide as the memory store does", () => {
  const sets = [
    ["token-bucket", "gcra", "fixed-window"],
    ["sliding-window", "token-bucket", "gcra"],
    ["fixed-window", "sliding-window", "gcra"]
  ] as const
  it.effect.each(sets.map((set, i) => [set.join(", "), set, i] as const))("%s", ([, set, i]) =>
    Effect.gen(function* () {
      const rules: Record<string, RateLimiter.RateRule> = {
        r0: { algorithm: set[0], limit: 3, window: "1 second" },
        r1: { algorithm: set[1], limit: 5, window: "2 seconds", onExceeded: "delay", maxDelay: "100 millis" },
        r2: { algorithm: set[2], limit: 2, window: "700 millis" }
      }
      const steps = sequence(17 + i)
      const memory = yield* run(steps).pipe(Effect.provide(RateLimiter.layer({ rules })))
      const redis = yield* run(steps).pipe(withRules(rules))
      expect(redis).toEqual(memory)
    })
  )
})

describe("RateLimiter.setRule (Redis)", () => {
  it.effect("keeps a window's count; the algorithm and the window of a shared rule cannot change", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(10_000)
      const limiter = yield* RateLimiter.RateLimiter
      const rule = { algorithm: "fixed-window", limit: 3, window: "1 second" } as const
      yield* limiter.check("api", "k", { cost: 2 })
      yield* RateLimiter.setRule("api", { ...rule, limit: 5 })
      expect((yield* limiter.status("api", "k")).remaining).toBe(3)
      for (const [change, path] of [
        [{ algorithm: "gcra" }, "rules.api.algorithm"],
        [{ window: "2 seconds" }, "rules.api.window"],
        [{ onRedisError: "sometimes" }, "rules.api.onRedisError"]
      ] as const) {
        const error = yield* Effect.flip(RateLimiter.setRule("api", { ...rule, ...change } as RateLimiter.RateRule))
        expect(error).toMatchObject({ _tag: "InvalidConfig", path })
      }
      expect((yield* limiter.status("api", "k")).limit).toBe(5)
    }).pipe(withRules({ api: { algorithm: "fixed-window", limit: 3, window: "1 second" } }))
  )
})
