/**
 * The policy scenarios (limit 0, penalty, reward, block) run against each store: memory
 * (`test/RateLimiter.policies.test.ts`) and Redis on the caller's `TestClock` time
 * (`test/RateLimiterRedis.policies.test.ts`). Each names the rate-limiter-flexible test it
 * translates (`test/RateLimiterMemory.test.js` there).
 */
import { expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import type { ProtectionNotFound, StoreUnavailable } from "../../../src/Errors.js"
import { RateLimited } from "../../../src/Errors.js"
import * as RateLimiter from "../../../src/RateLimiter.js"

export type WithRules = (
  rules: Record<string, RateLimiter.RateRule>
) => <A, E>(effect: Effect.Effect<A, E, RateLimiter.RateLimiter>) => Effect.Effect<A, unknown>

export const denial = <A, R>(effect: Effect.Effect<A, RateLimited | ProtectionNotFound | StoreUnavailable, R>) =>
  Effect.map(Effect.flip(effect), (error) => {
    if (!(error instanceof RateLimited)) throw new Error(`expected RateLimited, got ${error._tag}: ${error.message}`)
    return { rule: error.rule, remaining: error.remaining, retryAfter: Duration.toMillis(error.retryAfter) }
  })

export const algorithms = ["token-bucket", "gcra", "fixed-window", "sliding-window"] as const

const service = RateLimiter.RateLimiter

/** Declares the scenarios of `algorithm` (inside a `describe`). */
export const policyScenarios = (algorithm: (typeof algorithms)[number], withRules: WithRules): void => {
  const start = 10_000 // a window boundary

  // rate-limiter-flexible "does not allow to consume if points is zero"
  it.effect("limit 0 denies every call with an infinite retryAfter, under fail and delay, and status says 0", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
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

  // rate-limiter-flexible "makes penalty" (points 3: consume 1, penalty 1 => 2 consumed)
  it.effect("penalty uses points whether they fit or not; the key may go past its limit", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const limiter = yield* service
      yield* limiter.check("api", "k")
      yield* limiter.penalty("api", "k")
      expect((yield* limiter.status("api", "k")).remaining).toBe(1)
      yield* limiter.penalty("api", "k", 5)
      expect((yield* limiter.status("api", "k")).remaining).toBe(0)
      expect((yield* denial(limiter.check("api", "k"))).retryAfter).toBeGreaterThan(0)
    }).pipe(withRules({ api: { algorithm, limit: 3, window: "1 second" } }))
  )

  // rate-limiter-flexible "reward points" (points 1: consume 1, reward 1 => 0 consumed)
  it.effect("reward gives points back, never past a fresh key's allowance", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const limiter = yield* service
      yield* limiter.check("api", "k")
      yield* limiter.check("api", "k")
      expect((yield* limiter.status("api", "k")).remaining).toBe(1)
      yield* limiter.reward("api", "k")
      expect((yield* limiter.status("api", "k")).remaining).toBe(2)
      yield* limiter.reward("api", "k", 10)
      expect((yield* limiter.status("api", "k")).remaining).toBe(3)
      yield* limiter.reward("api", "fresh", 10)
      expect((yield* limiter.status("api", "fresh")).remaining).toBe(3)
      for (let i = 0; i < 3; i++) yield* limiter.check("api", "fresh")
      expect((yield* denial(limiter.check("api", "fresh"))).remaining).toBe(0)
    }).pipe(withRules({ api: { algorithm, limit: 3, window: "1 second" } }))
  )

  // rate-limiter-flexible "blocks key for block duration when consumed more than points",
  // "do not block key second time until block expires no matter how many points consumed" and
  // "block expires in blockDuration seconds" (points 1, duration 1 s, blockDuration 2 s)
  it.effect("blockDuration blocks a refused key for that long, without extending it, then admits", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const limiter = yield* service
      yield* limiter.check("login", "k")
      expect((yield* denial(limiter.check("login", "k"))).retryAfter).toBe(2000)
      expect((yield* limiter.status("login", "k")).unblocksAt).toBe(start + 2000)
      yield* TestClock.adjust(1201)
      expect(yield* denial(limiter.check("login", "k"))).toEqual({ rule: "login", remaining: 0, retryAfter: 799 })
      yield* TestClock.adjust(799)
      expect((yield* limiter.check("login", "k")).remaining).toBe(0)
      expect((yield* limiter.status("login", "k")).unblocksAt).toBeUndefined()
    }).pipe(withRules({ login: { algorithm, limit: 1, window: "1 second", blockDuration: "2 seconds" } }))
  )

  // rate-limiter-flexible "block custom key" and "block key forever, if secDuration is 0"
  it.effect("block refuses a key for a duration, or until reset; status shows until when", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const limiter = yield* service
      yield* limiter.block("api", "k", "2 seconds")
      expect(yield* denial(limiter.check("api", "k"))).toEqual({ rule: "api", remaining: 0, retryAfter: 2000 })
      const status = yield* limiter.status("api", "k")
      expect({ unblocksAt: status.unblocksAt, remaining: status.remaining }).toEqual({ unblocksAt: start + 2000, remaining: 0 })
      expect((yield* limiter.check("api", "other")).remaining).toBe(2)
      yield* TestClock.adjust("2 seconds")
      expect((yield* limiter.check("api", "k")).remaining).toBe(2)
      yield* limiter.block("api", "forever", Duration.infinity)
      yield* TestClock.adjust("1 day")
      expect((yield* denial(limiter.check("api", "forever"))).retryAfter).toBe(Infinity)
      expect((yield* limiter.status("api", "forever")).unblocksAt).toBe(Infinity)
      yield* limiter.reset("api", "forever")
      expect((yield* limiter.check("api", "forever")).remaining).toBe(2)
    }).pipe(withRules({ api: { algorithm, limit: 3, window: "1 second" } }))
  )
}
