/**
 * A "guarded call" effect: runs a synchronous admission check when the effect is *run*, then
 * the wrapped effect, then a synchronous completion callback with the exit, with no other
 * runtime steps in between.
 *
 * Why: every protection wraps the user's effect. With effect's public combinators the
 * cheapest correct wrapper (`withFiber` + `onExit`) costs about four run-loop steps and an
 * uninterruptible region per call, about twice cockatiel's whole overhead. The run loop's own
 * protocol needs only one frame: `evaluate` pushes it, `successCont` / `failureCont` pop it.
 * This module implements that protocol for our wrapper. The completion callback is
 * synchronous and cannot be interrupted (JS runs it to the end), so no uninterruptible region
 * is needed: interruption arrives at `failureCont` as an interrupt cause, like any other exit.
 *
 * The protocol is effect's internal one (pinned by the `~4.1.0` peer range). At load time we
 * verify it against a real effect; if it ever differs, `guarded` falls back to the public
 * `withFiber` + `onExit` composition, which has the same semantics and is slower.
 */
import type { Cause } from "effect"
import { Effect, Exit, Fiber } from "effect"

const EffectTypeId = "~effect/Effect"
const identifier = `${EffectTypeId}/identifier`
const evaluate = `${EffectTypeId}/evaluate`
const contA = `${EffectTypeId}/successCont`
const contE = `${EffectTypeId}/failureCont`
const contAll = `${EffectTypeId}/ensureCont`

/**
 * The hooks of a guarded call. `admit` runs when the effect starts: it returns a permit
 * (any value, passed back to `complete`) or a rejection effect (recognised by `isRejection`).
 */
export interface Guard<Permit, Rejection> {
  readonly admit: (fiber: Fiber.Fiber<unknown, unknown>) => Permit | Effect.Effect<never, Rejection>
  readonly onSuccess: (permit: Permit, fiber: Fiber.Fiber<unknown, unknown>) => void
  /** failures, defects and interruptions: inspect the cause to tell them apart */
  readonly onFailure: (permit: Permit, cause: Cause.Cause<unknown>, fiber: Fiber.Fiber<unknown, unknown>) => void
  /** optionally wraps the admitted effect (a timeout, say); called right after `admit` */
  readonly wrap?: (<A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, any, R>) | undefined
}

interface Frame {
  guard: Guard<any, any>
  permit: unknown
  done: boolean
}

// Objects the run loop sees. `GuardedCall` is the effect value; `GuardedFrame` is what one
// run pushes on its fiber's stack (one per run, so the same effect value can run
// concurrently in many fibers).
let GuardedCall: new(self: Effect.Effect<any, any, any>, guard: Guard<any, any>) => Effect.Effect<any, any, any>
let GuardedFrame: new(guard: Guard<any, any>, permit: unknown) => Frame

const isEffect = (u: unknown): u is Effect.Effect<never, unknown> =>
  typeof u === "object" && u !== null && EffectTypeId in u

const protocolHolds = (): boolean => {
  const probe = Effect.onExit(Effect.void, () => Effect.void) as any
  const proto = Object.getPrototypeOf(probe)
  return typeof proto?.[evaluate] === "function" && typeof proto?.[contA] === "function" &&
    typeof proto?.[contE] === "function" && typeof proto?.[contAll] === "function" &&
    Effect.runSync(Effect.withFiber((fiber: any) => Effect.succeed(Array.isArray(fiber._stack) && typeof fiber.succeedWith === "function")))
}

