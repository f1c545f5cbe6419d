/**
 * A "guarded call" effect: runs a synchronous admission check when the effect is *run*, then
 * the wrapped effect, then a synchronous completion callback with the exit. Every breaker
 * call goes through it, so it is the hot path of a protection.
 *
 * Two implementations with the same semantics:
 *
 * - **portable** (the default): effect's public API, `Effect.withFiber` + `Effect.onExitPrimitive`
 *   with a callback that returns no effect. It is the reference: whatever effect does with an
 *   `onExit` finalizer (interruption, uninterruptible regions, a throwing finalizer) is what a
 *   guarded call does, on any effect release.
 * - **fast** (opt-in, `EFFECT_FOUNDATION_GUARDED_CALL=fast`): one frame on the run loop's private
 *   protocol (`evaluate`, `successCont`, `failureCont`, `ensureCont`, `fiber._stack`), which
 *   saves the `withFiber` step, the `Exit` of a success and one loop step (about 100 ns a
 *   call, a quarter of a Closed breaker's overhead). It copies what `onExitPrimitive` does,
 *   step for step (see `buildFast`). The protocol is private and may change in any effect
 *   release, patches included, which is why it is not the default: the first guarded call
 *   checks the fast path against the portable one on a set of synchronous cases
 *   (`checkFast`), and if they differ it logs one warning and uses the portable one.
 *
 * Nothing runs at import time (the package has `"sideEffects": false`): the switch is read,
 * and the check made, on the first call of `guarded`.
 */
import type { Cause, Fiber } from "effect"
import { Effect, Exit } from "effect"

/**
 * The hooks of a guarded call. `admit` runs when the effect starts: it returns a permit
 * (any value, passed back to `complete`) or a rejection effect (recognised by `Effect.isEffect`).
 */
export interface Guard<Permit, Rejection> {
  readonly admit: (fiber: Fiber.Fiber<unknown, unknown>) => Permit | Effect.Effect<never, Rejection>
  readonly onSuccess: (permit: Permit, fiber: Fiber.Fiber<unknown, unknown>) => void
  /** failures, defects and interruptions: inspect the cause to tell them apart */
  readonly onFailure: (permit: Permit, cause: Cause.Cause<unknown>, fiber: Fiber.Fiber<unknown, unknown>) => void
  /**
   * Optional: admission decided one run-loop step before the portable call's exit frame exists,
   * which saves that call two steps and, for a rejection, the frame altogether. It returns a
   * rejection effect, a permit, or `undefined` to let `admit` decide inside the frame. An
   * interruption landing between this step and the frame's means no callback for a permit
   * taken here: return only permits whose loss holds nothing back (a Closed breaker's call,
   * which takes no slot), never a slot or a lease. The fast call ignores it (`admit` already
   * runs in its frame's step).
   */
  readonly admitEarly?: ((fiber: Fiber.Fiber<unknown, unknown>) => Permit | Effect.Effect<never, Rejection> | undefined) | undefined
  /** optionally wraps the admitted effect (a timeout, say); called right after `admit` (or `admitEarly`) */
  readonly wrap?: (<A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, any, R>) | undefined
}

export type GuardedCall = <A, E, R, Permit, Rejection>(
  self: Effect.Effect<A, E, R>,
  guard: Guard<Permit, Rejection>
) => Effect.Effect<A, E | Rejection, R>

export type Implementation = "portable" | "fast"

/** The environment variable choosing the implementation: `portable` (default) or `fast`. */
export const environmentVariable = "EFFECT_FOUNDATION_GUARDED_CALL"

/**
 * The public-API implementation. The callback runs where `onExit` finalizers run (the fiber
 * made uninterruptible for it); it returns no effect, so nothing else runs after it. A
 * throwing callback is a defect: `onExitPrimitive` turns a throwing success callback into a
 * `Die`, and adds the `Die` to the cause of a failure.
 *
 * The exit frame is installed first and `admit` runs inside it: the run loop may yield to the
 * scheduler (or act on a pending interruption) between any two steps, so a permit taken in
 * the step before the frame's could be lost to an interruption landing there, with no
 * `onFailure` to give it back. Inside the frame, `admit` and handing the admitted effect to
 * the loop are one step; a call interrupted before it is not admitted and reports nothing,
 * and a throwing `wrap` is a defect of the admitted call. (The fast implementation pushes its
 * frame in the same step as `admit`.)
 *
 * A guard's `admitEarly` decides first, in the `withFiber` step: a rejection skips the frame,
 * an early permit (one whose loss holds nothing back) gets its frame the step after.
 */
