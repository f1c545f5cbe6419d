/**
 * The fast guarded call against the portable one (effect's public `onExitPrimitive`), on
 * random inner effects: successes, failures, defects, interruptions (self-interruption as a
 * cause, and interrupts left pending, also inside uninterruptible regions), async yields,
 * recovery, nested guarded calls with throwing callbacks and rejections, and interruption
 * from outside after a random number of steps. Both must give the same exit and the same
 * sequence of callback calls.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as fc from "fast-check"
import {
  buildFast,
  describeCause,
  describeExit,
  type Guard,
  type GuardedCall,
  guardedPortable
} from "../../../src/internal/runtime/guardedCall.js"

type Throwing = "never" | "onSuccess" | "onFailure" | "always"

type Program =
  | { readonly _tag: "Succeed"; readonly value: number }
  | { readonly _tag: "Fail"; readonly error: string }
  | { readonly _tag: "Die"; readonly defect: string }
  /** `Effect.interrupt`: fails with an interrupt cause */
  | { readonly _tag: "Interrupt" }
  /** interrupts its own fiber (pending while uninterruptible), then goes on */
  | { readonly _tag: "InterruptSelf"; readonly next: Program }
  | { readonly _tag: "Yield"; readonly next: Program }
  | { readonly _tag: "Uninterruptible"; readonly body: Program }
  | { readonly _tag: "Interruptible"; readonly body: Program }
  | { readonly _tag: "Sequence"; readonly first: Program; readonly second: Program }
  | { readonly _tag: "Recover"; readonly body: Program }
  | { readonly _tag: "Guarded"; readonly body: Program; readonly throwing: Throwing; readonly reject: boolean }

const { program } = fc.letrec<{ program: Program }>((tie) => ({
  program: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ _tag: fc.constant("Succeed" as const), value: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ _tag: fc.constant("Fail" as const), error: fc.constantFrom("e1", "e2") }),
    fc.record({ _tag: fc.constant("Die" as const), defect: fc.constantFrom("d1", "d2") }),
    fc.record({ _tag: fc.constant("Interrupt" as const) }),
    fc.record({ _tag: fc.constant("InterruptSelf" as const), next: tie("program") }),
    fc.record({ _tag: fc.constant("Yield" as const), next: tie("program") }),
    fc.record({ _tag: fc.constant("Uninterruptible" as const), body: tie("program") }),
    fc.record({ _tag: fc.constant("Interruptible" as const), body: tie("program") }),
    fc.record({ _tag: fc.constant("Sequence" as const), first: tie("program"), second: tie("program") }),
    fc.record({ _tag: fc.constant("Recover" as const), body: tie("program") }),
    fc.record({
      _tag: fc.constant("Guarded" as const),
      body: tie("program"),
      throwing: fc.constantFrom<Throwing>("never", "never", "onSuccess", "onFailure", "always"),
      reject: fc.boolean()
    })
  )
}))

const scenario = fc.record({
  throwing: fc.constantFrom<Throwing>("never", "never", "onSuccess", "onFailure", "always"),
  body: program,
  /** interrupt the call from another fiber after this many yields of that fiber */
  interruptAfter: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined })
})

const toEffect = (
  p: Program,
  implementation: GuardedCall,
  events: Array<string>,
  ids: { next: number }
): Effect.Effect<unknown, unknown> => {
  const go = (q: Program) => toEffect(q, implementation, events, ids)
  switch (p._tag) {
    case "Succeed":
      return Effect.succeed(p.value)
    case "Fail":
      return Effect.fail(p.error)
    case "Die":
      return Effect.die(p.defect)
    case "Interrupt":
      return Effect.interrupt
    case "InterruptSelf":
      return Effect.withFiber((fiber) => {
        fiber.interruptUnsafe(fiber.id)
        return go(p.next)
      })
    case "Yield":
      return Effect.andThen(Effect.yieldNow, go(p.next))
    case "Uninterruptible":
      return Effect.uninterruptible(go(p.body))
    case "Interruptible":
      return Effect.interruptible(go(p.body))
    case "Sequence":
      return Effect.andThen(go(p.first), go(p.second))
    case "Recover":
      return Effect.catchCause(go(p.body), (cause) => Effect.succeed(`recovered ${describeCause(cause)}`))
    case "Guarded":
      return guardedCall(implementation, go(p.body), p.throwing, p.reject, events, ids)
  }
}

const guardedCall = (
  implementation: GuardedCall,
  self: Effect.Effect<unknown, unknown>,
  throwing: Throwing,
  reject: boolean,
  events: Array<string>,
  ids: { next: number }
) => {
  const id = ids.next++
  const guard: Guard<number, string> = {
    admit: () => {
      events.push(`${id} admit${reject ? " (rejected)" : ""}`)
      return reject ? Effect.fail(`rejected ${id}`) : id
    },
    onSuccess: (permit) => {
      events.push(`${id} onSuccess ${permit}`)
      if (throwing === "onSuccess" || throwing === "always") throw `thrown by ${id}`
    },
    onFailure: (permit, cause) => {
      events.push(`${id} onFailure ${permit} ${describeCause(cause)}`)
      if (throwing === "onFailure" || throwing === "always") throw `thrown by ${id}`
    }
  }
  return implementation(self, guard)
}

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never

const runScenario = (implementation: GuardedCall, s: Scenario) => {
  const events: Array<string> = []
  const ids = { next: 0 }
  const call = guardedCall(implementation, toEffect(s.body, implementation, events, ids), s.throwing, false, events, ids)
  return Effect.runPromise(
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(call, { startImmediately: true })
      if (s.interruptAfter !== undefined) {
        for (let i = 0; i < s.interruptAfter; i++) yield* Effect.yieldNow
        yield* Fiber.interrupt(fiber)
      }
      const exit = yield* Fiber.await(fiber)
      return { exit: describeExit(exit), events }
    })
  )
}

describe("guarded call: fast and portable agree", () => {
  const fast = buildFast()
  it("on random inner effects: same exit, same callbacks", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const expected = await runScenario(guardedPortable, s)
        const actual = await runScenario(fast, s)
        expect(actual).toEqual(expected)
      }),
      { numRuns: 400 }
    )
  })
})