/** Whether the fast primitive is in use (exposed for tests and benchmarks). */
export const fastPath: boolean = (() => {
  try {
    if (!protocolHolds()) return false
    const base = Object.getPrototypeOf(Effect.onExit(Effect.void, () => Effect.void))
    const callProto = Object.create(base)
    callProto[identifier] = "GuardedCall"
    callProto[contAll] = undefined
    callProto[evaluate] = function(this: any, fiber: any) {
      const guard: Guard<any, any> = this.guard
      const permit = guard.admit(fiber)
      if (isEffect(permit)) return permit
      fiber._stack.push(new GuardedFrame(guard, permit))
      return guard.wrap === undefined ? this.self : guard.wrap(this.self)
    }
    const frameProto = Object.create(base)
    frameProto[identifier] = "GuardedFrame"
    // Called whenever the frame is popped. When the fiber is being unwound by interruption
    // (and is interruptible), the run loop skips failure continuations, so this is where an
    // interrupted call is reported.
    frameProto[contAll] = function(this: Frame, fiber: any) {
      if (!this.done && fiber._interruptedCause !== undefined && fiber.interruptible) {
        this.done = true
        this.guard.onFailure(this.permit, fiber._interruptedCause, fiber)
      }
    }
    frameProto[evaluate] = undefined
    frameProto[contA] = function(this: Frame, value: unknown, fiber: any, exit?: Exit.Exit<unknown, unknown>) {
      if (!this.done) {
        this.done = true
        this.guard.onSuccess(this.permit, fiber)
      }
      // hand the value straight to the next continuation (no Exit for the loop to unwrap)
      return exit ?? fiber.succeedWith(value)
    }
    frameProto[contE] = function(this: Frame, cause: Cause.Cause<unknown>, fiber: any, exit?: Exit.Exit<unknown, unknown>) {
      if (!this.done) {
        this.done = true
        this.guard.onFailure(this.permit, cause, fiber)
      }
      return exit ?? Exit.failCause(cause)
    }
    GuardedCall = function(this: any, self: Effect.Effect<any, any, any>, guard: Guard<any, any>) {
      this.self = self
      this.guard = guard
    } as any
    GuardedCall.prototype = callProto
    GuardedFrame = function(this: Frame, guard: Guard<any, any>, permit: unknown) {
      this.guard = guard
      this.permit = permit
      this.done = false
    } as any
    GuardedFrame.prototype = frameProto
    // end-to-end self-check: success, failure and rejection paths
    const seen: Array<string> = []
    const check: Guard<number, string> = {
      admit: () => 1,
      onSuccess: () => void seen.push("Success"),
      onFailure: () => void seen.push("Failure")
    }
    const ok = Effect.runSyncExit(new GuardedCall(Effect.succeed(7), check) as Effect.Effect<number, string>)
    const ko = Effect.runSyncExit(new GuardedCall(Effect.fail("e"), check) as Effect.Effect<number, string>)
    const rejected = Effect.runSyncExit(new GuardedCall(Effect.succeed(1), {
      admit: () => Effect.fail("r"),
      onSuccess: () => void seen.push("x"),
      onFailure: () => void seen.push("x")
    }) as Effect.Effect<number, string>)
    Effect.runSync(Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(new GuardedCall(Effect.never, check) as Effect.Effect<never>, {
        startImmediately: true
      })
      yield* Fiber.interrupt(fiber)
    }))
    return Exit.isSuccess(ok) && ok.value === 7 && Exit.isFailure(ko) && Exit.isFailure(rejected) &&
      seen.join(",") === "Success,Failure,Failure"
  } catch {
    return false
  }
})()

const slowGuarded = <A, E, R, Permit, Rejection>(
  self: Effect.Effect<A, E, R>,
  guard: Guard<Permit, Rejection>
): Effect.Effect<A, E | Rejection, R> =>
  Effect.withFiber<A, E | Rejection, R>((fiber) => {
    const permit = guard.admit(fiber)
    if (isEffect(permit)) return permit
    return Effect.onExit(guard.wrap === undefined ? self : guard.wrap(self), (exit) => {
      if (Exit.isSuccess(exit)) guard.onSuccess(permit as Permit, fiber)
      else guard.onFailure(permit as Permit, exit.cause, fiber)
      return Effect.void
    })
  })

/**
 * Runs `self` between `guard.admit` and `guard.onSuccess` / `guard.onFailure`, which see
 * every exit of an admitted run: success, failure, defect or interruption.
 */
export const guarded: <A, E, R, Permit, Rejection>(
  self: Effect.Effect<A, E, R>,
  guard: Guard<Permit, Rejection>
) => Effect.Effect<A, E | Rejection, R> = fastPath
  ? (self, guard) => new GuardedCall(self, guard)
  : slowGuarded

/** The public-API implementation, kept callable so tests can check both agree. */
export const guardedPortable = slowGuarded
