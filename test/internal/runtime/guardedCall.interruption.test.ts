/**
 * Every admitted guarded call is completed, wherever an interruption lands. The run loop yields
 * to the scheduler after `MaxOpsBeforeYield` steps (3 is the smallest budget that makes
 * progress), and an interruption from another fiber can
 * arrive during any such yield; with a small budget and a varying number of steps before the
 * call, the yield (and so the interruption) falls between every two steps of the call,
 * including between `admit` and the step that installs the exit frame. The tally proves that
 * each `admit` that returned a permit is matched by exactly one `onSuccess` / `onFailure`.
 *
 * The portable call used to take its permit in a `withFiber` step and install its frame in the
 * next one; a yield between the two, then an interruption, lost the permit (24 of the 486
 * cases of the first test leaked). Why it cannot leak now: it installs its exit frame (`onExitPrimitive`) first and
 * calls `admit` inside it, in the same synchronous step that hands the admitted effect to the
 * run loop, so there is no loop step (no yield, no pending-interrupt check) between taking a
 * permit and the frame that gives it back. The fast call pushes its frame in the same step as
 * `admit`. A throwing `wrap` runs after admission, inside the frame, so it is reported too.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, References } from "effect"
import { buildFast, type Guard, guardedPortable } from "../../../src/internal/runtime/guardedCall.js"
import { steps } from "../../support/scenario.js"

const implementations = [
  ["fast", buildFast()],
  ["portable", guardedPortable]
] as const

interface Tally {
  admitted: number
  completed: number
  rejected: number
}

const countingGuard = (tally: Tally, options: { readonly reject?: boolean; readonly wrap?: Guard<number, string>["wrap"] } = {}) =>
  ({
    admit: () => {
      if (options.reject) {
        tally.rejected++
        return Effect.fail("rejected")
      }
      return ++tally.admitted
    },
    onSuccess: () => void tally.completed++,
    onFailure: () => void tally.completed++,
    wrap: options.wrap
  }) satisfies Guard<number, string>

/** forks `steps(before)` then the call, lets the child run `after` yields, interrupts it */
const interruptAt = (call: Effect.Effect<unknown, unknown>, before: number, after: number, opsBeforeYield: number) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(Effect.andThen(steps(before), call), { startImmediately: true })
    for (let i = 0; i < after; i++) yield* Effect.yieldNow
    yield* Fiber.interrupt(fiber)
  }).pipe(Effect.provideService(References.MaxOpsBeforeYield, opsBeforeYield))

