import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import {
  buildFast,
  checkFast,
  choose,
  describeCause,
  describeExit,
  environmentVariable,
  type Guard,
  type GuardedCall,
  guardedPortable,
  implementation
} from "../../../src/internal/runtime/guardedCall.js"

const implementations = [
  ["fast", buildFast()],
  ["portable", guardedPortable]
] as const

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

describe("guarded call: the choice of implementation", () => {
  it("the fast implementation matches the portable one on its self-check cases", () => {
    expect(checkFast()).toBeUndefined()
  })

  it("the self-check catches an implementation that differs (the first fast path's lost Fail)", () => {
    const losesFail: GuardedCall = (self, guard) =>
      guardedPortable(self, {
        ...guard,
        onFailure: (permit, cause, fiber) => guard.onFailure(permit, Cause.hasInterrupts(cause) ? Cause.interrupt() : cause, fiber)
      })
    expect(checkFast(losesFail)).toMatch(/^failure while an interrupt is pending in an uninterruptible region: /)
  })

  it("a fast path that fails its check is not used: one warning, then the portable one", () => {
    const warnings: Array<string> = []
    const broken: GuardedCall = () => Effect.die("broken")
    const choice = choose(
      "fast",
      () => broken,
      (message) => void warnings.push(message)
    )
    expect(choice.implementation).toBe("portable")
    expect(choice.call).toBe(guardedPortable)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`${environmentVariable}=fast`)
    expect(choose("fast", buildFast, (message) => void warnings.push(message)).implementation).toBe("fast")
    expect(choose("portable", buildFast, (message) => void warnings.push(message)).implementation).toBe("portable")
    expect(warnings).toHaveLength(1)
  })

  it(`${environmentVariable} decides which implementation runs (portable unless it says fast)`, () => {
    const requested = process.env[environmentVariable]
    expect(implementation()).toBe(requested === "fast" ? "fast" : "portable")
  })
})

describe.each(implementations)("guarded call (%s)", (_, run) => {
  it.effect("reports success, failure, defect, and interruption exactly once each", () =>
    Effect.gen(function* () {
      const { events, guard } = recorder()
      expect(yield* run(Effect.succeed(1), guard)).toBe(1)
      expect(yield* Effect.exit(run(Effect.fail("e"), guard))).toEqual(Exit.fail("e"))
      yield* Effect.exit(run(Effect.die("d"), guard))
      const fiber = yield* Effect.forkChild(run(Effect.never, guard), { startImmediately: true })
      yield* Fiber.interrupt(fiber)
      expect(events).toEqual(["success:1", "fail:2", "die:3", "interrupt:4"])
    })
  )

  it.effect("admission runs when the effect runs, once per run; a rejection skips the effect", () =>
    Effect.gen(function* () {
      let ran = 0
      const { events, guard } = recorder((n) => (n % 2 === 0 ? Effect.fail("rejected") : n))
      const call = run(
        Effect.sync(() => ran++),
        guard
      )
      expect(events).toEqual([])
      yield* call
      expect(yield* Effect.exit(call)).toEqual(Exit.fail("rejected"))
      yield* call
      expect(ran).toBe(2)
      expect(events).toEqual(["success:1", "success:3"])
    })
  )

  it.effect("the same effect value runs concurrently in many fibers, each with its own permit", () =>
    Effect.gen(function* () {
      const { events, guard } = recorder()
      const call = run(Effect.sleep("1 second"), guard)
      const fibers = yield* Effect.forEach(Array.from({ length: 50 }), () => Effect.forkChild(call, { startImmediately: true }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(fibers)
      expect(new Set(events).size).toBe(50)
    })
  )

  it.effect("interruption while the call is in an uninterruptible region reports when the region ends", () =>
    Effect.gen(function* () {
      const { events, guard } = recorder()
      const fiber = yield* Effect.forkChild(run(Effect.uninterruptible(Effect.sleep("1 second")), guard), {
        startImmediately: true
      })
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber), { startImmediately: true })
      expect(events).toEqual([])
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(interrupting)
      expect(events.length).toBe(1)
    })
  )

  it.effect("a nested guarded call reports inner then outer", () =>
    Effect.gen(function* () {
      const outer = recorder()
      const inner = recorder()
      yield* run(run(Effect.void, inner.guard), outer.guard)
      const fiber = yield* Effect.forkChild(run(run(Effect.never, inner.guard), outer.guard), { startImmediately: true })
      yield* Fiber.interrupt(fiber)
      expect(inner.events).toEqual(["success:1", "interrupt:2"])
      expect(outer.events).toEqual(["success:1", "interrupt:2"])
    })
  )
})

