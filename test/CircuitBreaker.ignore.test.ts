/**
 * `protect`'s `ignore` option: errors that say nothing about the dependency (our own pool or
 * bulkhead being full) are neither a success nor a failure of the breaker. The Protection facade
 * uses it for `PoolCheckoutTimeout`, `PoolExhausted` and `BulkheadFull`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit } from "effect"
import { TestClock } from "effect/testing"
import { BulkheadFull, InvalidConfig, PoolCheckoutTimeout, PoolExhausted } from "../src/Errors.js"
import { CircuitBreaker } from "../src/index.js"

const ownCapacity = (error: unknown): boolean => {
  const code = (error as { readonly code?: unknown } | null)?.code
  return code === "pool_checkout_timeout" || code === "pool_exhausted" || code === "bulkhead_full"
}
const full = new BulkheadFull({ bulkhead: "db", maxConcurrent: 1 })
const busy = new PoolCheckoutTimeout({ pool: "db", timeout: Duration.seconds(1), waiting: 3 })
const exhausted = new PoolExhausted({ pool: "db", maxWaiting: 10 })

const statusOf = (breaker = "db") => CircuitBreaker.CircuitBreaker.use((s) => s.status(breaker))
const withBreakers = (options: CircuitBreaker.Options) => Effect.provide(CircuitBreaker.layer(options))
const protectIgnoring = <A, E>(effect: Effect.Effect<A, E>) => CircuitBreaker.protect(effect, "db", { ignore: ownCapacity })

describe("CircuitBreaker.protect with ignore", () => {
  it.effect("an ignored error passes through unchanged and counts neither way", () =>
    Effect.gen(function* () {
      for (const error of [full, busy, exhausted, full, busy]) {
        expect(yield* Effect.exit(protectIgnoring(Effect.fail(error)))).toEqual(Exit.fail(error))
      }
      expect(yield* statusOf()).toMatchObject({ state: "Closed", failures: 0, successes: 0, consecutiveFailures: 0 })
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 2 } } }))
  )

  it.effect("data-last, in a pipe, is the same", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 3; i++) yield* Effect.exit(Effect.fail(full).pipe(CircuitBreaker.protect("db", { ignore: ownCapacity })))
      expect(yield* statusOf()).toMatchObject({ state: "Closed", failures: 0 })
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 2 } } }))
  )

  it.effect("errors it does not accept still count, and still open the breaker", () =>
    Effect.gen(function* () {
      yield* Effect.exit(protectIgnoring(Effect.fail("503")))
      yield* Effect.exit(protectIgnoring(Effect.fail(full)))
      yield* Effect.exit(protectIgnoring(Effect.fail("503")))
      expect(yield* statusOf()).toMatchObject({ state: "Open", failures: 2 })
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 2 } } }))
  )

  it.effect("an ignored error does not break a run of consecutive failures (it is not a success)", () =>
    Effect.gen(function* () {
      yield* Effect.exit(protectIgnoring(Effect.fail("503")))
      yield* Effect.exit(protectIgnoring(Effect.fail(busy)))
      expect(yield* statusOf()).toMatchObject({ consecutiveFailures: 1 })
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 3 } } }))
  )

  it.effect("a half-open probe that meets only our own capacity gives its slot back: the next call probes", () =>
    Effect.gen(function* () {
      yield* Effect.exit(protectIgnoring(Effect.fail("503")))
      expect((yield* statusOf()).state).toBe("Open")
      yield* TestClock.adjust("10 seconds")
      expect(yield* Effect.exit(protectIgnoring(Effect.fail(busy)))).toEqual(Exit.fail(busy))
      // neither closed (a success) nor reopened (a failure), and the probe slot is free again
      expect((yield* statusOf()).state).toBe("HalfOpen")
      expect(yield* protectIgnoring(Effect.succeed("ok"))).toBe("ok")
      expect((yield* statusOf()).state).toBe("Closed")
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1, resetTimeout: "10 seconds", halfOpenMaxCalls: 1 } } }))
  )

  it.effect("a defect is never ignored, nor an error when ignore throws", () =>
    Effect.gen(function* () {
      const always = { ignore: () => true }
      const throwing = {
        ignore: (): boolean => {
          throw new Error("bug in ignore")
        }
      }
      yield* Effect.exit(CircuitBreaker.protect(Effect.die("bug"), "db", always))
      yield* Effect.exit(CircuitBreaker.protect(Effect.fail(full), "db", throwing))
      expect(yield* statusOf()).toMatchObject({ failures: 2 })
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 5 } } }))
  )

  it.effect("a failure with an ignored error and another one counts as a failure", () =>
    Effect.gen(function* () {
      const both = Effect.failCause(Cause.combine(Cause.fail(full), Cause.fail("503")))
      yield* Effect.exit(protectIgnoring(both))
      expect(yield* statusOf()).toMatchObject({ failures: 1 })
    }).pipe(withBreakers({ breakers: { db: { failureThreshold: 5 } } }))
  )

  it.effect("successes still count as successes", () =>
    Effect.gen(function* () {
      yield* protectIgnoring(Effect.succeed(1))
      expect(yield* statusOf()).toMatchObject({ successes: 1 })
    }).pipe(withBreakers({ breakers: { db: {} } }))
  )

  it.effect("an unknown option or an ignore that is not a function is a defect, InvalidConfig", () =>
    Effect.gen(function* () {
      const typo = yield* Effect.exit(CircuitBreaker.protect(Effect.succeed(1), "db", { ignor: ownCapacity } as never))
      const defect = Exit.isFailure(typo) ? Cause.squash(typo.cause) : undefined
      expect(defect).toBeInstanceOf(InvalidConfig)
      expect(defect).toMatchObject({ path: "ignor" })
      expect((defect as InvalidConfig).message).toContain('did you mean "ignore"?')
      const notAFunction = yield* Effect.exit(Effect.succeed(1).pipe(CircuitBreaker.protect("db", { ignore: "bulkhead_full" } as never)))
      const second = Exit.isFailure(notAFunction) ? Cause.squash(notAFunction.cause) : undefined
      expect(second).toMatchObject({ path: "ignore" })
      // nothing ran through the breaker
      expect(yield* CircuitBreaker.CircuitBreaker.use((s) => s.names)).toEqual(["db"])
      expect(yield* statusOf()).toMatchObject({ successes: 0, failures: 0 })
    }).pipe(withBreakers({ breakers: { db: {} } }))
  )
})