export const guardedPortable: GuardedCall = <A, E, R, Permit, Rejection>(
  self: Effect.Effect<A, E, R>,
  guard: Guard<Permit, Rejection>
): Effect.Effect<A, E | Rejection, R> =>
  Effect.withFiber<A, E | Rejection, R>((fiber) => {
    if (guard.admitEarly !== undefined) {
      const early = guard.admitEarly(fiber)
      if (early !== undefined) {
        if (Effect.isEffect(early)) return early
        return Effect.onExitPrimitive(guard.wrap === undefined ? self : wrapOrDie(guard, self), (exit) => {
          if (exit._tag === "Success") guard.onSuccess(early, fiber)
          else guard.onFailure(early, exit.cause, fiber)
          return undefined
        })
      }
    }
    // per run: the same guarded effect may run many times, and in several fibers at once
    let admitted = false
    let permit: Permit
    return Effect.onExitPrimitive(
      Effect.suspend(() => {
        const admission = guard.admit(fiber)
        if (Effect.isEffect(admission)) return admission
        permit = admission
        admitted = true
        return guard.wrap === undefined ? self : guard.wrap(self)
      }),
      (exit) => {
        if (!admitted) return undefined
        if (exit._tag === "Success") guard.onSuccess(permit, fiber)
        else guard.onFailure(permit, exit.cause, fiber)
        return undefined
      }
    )
  })

/** a throwing `wrap` after `admitEarly`: a defect inside the frame, as in the fast call */
const wrapOrDie = <A, E, R>(guard: Guard<any, any>, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  try {
    return guard.wrap!(self) as Effect.Effect<A, E, R>
  } catch (defect) {
    return Effect.die(defect)
  }
}

// --- the fast implementation -------------------------------------------------------------

const EffectTypeId = "~effect/Effect"
const identifier = `${EffectTypeId}/identifier`
const evaluate = `${EffectTypeId}/evaluate`
const contA = `${EffectTypeId}/successCont`
const contE = `${EffectTypeId}/failureCont`
const contAll = `${EffectTypeId}/ensureCont`

/** The run loop's view of a fiber (effect's `FiberImpl`), as far as the fast path uses it. */
interface LoopFiber extends Fiber.Fiber<unknown, unknown> {
  interruptible: boolean
  readonly _stack: Array<object>
  readonly _interruptedCause: Cause.Cause<never> | undefined
  succeedWith(value: unknown): unknown
}

/**
 * Builds the fast implementation on effect's run-loop protocol. Throws when the protocol is
 * not there. Mirrors `OnExitImpl` in effect's `internal/effect.ts`:
 * - `ensureCont` runs whenever the frame is popped (success, failure, or unwinding by
 *   interruption). While the fiber is interruptible it makes it uninterruptible and pushes a
 *   frame that restores interruptibility (and resumes a pending interruption) after the
 *   callback. This stops an interruption's unwinding at this frame, so the callback always
 *   sees the exit, with typed failures kept, exactly like an `onExit` finalizer.
 * - `successCont` / `failureCont` call the callback; a throw becomes the defect
 *   `onExitPrimitive` would produce.
 */
