import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { fastPath, guarded, guardedPortable, type Guard } from "../../../src/internal/runtime/guardedCall.js"

const recorder = (admit: (n: number) => number | Effect.Effect<never, string> = (n) => n) => {
  const events: Array<string> = []
  let n = 0
  const guard: Guard<number, string> = {
    admit: () => admit(++n),
    onSuccess: (permit) => void events.push(`success:${permit}`),
    onFailure: (permit, cause) =>
      void events.push(`${Cause.hasInterruptsOnly(cause) ? "interrupt" : Cause.hasDies(cause) ? "die" : "fail"}:${permit}`)
  }
  return { events, guard }
}

describe.each([["fast", guarded], ["portable", guardedPortable]] as const)("guarded call (%s)", (_, run) => {
  it("uses the fast run-loop frame on this effect version", () => expect(fastPath).toBe(true))

  it.effect("reports success, failure, defect, and interruption exactly once each", () =>
    Effect.gen(function*() {
      const { events, guard } = recorder()
      expect(yield* run(Effect.succeed(1), guard)).toBe(1)
      expect(yield* Effect.exit(run(Effect.fail("e"), guard))).toEqual(Exit.fail("e"))
      yield* Effect.exit(run(Effect.die("d"), guard))
      const fiber = yield* Effect.forkChild(run(Effect.never, guard), { startImmediately: true })
      yield* Fiber.interrupt(fiber)
      expect(events).toEqual(["success:1", "fail:2", "die:3", "interrupt:4"])
    }))

  it.effect("admission runs when the effect runs, once per run; a rejection skips the effect", () =>
    Effect.gen(function*() {
      let ran = 0
      const { events, guard } = recorder((n) => n % 2 === 0 ? Effect.fail("rejected") : n)
      const call = run(Effect.sync(() => ran++), guard)
      expect(events).toEqual([])
      yield* call
      expect(yield* Effect.exit(call)).toEqual(Exit.fail("rejected"))
      yield* call
      expect(ran).toBe(2)
      expect(events).toEqual(["success:1", "success:3"])
    }))

  it.effect("the same effect value runs concurrently in many fibers, each with its own permit", () =>
    Effect.gen(function*() {
      const { events, guard } = recorder()
      const call = run(Effect.sleep("1 second"), guard)
      const fibers = yield* Effect.forEach(Array.from({ length: 50 }), () => Effect.forkChild(call, { startImmediately: true }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(fibers)
      expect(new Set(events).size).toBe(50)
    }))

  it.effect("interruption while the call is in an uninterruptible region reports when the region ends", () =>
    Effect.gen(function*() {
      const { events, guard } = recorder()
      const fiber = yield* Effect.forkChild(run(Effect.uninterruptible(Effect.sleep("1 second")), guard), {
        startImmediately: true
      })
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber), { startImmediately: true })
      expect(events).toEqual([])
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(interrupting)
      expect(events.length).toBe(1)
    }))

  it.effect("a nested guarded call reports inner then outer", () =>
    Effect.gen(function*() {
      const outer = recorder()
      const inner = recorder()
      yield* run(run(Effect.void, inner.guard), outer.guard)
      const fiber = yield* Effect.forkChild(run(run(Effect.never, inner.guard), outer.guard), { startImmediately: true })
      yield* Fiber.interrupt(fiber)
      expect(inner.events).toEqual(["success:1", "interrupt:2"])
      expect(outer.events).toEqual(["success:1", "interrupt:2"])
    }))
})
