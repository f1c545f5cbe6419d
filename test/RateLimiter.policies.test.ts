/**
 * The rate limiter's policies beyond one rule and one key: limit 0 (deny all), penalty,
 * reward and block, several rules at once, inline rules and rules changed at run time. Each
 * test names the rate-limiter-flexible scenario it translates where there is one.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import type { ProtectionNotFound, StoreUnavailable } from "../src/Errors.js"
import { RateLimited } from "../src/Errors.js"
import * as RateLimiter from "../src/RateLimiter.js"

const withRules = (rules: Record<string, RateLimiter.RateRule>) => Effect.provide(RateLimiter.layer({ rules }))

const service = RateLimiter.RateLimiter

const denial = <A, R>(effect: Effect.Effect<A, RateLimited | ProtectionNotFound | StoreUnavailable, R>) =>
  Effect.map(Effect.flip(effect), (error) => {
    if (!(error instanceof RateLimited)) throw new Error(`expected RateLimited, got ${error._tag}`)
    return { rule: error.rule, remaining: error.remaining, retryAfter: Duration.toMillis(error.retryAfter) }
  })

const algorithms = ["token-bucket", "gcra", "fixed-window", "sliding-window"] as const

describe("RateLimiter policies", () => {
  describe.each(algorithms)("limit 0 (%s)", (algorithm) => {
    // rate-limiter-flexible, RateLimiterMemory.test.js "does not allow to consume if points is zero"
    it.effect("denies every call with retryAfter infinite, under fail and delay, and status says 0", () =>
      Effect.gen(function* () {
        const limiter = yield* service
        for (const rule of ["off", "offDelay"]) {
          expect(yield* denial(limiter.check(rule, "k"))).toEqual({ rule, remaining: 0, retryAfter: Infinity })
          yield* TestClock.adjust("1 hour")
          expect(yield* denial(limiter.check(rule, "k"))).toEqual({ rule, remaining: 0, retryAfter: Infinity })
        }
        const limited = yield* Effect.flip(Effect.succeed(1).pipe(RateLimiter.limit("off", "k")))
        expect(limited._tag).toBe("RateLimited")
        const status = yield* limiter.status("off", "k")
        expect({ limit: status.limit, remaining: status.remaining }).toEqual({ limit: 0, remaining: 0 })
      }).pipe(
        withRules({
          off: { algorithm, limit: 0, window: "1 second" },
          offDelay: { algorithm, limit: 0, window: "1 second", onExceeded: "delay", maxDelay: "1 day" }
        })
      )
    )
  })
})