export const buildFast = (): GuardedCall => {
  const base = Object.getPrototypeOf(Effect.onExitPrimitive(Effect.void, () => undefined))
  for (const key of [evaluate, contA, contE, contAll]) {
    if (typeof base?.[key] !== "function") throw new Error(`effect's run-loop protocol has no ${key}`)
  }

  // restores interruptibility after the callback: effect's `setInterruptible(true)` frame
  const restoreInterruptible = {
    [contAll](fiber: LoopFiber) {
      fiber.interruptible = true
      const interrupted = fiber._interruptedCause
      if (interrupted !== undefined) return () => Exit.failCause(interrupted)
    }
  }

  interface Call {
    readonly self: Effect.Effect<any, any, any>
    readonly guard: Guard<any, any>
  }
  interface Frame {
    readonly guard: Guard<any, any>
    readonly permit: unknown
  }
  const Call = function (this: Call, self: Effect.Effect<any, any, any>, guard: Guard<any, any>) {
    ;(this as { self: unknown }).self = self
    ;(this as { guard: unknown }).guard = guard
  } as unknown as new (
    self: Effect.Effect<any, any, any>,
    guard: Guard<any, any>
  ) => Effect.Effect<any, any, any>
  const Frame = function (this: Frame, guard: Guard<any, any>, permit: unknown) {
    ;(this as { guard: unknown }).guard = guard
    ;(this as { permit: unknown }).permit = permit
  } as unknown as new (
    guard: Guard<any, any>,
    permit: unknown
  ) => Frame

  const callProto = Object.create(base)
  callProto[identifier] = "GuardedCall"
  callProto[contA] = undefined
  callProto[contE] = undefined
  callProto[contAll] = undefined
  callProto[evaluate] = function (this: Call, fiber: LoopFiber) {
    const guard = this.guard
    const permit = guard.admit(fiber)
    if (Effect.isEffect(permit)) return permit
    fiber._stack.push(new Frame(guard, permit))
    return guard.wrap === undefined ? this.self : guard.wrap(this.self)
  }
  Call.prototype = callProto

  const frameProto = Object.create(base)
  frameProto[identifier] = "GuardedFrame"
  frameProto[evaluate] = undefined
  frameProto[contAll] = function (this: Frame, fiber: LoopFiber) {
    if (fiber.interruptible) {
      fiber._stack.push(restoreInterruptible)
      fiber.interruptible = false
    }
  }
  frameProto[contA] = function (this: Frame, value: unknown, fiber: LoopFiber, exit?: Exit.Exit<unknown, unknown>) {
    try {
      this.guard.onSuccess(this.permit, fiber)
    } catch (defect) {
      return Exit.die(defect)
    }
    // hand the value straight to the next continuation (no Exit for the loop to unwrap)
    return exit ?? fiber.succeedWith(value)
  }
  frameProto[contE] = function (this: Frame, cause: Cause.Cause<unknown>, fiber: LoopFiber, exit?: Exit.Exit<unknown, unknown>) {
    try {
      this.guard.onFailure(this.permit, cause, fiber)
    } catch (defect) {
      // what onExitPrimitive makes of it: the defect combined with the call's cause (the
      // fiber is uninterruptible here, so this region flag changes nothing)
      return Effect.onExitPrimitive(Exit.failCause(cause), () => Exit.die(defect), true)
    }
    return exit ?? Exit.failCause(cause)
  }
  Frame.prototype = frameProto

  return ((self, guard) => new Call(self, guard)) as GuardedCall
}

// --- the self-check ----------------------------------------------------------------------

/** An exit as text, comparable across runs (interrupts carry fiber ids, which differ). */
export const describeExit = (exit: Exit.Exit<unknown, unknown>): string =>
  exit._tag === "Success" ? `Success(${String(exit.value)})` : `Failure(${describeCause(exit.cause)})`

export const describeCause = (cause: Cause.Cause<unknown>): string =>
  cause.reasons
    .map((reason) =>
      reason._tag === "Fail" ? `Fail(${String(reason.error)})` : reason._tag === "Die" ? `Die(${String(reason.defect)})` : "Interrupt"
    )
    .join(",")

