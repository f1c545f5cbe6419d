/**
 * A probe's slot is given back wherever an interruption lands. The run loop yields after
 * `MaxOpsBeforeYield` steps and an interruption can land during any yield; varying the budget
 * and the steps before the call puts it between every two steps of a protected call,
 * including the one where the breaker decides (a Closed call and an Open rejection are decided
 * a step before the call's exit frame exists; a probe is admitted only inside it).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, References } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker } from "../src/index.js"
import { steps } from "./support/scenario.js"

const interruptAt = (
  call: Effect.Effect<unknown, unknown, CircuitBreaker.CircuitBreaker>,
  before: number,
  after: number,
  opsBeforeYield: number
) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(Effect.andThen(steps(before), call), { startImmediately: true })
    for (let i = 0; i < after; i++) yield* Effect.yieldNow
    yield* Fiber.interrupt(fiber)
  }).pipe(Effect.provideService(References.MaxOpsBeforeYield, opsBeforeYield))

const status = CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))

describe("CircuitBreaker: interruption at every step", () => {
  it.effect("an interrupted probe always gives its slot back: the next call probes and closes the breaker", () =>
    Effect.gen(function* () {
      let admittedProbes = 0
      for (let opsBeforeYield = 3; opsBeforeYield <= 6; opsBeforeYield++) {
        for (let before = 0; before <= 5; before++) {
          for (let after = 0; after <= 5; after++) {
            yield* CircuitBreaker.CircuitBreaker.use((s) => s.trip("db"))
            yield* TestClock.adjust("1 second") // due: the next call is the one probe
            const probe = Effect.suspend(() => {
              admittedProbes++
              return Effect.never
            }).pipe(CircuitBreaker.protect("db"))
            yield* interruptAt(probe, before, after, opsBeforeYield)
            // the single slot is free again: this call is admitted, and its success closes
            expect(yield* Effect.succeed("ok").pipe(CircuitBreaker.protect("db"))).toBe("ok")
            expect((yield* status).state).toBe("Closed")
          }
        }
      }
      // the interruptions landed both before and after the probe started
      expect(admittedProbes).toBeGreaterThan(0)
      expect(admittedProbes).toBeLessThan(4 * 6 * 6)
    }).pipe(
      Effect.provide(CircuitBreaker.layer({ breakers: { db: { failureThreshold: 1, resetTimeout: "1 second", halfOpenMaxCalls: 1 } } }))
    )
  )

  it.effect("an interrupted Closed call or Open rejection changes nothing but the rejected count", () =>
    Effect.gen(function* () {
      for (let before = 0; before <= 5; before++) {
        for (let after = 0; after <= 5; after++) {
          yield* interruptAt(Effect.never.pipe(CircuitBreaker.protect("db")), before, after, 3)
        }
      }
      expect(yield* status).toMatchObject({ state: "Closed", successes: 0, failures: 0, consecutiveFailures: 0 })
      yield* CircuitBreaker.CircuitBreaker.use((s) => s.trip("db"))
      for (let before = 0; before <= 5; before++) {
        for (let after = 0; after <= 5; after++) {
          yield* interruptAt(Effect.never.pipe(CircuitBreaker.protect("db")), before, after, 3)
        }
      }
      const open = yield* status
      expect(open).toMatchObject({ state: "Open", successes: 0, failures: 0 })
      expect(open.rejected).toBeGreaterThan(0)
    }).pipe(Effect.provide(CircuitBreaker.layer({ breakers: { db: { failureThreshold: 1, resetTimeout: "1 hour" } } })))
  )
})
