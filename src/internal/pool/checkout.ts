/**
 * Checkout: takes a resource (idle, or handed off after a wait), runs the caller's function
 * with it and gives it back whatever happens. Two paths:
 *
 * - fast (no `validate`, no `maxLifetime`): a checkout served from the idle list is one exit
 *   frame around one `withFiber` (no Scope, no generator, no mask, no clock read); only a
 *   checkout that has to wait allocates a waiter, and it parks on the pool's one shared
 *   callback: the hand-off serves it and resumes its fiber straight into its use.
 * - validating: under `uninterruptibleMask`, with only the wait, `validate` and the use
 *   interruptible; a resource that fails validation or retired is destroyed and the checkout
 *   tries again.
 */
import type { Exit, Fiber } from "effect"
import { Cause, Context, Effect, Tracer } from "effect"
import * as Errors from "../../Errors.js"
import * as PoolConfig from "./config.js"
import * as Core from "./core.js"
import type { CheckoutRun } from "../runtime/inStep.js"
import type { Env } from "./env.js"
import type { Lifecycle } from "./lifecycle.js"
import type * as PoolMetrics from "./metrics.js"
import type { Waiter, Waiters } from "./waiters.js"

type Entry<A> = Core.Entry<A>
type Restore = <AX, EX, RX>(effect: Effect.Effect<AX, EX, RX>) => Effect.Effect<AX, EX, RX>

export type Use<A, E> = <B, E2, R2>(
  f: (resource: A) => Effect.Effect<B, E2, R2>,
  options?: object
) => Effect.Effect<B, E | E2 | Errors.PoolCheckoutTimeout | Errors.PoolExhausted | Errors.InvalidConfig, R2>

export interface Checkout<A, E> {
  readonly use: Use<A, E>
  readonly checkoutInStep:
    | ((fiber: Fiber.Fiber<unknown, unknown>, f: (resource: A) => Effect.Effect<any, any, any>) => CheckoutRun)
    | undefined
}

