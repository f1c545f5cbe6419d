/**
 * The policy scenarios (limit 0, penalty, reward, block) run against each store: memory
 * (`test/RateLimiter.policies.test.ts`) and Redis on the caller's `TestClock` time
 * (`test/RateLimiterRedis.policies.test.ts`). Each names the rate-limiter-flexible test it
 * translates (`test/RateLimiterMemory.test.js` there).
 */
import { expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
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

  // rate-limiter-flexible RateLimiterUnion.test.js "consume from all limiters", "reject consume
  // one "limit1", which does not have enough points" and "reject both do not have enough
  // points"; stricter than the union, which consumes from the others even when one rejects
  it.effect("several limits at once admit only if all admit, and consume from none otherwise", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const limiter = yield* service
      const both = [
        { rule: "second", key: "u" },
        { rule: "minute", key: "u" }
      ]
      const admitted = yield* limiter.check(both)
      expect(admitted.map((allowance) => allowance.remaining)).toEqual([1, 2])
      yield* Effect.succeed(1).pipe(RateLimiter.limit(both))
      const refused = yield* Effect.flip(Effect.succeed(1).pipe(RateLimiter.limit(both)))
      expect(refused).toMatchObject({ _tag: "RateLimited", rule: "second", key: "u", remaining: 0 })
      expect((yield* limiter.status("minute", "u")).remaining).toBe(1)
      // the per-minute rule refuses too: retryAfter is the longest wait, the rule that needs it
      yield* TestClock.adjust("1 second")
      yield* limiter.check(both)
      yield* TestClock.adjust("1 second")
      const second = yield* Effect.flip(limiter.check(both))
      expect(second).toMatchObject({ _tag: "RateLimited", rule: "minute" })
      expect((yield* limiter.status("second", "u")).remaining).toBe(2)
      // data-first, with costs
      const error = yield* Effect.flip(RateLimiter.limit(Effect.succeed(1), [{ rule: "second", key: "v", cost: 3 }]))
      expect(error).toMatchObject({ _tag: "RateLimited", rule: "second" })
    }).pipe(
      withRules({
        second: { algorithm, limit: 2, window: "1 second" },
        minute: { algorithm, limit: 3, window: "1 minute" }
      })
    )
  )

  it.effect("a multi-check with a blocked key or a rule of limit 0 refuses it all, with the honest retryAfter", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const limiter = yield* service
      yield* limiter.block("api", "u", "3 seconds")
      const blocked = yield* Effect.flip(
        limiter.check([
          { rule: "other", key: "u" },
          { rule: "api", key: "u" }
        ])
      )
      expect(blocked).toMatchObject({ _tag: "RateLimited", rule: "api", remaining: 0 })
      expect(Duration.toMillis((blocked as RateLimited).retryAfter)).toBe(3000)
      const off = yield* Effect.flip(
        limiter.check([
          { rule: "other", key: "u" },
          { rule: "off", key: "u" }
        ])
      )
      expect(off).toMatchObject({ _tag: "RateLimited", rule: "off", retryAfter: Duration.infinity })
      expect((yield* limiter.status("other", "u")).remaining).toBe(3)
      const unknown = yield* Effect.flip(limiter.check([{ rule: "nope", key: "u" }]))
      expect(unknown._tag).toBe("ProtectionNotFound")
      const twice = yield* Effect.exit(
        Effect.succeed(1).pipe(
          RateLimiter.limit([
            { rule: "api", key: "k" },
            { rule: "api", key: "k" }
          ])
        )
      )
      expect(twice._tag).toBe("Failure")
      expect((yield* limiter.status("api", "k")).remaining).toBe(3)
    }).pipe(
      withRules({
        api: { algorithm, limit: 3, window: "1 second" },
        other: { algorithm, limit: 3, window: "1 second" },
        off: { algorithm, limit: 0, window: "1 second" }
      })
    )
  )

  it.effect("a multi-check under delay waits for the slot every rule gives", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const limiter = yield* service
      const both = [
        { rule: "a", key: "u" },
        { rule: "b", key: "u" }
      ]
      yield* limiter.check(both)
      const fiber = yield* Effect.forkChild(limiter.check(both), { startImmediately: true })
      // the longest wait is b's, 2 seconds (fixed-window: to its window's end, also 2
      // seconds); the clock moves in steps, with a turn of the event loop between them for a
      // store that answers over the network
      let elapsed = 0
      while (fiber.pollUnsafe() === undefined && elapsed < 60_000) {
        yield* Effect.promise(() => new Promise((resume) => setTimeout(resume, 0)))
        yield* TestClock.adjust("100 millis")
        elapsed += 100
      }
      expect(elapsed).toBeGreaterThanOrEqual(2000)
      expect(elapsed).toBeLessThan(60_000)
      expect((yield* Fiber.join(fiber)).length).toBe(2)
    }).pipe(
      withRules({
        a: { algorithm, limit: 1, window: "1 second", onExceeded: "delay", maxDelay: "5 seconds" },
        b: { algorithm, limit: 1, window: "2 seconds", onExceeded: "delay", maxDelay: "5 seconds" }
      })
    )
  )

  // the seeds' check_rate_limit(key, config): a rule given with the call
  it.effect("an inline rule is validated once, normalised, and keeps one state per key", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const limiter = yield* service
      const written = { algorithm, limit: 2, window: "1 second" } as const
      expect((yield* limiter.checkWith(written, "k")).remaining).toBe(1)
      // the same rule written another way is the same rule, with the same state
      expect((yield* limiter.checkWith({ algorithm, limit: 2, window: 1000 }, "k")).remaining).toBe(0)
      const refused = yield* Effect.flip(Effect.succeed(1).pipe(RateLimiter.limitWith(written, "k")))
      expect(refused).toMatchObject({ _tag: "RateLimited", rule: `inline:${algorithm}:2/1000ms`, key: "k" })
      expect(yield* RateLimiter.limitWith(Effect.succeed(7), written, "other")).toBe(7)
      const invalid = yield* Effect.flip(limiter.checkWith({ algorithm, limit: -1, window: "1 second" }, "k"))
      expect(invalid).toMatchObject({ _tag: "InvalidConfig", path: "rule.limit" })
      const defect = yield* Effect.exit(Effect.succeed(1).pipe(RateLimiter.limitWith({ algorithm, limit: 1, window: "soon" }, "k")))
      expect(defect._tag).toBe("Failure")
    }).pipe(withRules({}))
  )

  // resilience4j RateLimiterTest changeLimitForPeriod / Polly's reloadable options: a rule
  // changed at run time; rate-limiter-flexible has no equivalent (a new limiter per change)
  it.effect("setRule to limit 0 refuses every call, and switched back each key is as time left it", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const limiter = yield* service
      const rule = { algorithm, limit: 3, window: "1 second" } as const
      yield* limiter.check("api", "k")
      yield* limiter.check("api", "k")
      yield* RateLimiter.setRule("api", { ...rule, limit: 0 })
      expect((yield* denial(limiter.check("api", "k"))).retryAfter).toBe(Infinity)
      expect((yield* denial(limiter.check("api", "fresh"))).retryAfter).toBe(Infinity)
      yield* limiter.setRule("api", rule)
      expect((yield* limiter.status("api", "k")).remaining).toBe(1)
      expect((yield* limiter.check("api", "fresh")).remaining).toBe(2)
      const invalid = yield* Effect.flip(limiter.setRule("api", { ...rule, limit: -1 }))
      expect(invalid).toMatchObject({ _tag: "InvalidConfig", path: "rules.api.limit" })
      expect((yield* limiter.status("api", "k")).limit).toBe(3)
      const unknown = yield* Effect.flip(limiter.setRule("nope", rule))
      expect(unknown._tag).toBe("ProtectionNotFound")
    }).pipe(withRules({ api: { algorithm, limit: 3, window: "1 second" } }))
  )
}