/** runs `body` on both implementations; returns what each saw: the exit and the callbacks */
const onBoth = (
  body: (call: (self: Effect.Effect<unknown, unknown>) => Effect.Effect<unknown, unknown>) => Effect.Effect<unknown, unknown>,
  throwing: "never" | "onSuccess" | "onFailure" = "never"
) =>
  Effect.forEach(implementations, ([name, implementation]: readonly [string, GuardedCall]) =>
    Effect.gen(function* () {
      const callbacks: Array<string> = []
      const guard: Guard<number, string> = {
        admit: () => 1,
        onSuccess: () => {
          callbacks.push("onSuccess")
          if (throwing === "onSuccess") throw new Error("callback failed")
        },
        onFailure: (_, cause) => {
          callbacks.push(`onFailure ${describeCause(cause)}`)
          if (throwing === "onFailure") throw new Error("callback failed")
        }
      }
      const exit = yield* Effect.exit(body((self) => implementation(self, guard)))
      return { name, exit: describeExit(exit), callbacks }
    })
  )

describe("guarded call: both implementations agree where the first fast path did not", () => {
  it.effect("a typed failure in an uninterruptible region while an interrupt is pending keeps the Fail", () =>
    Effect.gen(function* () {
      const [fast, portable] = yield* onBoth((call) =>
        Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(
            call(Effect.uninterruptible(Effect.sleep("1 second").pipe(Effect.andThen(Effect.fail("e"))))),
            { startImmediately: true }
          )
          const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber), { startImmediately: true })
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(interrupting)
          return yield* Fiber.await(fiber).pipe(Effect.flatten)
        })
      )
      expect(portable).toEqual({ name: "portable", exit: "Failure(Fail(e),Interrupt)", callbacks: ["onFailure Fail(e),Interrupt"] })
      expect({ ...fast, name: "portable" }).toEqual(portable)
    })
  )

  it.effect("a throwing onFailure adds a defect to the call's cause, which is kept", () =>
    Effect.gen(function* () {
      const [fast, portable] = yield* onBoth((call) => call(Effect.fail("e")), "onFailure")
      expect(portable).toEqual({
        name: "portable",
        exit: "Failure(Die(e),Die(Error: callback failed))",
        callbacks: ["onFailure Fail(e)"]
      })
      expect({ ...fast, name: "portable" }).toEqual(portable)
    })
  )

  it.effect("a throwing onFailure on interruption keeps the interrupt", () =>
    Effect.gen(function* () {
      const [fast, portable] = yield* onBoth(
        (call) =>
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(call(Effect.never), { startImmediately: true })
            yield* Fiber.interrupt(fiber)
            return yield* Fiber.await(fiber).pipe(Effect.flatten)
          }),
        "onFailure"
      )
      expect(portable).toEqual({
        name: "portable",
        exit: "Failure(Interrupt,Die(Error: callback failed))",
        callbacks: ["onFailure Interrupt"]
      })
      expect({ ...fast, name: "portable" }).toEqual(portable)
    })
  )

  it.effect("a throwing onSuccess turns the success into a defect", () =>
    Effect.gen(function* () {
      const [fast, portable] = yield* onBoth((call) => call(Effect.succeed(1)), "onSuccess")
      expect(portable).toEqual({ name: "portable", exit: "Failure(Die(Error: callback failed))", callbacks: ["onSuccess"] })
      expect({ ...fast, name: "portable" }).toEqual(portable)
    })
  )
})