/** interrupts the running fiber without leaving the run loop (interruption pending) */
const interruptSelf = <A, E>(then: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.withFiber((fiber) => {
    fiber.interruptUnsafe(fiber.id)
    return then
  })

interface Case {
  readonly name: string
  readonly body: (call: (self: Effect.Effect<unknown, unknown>) => Effect.Effect<unknown, unknown>) => Effect.Effect<unknown, unknown>
  readonly admit?: Effect.Effect<never, string>
  readonly throws?: boolean
  readonly throwingWrap?: boolean
}

// Synchronous cases where a guarded call could tell the two implementations apart: every
// kind of exit, a rejection, a wrap, interruption pending inside and around uninterruptible
// regions (typed failure kept), throwing callbacks, and what a caller's handler then sees.
const cases: ReadonlyArray<Case> = [
  { name: "success", body: (call) => call(Effect.succeed(7)) },
  { name: "failure", body: (call) => call(Effect.fail("e")) },
  { name: "defect", body: (call) => call(Effect.die("d")) },
  { name: "rejection", body: (call) => call(Effect.succeed(1)), admit: Effect.fail("r") },
  { name: "interrupted", body: (call) => call(interruptSelf(Effect.succeed(1))) },
  {
    name: "failure while an interrupt is pending in an uninterruptible region",
    body: (call) => call(Effect.uninterruptible(interruptSelf(Effect.fail("e"))))
  },
  {
    name: "the same, seen by the caller's Effect.exit",
    body: (call) => Effect.exit(call(Effect.uninterruptible(interruptSelf(Effect.fail("e")))))
  },
  {
    name: "success while an interrupt is pending in an uninterruptible region",
    body: (call) => call(Effect.uninterruptible(interruptSelf(Effect.succeed(1))))
  },
  {
    name: "a call inside an uninterruptible region, interrupt pending",
    body: (call) => Effect.uninterruptible(call(interruptSelf(Effect.fail("e"))))
  },
  { name: "throwing success callback", body: (call) => call(Effect.succeed(1)), throws: true },
  { name: "throwing failure callback", body: (call) => call(Effect.fail("e")), throws: true },
  {
    name: "throwing callback on interruption",
    body: (call) => Effect.exit(call(interruptSelf(Effect.succeed(1)))),
    throws: true
  },
  { name: "throwing wrap (a defect of the admitted call)", body: (call) => call(Effect.succeed(1)), throwingWrap: true },
  {
    name: "nested calls, caller's handler",
    body: (call) => Effect.catchCause(call(call(Effect.fail("e"))), (cause) => Effect.succeed(describeCause(cause)))
  }
]

const runCase = (implementation: GuardedCall, test: Case): string => {
  const events: Array<string> = []
  const guard: Guard<number, string> = {
    admit: () => test.admit ?? 1,
    onSuccess: () => {
      events.push("success")
      if (test.throws) throw "thrown"
    },
    onFailure: (_, cause) => {
      events.push(`failure ${describeCause(cause)}`)
      if (test.throws) throw "thrown"
    },
    wrap: test.throwingWrap
      ? () => {
          throw "wrap thrown"
        }
      : (self) => Effect.flatMap(Effect.void, () => self)
  }
  const exit = Effect.runSyncExit(test.body((self) => implementation(self, guard)))
  return `${describeExit(exit)}; ${events.join("; ")}`
}

/**
 * Runs the fast implementation and the portable one on the self-check's cases. Returns
 * undefined when they agree, else what differed (or why the fast one cannot be built).
 */
export const checkFast = (fast?: GuardedCall): string | undefined => {
  try {
    const candidate = fast ?? buildFast()
    for (const test of cases) {
      const expected = runCase(guardedPortable, test)
      const actual = runCase(candidate, test)
      if (actual !== expected) return `${test.name}: expected ${expected}, got ${actual}`
    }
    return undefined
  } catch (error) {
    return `${String(error)}`
  }
}

// --- the choice --------------------------------------------------------------------------

const requested = (): Implementation => {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  const value = env?.[environmentVariable]
  if (value === undefined || value === "" || value === "portable") return "portable"
  if (value === "fast") return "fast"
  console.warn(`effect-foundation: ${environmentVariable}=${value} is neither "portable" nor "fast"; using "portable"`)
  return "portable"
}

interface Choice {
  readonly implementation: Implementation
  readonly call: GuardedCall
}

let chosen: Choice | undefined

/**
 * The implementation for a requested one: `fast` only when it builds and passes `checkFast`;
 * otherwise the portable one, with one warning saying why (the choice is made once).
 * `build` and `warn` are parameters for the tests.
 */
export const choose = (
  requestedImplementation: Implementation,
  build: () => GuardedCall = buildFast,
  warn: (message: string) => void = console.warn
): Choice => {
  if (requestedImplementation === "portable") return { implementation: "portable", call: guardedPortable }
  let fast: GuardedCall | undefined
  let failure: string | undefined
  try {
    fast = build()
    failure = checkFast(fast)
  } catch (error) {
    failure = String(error)
  }
  if (fast !== undefined && failure === undefined) return { implementation: "fast", call: fast }
  warn(
    `effect-foundation: ${environmentVariable}=fast, but the fast guarded call does not match effect's ` +
      `public API on this effect version (${failure}); using the portable one`
  )
  return { implementation: "portable", call: guardedPortable }
}

const current = (): Choice => {
  if (chosen === undefined) chosen = choose(requested())
  return chosen
}

/** The implementation in use; reads the switch (and checks the fast path) on first call. */
export const implementation = (): Implementation => current().implementation

/**
 * Runs `self` between `guard.admit` and `guard.onSuccess` / `guard.onFailure`, which see
 * every exit of an admitted run: success, failure, defect or interruption.
 */
export const guarded: GuardedCall = (self, guard) => current().call(self, guard)
