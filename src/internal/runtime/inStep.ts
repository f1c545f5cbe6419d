/**
 * What lets `Protection.protect` and `protectWith` run several stages in one run-loop step:
 * the rate limit's decision and the breaker's admission, each offered by its service under a
 * symbol (so a test double without them is still used through its public methods), then one
 * exit frame around the pool's checkout that gives the resource back and records the
 * breaker's outcome. Staged, each stage costs its own `withFiber` step and frame.
 *
 * The decision and the admission answer synchronously and never wait; `undefined` means "not
 * in this step": the facade then runs that stage, and the ones after it, the staged way.
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

/** One checkout, run inside a caller's exit frame. */
export interface CheckoutRun {
  /**
   * Checks a resource out (idle, or after a wait) and returns the use to run with it, or a
   * rejection; called once, inside the frame, so whatever it takes is seen by `end`.
   */
  readonly start: () => Effect.Effect<any, any, any>
  /** gives back what `start` took (the resource, or the wait); called once, from the frame */
  readonly end: (exit: Exit.Exit<unknown, unknown>) => undefined
}

/**
 * A pool's checkout for a caller's own frame, with the pool's checkout timeout: the caller
 * calls `start` inside its exit frame and `end` from it. Absent when the pool checks
 * resources before use (`validate`, `maxLifetime`): its own `use` then checks one out.
 */
export const checkoutInStep: unique symbol = Symbol.for("effect-foundation/Pool/checkoutInStep")

export interface PoolInStep<A> {
  readonly [checkoutInStep]: (fiber: Fiber.Fiber<unknown, unknown>, use: (resource: A) => Effect.Effect<any, any, any>) => CheckoutRun
}

/** the hook `key` of a service, if it has it */
export const hookOf = <H>(service: unknown, key: symbol): H | undefined =>
  typeof service === "object" && service !== null && key in service ? (service as H) : undefined
