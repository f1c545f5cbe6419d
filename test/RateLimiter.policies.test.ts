/**
 * The memory store's policies beyond one rule and one key: limit 0 (deny all), penalty,
 * reward and block (the shared scenarios), several rules at once, inline rules and rules
 * changed at run time. Each test names the rate-limiter-flexible scenario it translates
 * where there is one.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as RateLimiter from "../src/RateLimiter.js"
import { algorithms, policyScenarios } from "./internal/rateLimiter/policyScenarios.js"

const withRules = (rules: Record<string, RateLimiter.RateRule>) => Effect.provide(RateLimiter.layer({ rules }))

describe("RateLimiter policies", () => {
  describe.each(algorithms)("%s", (algorithm) => {
    policyScenarios(algorithm, withRules)
  })
})

describe("RateLimiter.setRule (memory)", () => {
  // resilience4j RateLimiterTest changeLimitForPeriod: a new limit applies at once, what was
  // used stays used
  it.effect.each(algorithms)("%s: a new limit keeps each key's calls in use", (algorithm) =>
    Effect.gen(function* () {
      yield* TestClock.setTime(10_000)
      const limiter = yield* RateLimiter.RateLimiter
      yield* limiter.check("api", "k", { cost: 2 })
      yield* RateLimiter.setRule("api", { algorithm, limit: 5, window: "1 second" })
      expect((yield* limiter.status("api", "k")).remaining).toBe(3)
      yield* RateLimiter.setRule("api", { algorithm, limit: 2, window: "1 second" })
      expect((yield* limiter.status("api", "k")).remaining).toBe(0)
      const status = yield* limiter.status("api", "k")
      expect({ limit: status.limit, algorithm: status.algorithm }).toEqual({ limit: 2, algorithm })
    }).pipe(withRules({ api: { algorithm, limit: 3, window: "1 second" } }))
  )

  it.effect.each(algorithms)("%s: a new algorithm takes over each key's calls in use", (algorithm) =>
    Effect.gen(function* () {
      yield* TestClock.setTime(10_000)
      const limiter = yield* RateLimiter.RateLimiter
      yield* limiter.check("api", "k", { cost: 2 })
      yield* limiter.block("api", "blocked", "1 minute")
      const next = algorithms[(algorithms.indexOf(algorithm) + 1) % algorithms.length]!
      yield* RateLimiter.setRule("api", { algorithm: next, limit: 4, window: "2 seconds" })
      const status = yield* limiter.status("api", "k")
      expect({ remaining: status.remaining, algorithm: status.algorithm }).toEqual({ remaining: 2, algorithm: next })
      expect((yield* limiter.status("api", "blocked")).unblocksAt).toBe(70_000)
      yield* TestClock.adjust("2 seconds")
      expect((yield* limiter.status("api", "k")).remaining).toBe(4)
    }).pipe(withRules({ api: { algorithm, limit: 3, window: "1 second" } }))
  )
})
