/**
 * Runtime control (issue 16, "Runtime control"): `configure` validates through the Schema and
 * keeps the breaker's state and counts where the new policy allows.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as CircuitBreaker from "../src/CircuitBreaker.js"

const failing = Effect.fail("boom" as const)
const ok = Effect.succeed("ok" as const)
const calls = (n: number, effect: Effect.Effect<unknown, unknown>, breaker = "db") =>
  Effect.forEach(Array.from({ length: n }), () => Effect.exit(effect.pipe(CircuitBreaker.protect(breaker))), { discard: true })
const statusOf = (breaker = "db") => CircuitBreaker.CircuitBreaker.use((s) => s.status(breaker))
const withBreakers = (options: CircuitBreaker.Options) => Effect.provide(CircuitBreaker.layer(options))

describe("CircuitBreaker.configure", () => {
  it.effect("a bad policy fails InvalidConfig with its path and changes nothing", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(CircuitBreaker.configure("db", { failureThreshold: 0, resetTimout: "1 second" } as never))
      expect(error._tag).toBe("InvalidConfig")
      expect(error.message).toContain("breakers.db.failureThreshold: ")
      expect(error.message).toContain('breakers.db.resetTimout: unknown option "resetTimout"; did you mean "resetTimeout"?')
      const both = yield* Effect.flip(
        CircuitBreaker.configure("db", { failureRateThreshold: 0.5, slidingWindowSize: 20, slidingWindowDuration: "1 minute" })
      )
      expect(both.path).toBe("breakers.db.slidingWindowDuration")
      const isFailure = yield* Effect.flip(CircuitBreaker.configure("db", { isFailure: "yes" as never }))
      expect(isFailure.path).toBe("breakers.db.isFailure")
      yield* calls(2, failing)
      expect((yield* statusOf()).state).toBe("Open") // still the layer's failureThreshold 2
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 2 } } }))
  )

  it.effect("keeps the state and counts: consecutive failures carry over to the new threshold", () =>
    Effect.gen(function* () {
      yield* calls(2, failing)
      yield* CircuitBreaker.configure("db", { failureThreshold: 3 })
      expect((yield* statusOf()).consecutiveFailures).toBe(2)
      yield* calls(1, failing)
      expect((yield* statusOf()).state).toBe("Open")
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 5 } } }))
  )

  it.effect("never trips by itself; the new rules apply from the next call", () =>
    Effect.gen(function* () {
      yield* calls(3, failing)
      yield* CircuitBreaker.configure("db", { failureThreshold: 2 })
      expect((yield* statusOf()).state).toBe("Closed")
      yield* calls(1, failing)
      expect((yield* statusOf()).state).toBe("Open")
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 5 } } }))
  )

  it.effect("an Open breaker keeps its reopening time; the new reset timeout applies from the next opening", () =>
    Effect.gen(function* () {
      yield* calls(1, failing)
      yield* CircuitBreaker.configure("db", { failureThreshold: 1, resetTimeout: "5 seconds" })
      expect(Duration.toMillis((yield* statusOf()).retryAfter!)).toBe(30_000)
      yield* TestClock.adjust("30 seconds")
      yield* calls(1, failing) // failed probe: reopens for the new 5 s
      expect(Duration.toMillis((yield* statusOf()).retryAfter!)).toBe(5_000)
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1 } } }))
  )

  it.effect("a count window keeps its most recent calls up to the new size; another window kind starts empty", () =>
    Effect.gen(function* () {
      yield* calls(4, failing)
      yield* calls(6, ok)
      yield* CircuitBreaker.configure("db", { failureRateThreshold: 0.9, minimumCalls: 4, slidingWindowSize: 4 })
      expect((yield* statusOf()).window).toEqual({ calls: 4, failureRate: 0 })
      yield* CircuitBreaker.configure("db", { failureRateThreshold: 0.9, minimumCalls: 4, slidingWindowDuration: "1 minute" })
      expect((yield* statusOf()).window).toEqual({ calls: 0, failureRate: 0 })
      yield* calls(2, failing)
      yield* CircuitBreaker.configure("db", { failureRateThreshold: 0.5, minimumCalls: 2, slidingWindowDuration: "1 minute" })
      expect((yield* statusOf()).window).toEqual({ calls: 2, failureRate: 1 }) // same window: kept
    }).pipe(withBreakers({ breakers: { db: { failureRateThreshold: 0.9, minimumCalls: 10, slidingWindowSize: 10 } } }))
  )

  it.effect("in HalfOpen, a smaller halfOpenMaxCalls decides the probes that returned at once", () =>
    Effect.gen(function* () {
      yield* calls(1, failing)
      yield* TestClock.adjust("30 seconds")
      yield* calls(2, ok)
      expect((yield* statusOf()).state).toBe("HalfOpen")
      yield* CircuitBreaker.configure("db", { failureThreshold: 1, halfOpenMaxCalls: 2 })
      expect((yield* statusOf()).state).toBe("Closed")
      expect((yield* statusOf()).transitions).toBe(3)
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1, halfOpenMaxCalls: 3 } } }))
  )

  it.effect("a name not in breakers becomes a configured breaker, even with maxBreakers 0", () =>
    Effect.gen(function* () {
      yield* CircuitBreaker.configure("search", { failureThreshold: 1 })
      yield* calls(1, failing, "search")
      expect((yield* statusOf("search")).state).toBe("Open")
      const breakers = yield* CircuitBreaker.CircuitBreaker
      expect(yield* breakers.names).toEqual(["db", "search"])
    }).pipe(withBreakers({ breakers: { db: {} }, maxBreakers: 0 }))
  )

  it.effect("calls running across a configure are recorded under the new rules", () =>
    Effect.gen(function* () {
      const running = yield* Effect.sleep("1 second").pipe(
        Effect.andThen(failing),
        CircuitBreaker.protect("db"),
        Effect.exit,
        Effect.forkChild({ startImmediately: true })
      )
      yield* CircuitBreaker.configure("db", { failureThreshold: 1 })
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(running)
      expect((yield* statusOf()).state).toBe("Open")
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 5 } } }))
  )
})
