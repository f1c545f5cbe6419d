/**
 * The recipes of docs/testing.md, run as tests: each `it` below is one recipe, written as an
 * application's own test would be (public API only, TestClock for time, no ports bound).
 * Keep the two in step: a recipe that changes here changes in the guide.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker, Foundation, HealthAggregator, Protection, MemoryManager, RateLimiter } from "../../src/index.js"

// --- Recipe 1: a breaker opens, rejects, and recovers --------------------------------------

const flakyPayments = (outcomes: { fail: boolean }) =>
  Effect.suspend(() => (outcomes.fail ? Effect.fail("payments down" as const) : Effect.succeed("charged" as const)))

describe("testing guide", () => {
  it.effect("a breaker opens after its threshold, rejects without calling, and closes after a probe", () =>
    Effect.gen(function* () {
      const outcomes = { fail: true }
      const charge = flakyPayments(outcomes).pipe(CircuitBreaker.protect("payments"))

      for (let i = 0; i < 3; i++) yield* Effect.exit(charge)
      const rejected = yield* Effect.flip(charge)
      expect(rejected).toMatchObject({ _tag: "CircuitBreakerOpen", breaker: "payments" })

      outcomes.fail = false
      yield* TestClock.adjust("30 seconds") // the reset timeout: the next call is a probe
      expect(yield* charge).toBe("charged")
      const status = yield* CircuitBreaker.CircuitBreaker.use((breakers) => breakers.status("payments"))
      expect(status.state).toBe("Closed")
    }).pipe(Effect.provide(CircuitBreaker.layer({ breakers: { payments: { failureThreshold: 3, resetTimeout: "30 seconds" } } })))
  )

  // --- Recipe 2: a limit holds, and frees up as time passes ----------------------------------

  it.effect("a limit admits its quota per window and nothing more until the window moves", () =>
    Effect.gen(function* () {
      const call = Effect.succeed("ok").pipe(RateLimiter.limit("per-user", "alice"))
      for (let i = 0; i < 5; i++) expect(yield* call).toBe("ok")
      const limited = yield* Effect.flip(call)
      expect(limited._tag).toBe("RateLimited")
      // other keys have their own quota
      expect(yield* Effect.succeed("ok").pipe(RateLimiter.limit("per-user", "bob"))).toBe("ok")
      yield* TestClock.adjust("1 minute")
      expect(yield* call).toBe("ok")
    }).pipe(Effect.provide(RateLimiter.layer({ rules: { "per-user": { algorithm: "fixed-window", limit: 5, window: "1 minute" } } })))
  )

  // --- Recipe 3: memory pressure from a scripted source --------------------------------------

  it.effect("load is shed while the scripted heap is over the threshold, and admitted again below it", () =>
    Effect.gen(function* () {
      const heap = { used: 0.5 }
      const source = Layer.succeed(
        MemoryManager.MemorySource,
        MemoryManager.MemorySource.of({
          read: Effect.sync(() => ({
            heapUsed: heap.used * 1_000,
            heapTotal: 1_000,
            heapLimit: 1_000,
            rss: 0,
            external: 0,
            cgroupLimit: undefined,
            eventLoop: undefined
          }))
        })
      )
      const handler = MemoryManager.guard(Effect.succeed("served"))
      const run = Effect.gen(function* () {
        expect(yield* handler).toBe("served")
        heap.used = 0.97
        yield* TestClock.adjust("1 second") // the next reading
        expect((yield* Effect.flip(handler))._tag).toBe("MemoryPressure")
        heap.used = 0.5
        yield* TestClock.adjust("1 second")
        expect(yield* handler).toBe("served")
      })
      yield* run.pipe(Effect.provide(MemoryManager.layerWithSource({ rejectAt: "critical" }).pipe(Layer.provide(source))))
    })
  )

  // --- Recipe 4: the whole configuration in a test, no port bound ----------------------------

  it.effect("Foundation from a test configuration: profiles work and no health port is bound", () =>
    Effect.gen(function* () {
      const checkout = (effect: Effect.Effect<string, string>) =>
        Protection.Protection.use((protection) => protection.execute("checkout", effect, { key: "alice" }))
      expect(yield* checkout(Effect.succeed("paid"))).toBe("paid")
      expect((yield* HealthAggregator.systemHealth).status).toBe("healthy")
      for (let i = 0; i < 2; i++) yield* Effect.exit(checkout(Effect.fail("gateway down")))
      expect(yield* Effect.flip(checkout(Effect.fail("gateway down")))).toMatchObject({ _tag: "CircuitBreakerOpen" })
    }).pipe(Effect.provide(Foundation.layer(testConfig)))
  )
})

// A test's configuration: the production one without `health.http`, so nothing listens, and
// with thresholds small enough for a test to reach.
const testConfig = {
  circuitBreaker: { breakers: { payments: { failureThreshold: 2, resetTimeout: "10 seconds" } } },
  rateLimiter: { rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } } },
  protections: { checkout: { rateLimit: { rule: "api" }, circuitBreaker: "payments", timeout: "2 seconds" } }
} as const
