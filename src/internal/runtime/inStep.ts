/**
 * What lets `Protection.protect` and `protectWith` run several stages in one run-loop step:
 * the rate limit's decision, the breaker's admission and the pool's idle checkout, each
 * offered by its service under a symbol (so a test double without them is still used
 * through its public methods), then one exit frame for the breaker's outcome and the
 * resource's return. Staged, each stage costs its own `withFiber` step and frame.
 *
 * Each hook answers synchronously and never waits; `undefined` means "not in this step": the
 * facade then runs that stage, and the ones after it, the staged way.
 */
import type { Clock, Effect, Exit, Fiber } from "effect"

/**
 * A rate limiter's decision in the caller's step: `undefined` when the call is admitted now;
 * otherwise an effect to run before the call (a rejection, a wait for the call's slot, or a
 * store's round trip that then rejects or admits).
 */
export const decideInStep: unique symbol = Symbol.for("effect-foundation/RateLimiter/decideInStep")

export interface LimiterInStep {
  readonly [decideInStep]: (clock: Clock.Clock, rule: string, key: string, cost: number) => Effect.Effect<void, unknown> | undefined
}

/** A breaker call admitted in the caller's step: the exit frame reports its outcome. */
export interface AdmittedCall {
  /** the breaker's own timeout around the call, if it has one */
  readonly timeout: (<A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, unknown, R>) | undefined
  /** records the call's outcome; called once, from the call's exit frame */
  readonly record: (exit: Exit.Exit<unknown, unknown>, fiber: Fiber.Fiber<unknown, unknown>) => void
}

/**
 * A breaker's admission in the caller's step, for calls that hold nothing until their frame
 * exists (a Closed breaker's): the admitted call, a rejection to return, or `undefined` (a
 * probe, which takes a slot: admitted inside its own frame, the staged way). `options` are
 * `protect`'s.
 */
export const admitInStep: unique symbol = Symbol.for("effect-foundation/CircuitBreaker/admitInStep")

export type AdmitInStep = (
  fiber: Fiber.Fiber<unknown, unknown>,
  breaker: string,
  options: object | undefined
) => AdmittedCall | Effect.Effect<never, unknown> | undefined

export interface BreakerInStep {
  readonly [admitInStep]: AdmitInStep
}

/** A resource taken from a pool's idle list, and how it goes back. */
export interface TakenResource<A> {
  readonly resource: A
  /** gives the resource back (destroys it when the use died); called once, from the exit frame */
  readonly afterUse: (exit: Exit.Exit<unknown, unknown>) => undefined
}

/**
 * A pool's idle resource, taken in the caller's step, which must already be inside the exit
 * frame that gives it back: `undefined` when none is idle (or the pool checks resources
 * before use): the pool's `use` then checks one out (and waits) the staged way.
 */
export const takeInStep: unique symbol = Symbol.for("effect-foundation/Pool/takeInStep")

export interface PoolInStep<A> {
  readonly [takeInStep]: (fiber: Fiber.Fiber<unknown, unknown>) => TakenResource<A> | undefined
}

/** the hook `key` of a service, if it has it */
export const hookOf = <H>(service: unknown, key: symbol): H | undefined =>
  typeof service === "object" && service !== null && key in service ? (service as H) : undefined
