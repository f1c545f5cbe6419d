/**
 * What every part of one pool shares (waiters, lifecycle, checkout, housekeeping): built once
 * by the shell (`shell.ts`) and read by the parts at construction, so a hot path reads its
 * own closure, never a lookup.
 */
import type { Context, Effect, Fiber } from "effect"
import type * as Core from "./core.js"
import type * as PoolConfig from "./config.js"

export interface Env<A, R> {
  readonly config: PoolConfig.Resolved
  readonly state: Core.State<A>
  /** the services the pool was built with (`acquire`, `release` and `validate` run under them) */
  readonly context: Context.Context<R>
  /**
   * Starts an effect in a fiber of its own, synchronously. Background work (acquisitions,
   * releases) is spawned in the same step as the decision that counts it: a fork *effect*
   * returned for later could be skipped by an interruption landing before it runs, leaving
   * `creating` or `releasing` counted forever (a pool stuck below capacity, a shutdown waiting
   * for a release that never starts).
   */
  readonly spawn: <X, Y>(effect: Effect.Effect<X, Y, R>) => Fiber.Fiber<X, Y>
  /** the pool's clock, read synchronously */
  readonly now: () => number
  /** entries checked out, for leak warnings; only filled when `leakWarning` is set */
  readonly held: Set<Core.Entry<A>>
}