describe.each(implementations)("guarded call (%s): interruption at every step", (_, run) => {
  const bodies: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
    ["a never-ending effect", Effect.never],
    ["a short synchronous effect", steps(3)],
    ["an effect that yields", Effect.andThen(Effect.yieldNow, Effect.yieldNow)],
    ["a failing effect", Effect.andThen(steps(2), Effect.fail("e"))]
  ]
  for (const [name, body] of bodies) {
    it.effect(`an admitted call around ${name} is always completed`, () =>
      Effect.gen(function* () {
        const tally: Tally = { admitted: 0, completed: 0, rejected: 0 }
        for (let opsBeforeYield = 3; opsBeforeYield <= 8; opsBeforeYield++) {
          for (let before = 0; before <= 8; before++) {
            for (let after = 0; after <= 8; after++) {
              yield* interruptAt(run(body, countingGuard(tally)), before, after, opsBeforeYield)
              expect({ opsBeforeYield, before, after, open: tally.admitted - tally.completed }).toEqual({
                opsBeforeYield,
                before,
                after,
                open: 0
              })
            }
          }
        }
        // the interruptions landed both before and after admission
        expect(tally.admitted).toBeGreaterThan(0)
        expect(tally.admitted).toBeLessThan(6 * 9 * 9)
      })
    )
  }

  it.effect("a call whose wrap adds steps (a timeout, say) is always completed", () =>
    Effect.gen(function* () {
      const tally: Tally = { admitted: 0, completed: 0, rejected: 0 }
      const wrap = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.andThen(steps(3), self)
      for (let opsBeforeYield = 3; opsBeforeYield <= 6; opsBeforeYield++) {
        for (let before = 0; before <= 6; before++) {
          for (let after = 0; after <= 6; after++) {
            yield* interruptAt(run(Effect.never, countingGuard(tally, { wrap })), before, after, opsBeforeYield)
            expect(tally.admitted - tally.completed).toBe(0)
          }
        }
      }
      expect(tally.admitted).toBeGreaterThan(0)
    })
  )

  it.effect("a throwing wrap is reported as a defect of the admitted call", () =>
    Effect.gen(function* () {
      const tally: Tally = { admitted: 0, completed: 0, rejected: 0 }
      const wrap = (): never => {
        throw new Error("wrap")
      }
      const exit = yield* Effect.exit(run(Effect.void, countingGuard(tally, { wrap })))
      expect(exit._tag).toBe("Failure")
      expect(tally).toEqual({ admitted: 1, completed: 1, rejected: 0 })
    })
  )

  // a guard's admitEarly (the portable call decides there, before its frame): deferring to
  // admit keeps every permit completed; an early rejection takes nothing
  it.effect("a guard whose admitEarly defers to admit: every admitted call is completed", () =>
    Effect.gen(function* () {
      const tally: Tally = { admitted: 0, completed: 0, rejected: 0 }
      let early = 0
      const guard: Guard<number, string> = { ...countingGuard(tally), admitEarly: () => void early++ }
      for (let opsBeforeYield = 3; opsBeforeYield <= 6; opsBeforeYield++) {
        for (let before = 0; before <= 6; before++) {
          for (let after = 0; after <= 6; after++) {
            yield* interruptAt(run(Effect.never, guard), before, after, opsBeforeYield)
            expect(tally.admitted - tally.completed).toBe(0)
          }
        }
      }
      expect(tally.admitted).toBeGreaterThan(0)
      if (run === guardedPortable) expect(early).toBeGreaterThanOrEqual(tally.admitted)
    })
  )

  it.effect("an early rejection takes nothing and completes nothing; an early permit is completed at most once", () =>
    Effect.gen(function* () {
      const tally: Tally = { admitted: 0, completed: 0, rejected: 0 }
      const rejecting: Guard<number, string> = {
        ...countingGuard(tally),
        admitEarly: () => {
          tally.rejected++
          return Effect.fail("rejected")
        }
      }
      const admitting: Guard<number, string> = { ...countingGuard(tally), admitEarly: () => ++tally.admitted }
      for (let before = 0; before <= 6; before++) {
        for (let after = 0; after <= 6; after++) {
          yield* interruptAt(run(Effect.never, rejecting), before, after, 3)
        }
      }
      expect(tally.completed).toBe(run === guardedPortable ? 0 : tally.admitted)
      const exit = yield* Effect.exit(run(Effect.fail("e"), admitting))
      expect(exit._tag).toBe("Failure")
      for (let before = 0; before <= 6; before++) {
        for (let after = 0; after <= 6; after++) {
          yield* interruptAt(run(Effect.never, admitting), before, after, 3)
          expect(tally.completed).toBeLessThanOrEqual(tally.admitted)
        }
      }
    })
  )

  it.effect("a rejected call takes nothing and completes nothing, wherever it is interrupted", () =>
    Effect.gen(function* () {
      const tally: Tally = { admitted: 0, completed: 0, rejected: 0 }
      for (let before = 0; before <= 6; before++) {
        for (let after = 0; after <= 6; after++) {
          yield* interruptAt(run(Effect.never, countingGuard(tally, { reject: true })), before, after, 3)
        }
      }
      expect(tally.admitted).toBe(0)
      expect(tally.completed).toBe(0)
      expect(tally.rejected).toBeGreaterThan(0)
    })
  )
})