export const make = <A, E, R>(
  env: Env<A, R>,
  lifecycle: Lifecycle<A>,
  waiters: Waiters<A>,
  histogram: PoolMetrics.CheckoutHistogram,
  validate: ((resource: A) => Effect.Effect<boolean, unknown, R>) | undefined
): Checkout<A, E> => {
  const { config, context, held, now, state } = env
  const { checkin, startCreations } = lifecycle
  const tracksLifetime = config.maxLifetimeMillis !== Infinity
  const tracksLeaks = config.leakWarningMillis !== Infinity
  const checkoutTimeoutMillis = config.checkoutTimeoutMillis
  const resolveCheckout = PoolConfig.checkoutResolver(config.name, checkoutTimeoutMillis)

  /** counts a served checkout; `startedAt` < 0: served at once, without waiting */
  const served = (entry: Entry<A>, fiber: Fiber.Fiber<unknown, unknown>, startedAt: number) => {
    state.checkouts++
    if (entry.uses > 0) state.reused++
    entry.uses++
    if (startedAt < 0) histogram.immediate++
    else histogram.record(now() - startedAt)
    if (tracksLeaks) {
      entry.checkedOutAt = now()
      entry.holder = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
      entry.leakReported = false
      held.add(entry)
    }
  }

  /** a waiting fiber left (interrupted, timed out): it takes nothing with it */
  const leave = (waiter: Waiter<A>): undefined => {
    Core.dequeue(state, waiter)
    const entry = waiter.entry
    if (entry === undefined) return undefined
    waiter.entry = undefined
    checkin(entry, false)
    return undefined
  }

  // ---- fast path --------------------------------------------------------------------------
  const callUse = <B, E2, R2>(entry: Entry<A>, f: (resource: A) => Effect.Effect<B, E2, R2>) => {
    try {
      return f(entry.resource)
    } catch (defect) {
      return Effect.die(defect)
    }
  }
  /**
   * One exit frame guards the whole checkout, installed *before* the checkout runs inside
   * it. The scheduler may yield a fiber between any two steps (an interruption point), so a
   * frame installed after the checkout could come too late. The resource is always in
   * `taken` (taken idle) or `waiter.entry` (handed off: served by the grant itself, which
   * calls `f` and resumes the fiber into its use), and the frame gives back whichever holds it.
   */
  waiters.serve = (waiter, entry) => {
    served(entry, waiter.fiber!, waiter.startedAt)
    return callUse(entry, waiter.use!)
  }
  /**
   * One run of a fast-path checkout: what it holds, so that its frame gives it back. `start`
   * runs inside the frame (a resource taken idle, or a waiter queued, is always seen by
   * `end`); `end` is the frame's callback.
   */
  const runOf = (
    fiber: Fiber.Fiber<unknown, unknown>,
    f: (resource: A) => Effect.Effect<any, any, any>,
    timeoutMillis: number,
    priority: number
  ): CheckoutRun => {
    let taken: Entry<A> | undefined
    let waiter: Waiter<A> | undefined
    return {
      start: () => {
        taken = Core.takeIdle(state)
        if (taken !== undefined) {
          served(taken, fiber, -1)
          return callUse(taken, f)
        }
        if (state.closed) return Effect.interrupt
        if (Core.refuses(state)) return waiters.exhausted
        waiter = waiters.enqueue(now(), timeoutMillis, priority, fiber, f)
        // an acquisition for this waiter only when none in flight covers it (not at capacity)
        if (state.creating < state.waiting) startCreations(Core.creationsToStart(state, false))
        return waiters.park
      },
      end: (exit) => {
        if (waiter === undefined) return taken === undefined ? undefined : taken.afterUse!(exit)
        Core.dequeue(state, waiter)
        waiters.unpark(waiter)
        const entry = waiter.entry
        if (entry === undefined) return undefined
        waiter.entry = undefined
        // served: it was in use; else granted while the fiber was leaving, never used
        if (waiter.served) return entry.afterUse!(exit)
        checkin(entry, false)
        return undefined
      }
    }
  }
  const fastUse = <B, E2, R2>(
    f: (resource: A) => Effect.Effect<B, E2, R2>,
    options?: object
  ): Effect.Effect<B, E | E2 | Errors.PoolCheckoutTimeout | Errors.PoolExhausted | Errors.InvalidConfig, R2> => {
    let timeoutMillis = checkoutTimeoutMillis
    let priority = 0
    if (options !== undefined) {
      const resolved = resolveCheckout(options)
      if (resolved instanceof Errors.InvalidConfig) return Effect.fail(resolved)
      timeoutMillis = resolved.checkoutTimeoutMillis
      priority = resolved.priority
    }
    // per run: the same `use` effect may run many times, and in several fibers at once
    return Effect.withFiber((fiber) => {
      const run = runOf(fiber, f, timeoutMillis, priority)
      return Effect.onExitPrimitive(Effect.suspend(run.start), run.end) as Effect.Effect<B, E | E2, R2>
    })
  }
  /** The pool's `checkoutInStep` (see `runtime/inStep.ts`): a run with the pool's own timeout, for a caller's frame. */
  const checkoutInStep = (fiber: Fiber.Fiber<unknown, unknown>, f: (resource: A) => Effect.Effect<any, any, any>): CheckoutRun =>
    runOf(fiber, f, checkoutTimeoutMillis, 0)
  if (validate === undefined && !tracksLifetime) return { use: fastUse, checkoutInStep }

  // ---- validating path --------------------------------------------------------------------
  const verify = (
    entry: Entry<A>,
    restore: Restore,
    fiber: Fiber.Fiber<unknown, unknown>,
    startedAt: number,
    checkout: PoolConfig.CheckoutResolved
  ): Effect.Effect<Entry<A>, any> => {
    if (validate === undefined || entry.uses === 0) {
      served(entry, fiber, startedAt)
      return Effect.succeed(entry)
    }
    return Effect.flatMap(
      Effect.exit(restore(Effect.provideContext(validate(entry.resource), context))),
      (exit): Effect.Effect<Entry<A>, any> => {
        if (exit._tag === "Success" && exit.value === true) {
          served(entry, fiber, startedAt)
          return Effect.succeed(entry)
        }
        state.validationFailures++
        checkin(entry, true)
        if (exit._tag === "Failure" && Cause.hasInterrupts(exit.cause)) return Effect.failCause(exit.cause)
        return attempt(restore, fiber, startedAt, checkout)
      }
    )
  }

  /** `startedAt` < 0 until the first try reads the clock */
  const attempt = (
    restore: Restore,
    fiber: Fiber.Fiber<unknown, unknown>,
    startedAt: number,
    checkout: PoolConfig.CheckoutResolved
  ): Effect.Effect<Entry<A>, any> =>
    Effect.suspend(() => {
      if (state.closed) return Effect.interrupt
      const at = now()
      if (startedAt < 0) startedAt = at
      const entry = Core.takeIdle(state)
      if (entry !== undefined) {
        if (tracksLifetime && at >= entry.retireAt) {
          checkin(entry, true)
          return attempt(restore, fiber, startedAt, checkout)
        }
        return verify(entry, restore, fiber, startedAt, checkout)
      }
      if (Core.refuses(state)) return waiters.exhausted
      const waiter = waiters.enqueue(startedAt, checkout.checkoutTimeoutMillis, checkout.priority)
      const wait = Effect.flatMap(
        Effect.onExitPrimitive(restore(Effect.callback<Entry<A>, any>((resume) => waiter.register(resume))), (exit) =>
          exit._tag === "Failure" ? leave(waiter) : undefined
        ),
        (entry) => {
          waiter.entry = undefined
          return verify(entry, restore, fiber, startedAt, checkout)
        }
      )
      startCreations(Core.creationsToStart(state, false))
      return wait
    })

  const runBody = <B, E2, R2>(
    entry: Entry<A>,
    f: (resource: A) => Effect.Effect<B, E2, R2>,
    restore: Restore
  ): Effect.Effect<B, E2, R2> => {
    let body: Effect.Effect<B, E2, R2>
    try {
      body = f(entry.resource)
    } catch (defect) {
      checkin(entry, true)
      return Effect.die(defect)
    }
    return Effect.onExitPrimitive(restore(body), entry.afterUse as (exit: Exit.Exit<B, E2>) => undefined)
  }

  const poolCheckout: PoolConfig.CheckoutResolved = { checkoutTimeoutMillis, priority: 0 }
  const validatingUse = <B, E2, R2>(
    f: (resource: A) => Effect.Effect<B, E2, R2>,
    options?: object
  ): Effect.Effect<B, E | E2 | Errors.PoolCheckoutTimeout | Errors.PoolExhausted | Errors.InvalidConfig, R2> => {
    let checkout = poolCheckout
    if (options !== undefined) {
      const resolved = resolveCheckout(options)
      if (resolved instanceof Errors.InvalidConfig) return Effect.fail(resolved)
      checkout = resolved
    }
    return Effect.withFiber((fiber) =>
      Effect.uninterruptibleMask((restore) => Effect.flatMap(attempt(restore, fiber, -1, checkout), (entry) => runBody(entry, f, restore)))
    )
  }
  // a resource is validated (or its lifetime checked) before use: never taken in the caller's step
  return { use: validatingUse, checkoutInStep: undefined }
}
