/**
 * Waiting for a resource: the waiter a checkout parks on, how its fiber is resumed, and the
 * timer that times waiters out. The queue itself (a linked list, first come first served, so
 * in deadline order) and the decision who is served are the core's (`core.ts`).
 *
 * @internal
 */
import { Duration, Effect } from "effect"
import * as Errors from "../../Errors.js"
import { fastConstructor } from "../runtime/errors.js"
import * as Core from "./core.js"
import type { Env } from "./env.js"

type Entry<A> = Core.Entry<A>

/** how many resumptions may nest on the stack before one goes through the scheduler */
const maxResumeDepth = 16

const makeTimeout = fastConstructor(Errors.PoolCheckoutTimeout, "PoolCheckoutTimeout", "pool_checkout_timeout")
const makeExhausted = fastConstructor(Errors.PoolExhausted, "PoolExhausted", "pool_exhausted")

/** One pool's waiters: what a `Waiter` needs from its pool, and the timer that expires them. */
export interface Waiters<A> {
  /**
   * How many of this pool's waiter resumptions are nested on the stack right now. Per pool,
   * not global: a chain of hand-offs nests through one pool's returns, and a chain that
   * alternates between pools is still bounded (by this limit times the pools in it).
   */
  depth: number
  /** the error a timed-out waiter fails with (read right after it left the queue) */
  readonly timedOut: () => Errors.PoolCheckoutTimeout
  /** the refusal of a checkout over `maxWaiting` (`Core.refuses`), failed at once */
  readonly exhausted: Effect.Effect<never, Errors.PoolExhausted>
  /** queues a new waiter with this deadline; the timer watches it from now on */
  readonly enqueue: (deadline: number) => Waiter<A>
  /** the pool closed: the waiters it dropped (`Core.close`) are interrupted */
  readonly interruptAll: (waiters: ReadonlyArray<Core.Waiter<A>>) => void
  /** times waiters out at their deadline; ends when the pool closes */
  readonly timerLoop: Effect.Effect<void>
}

/**
 * A checkout waiting for a resource. The core grants or rejects it once, synchronously, from
 * whichever fiber gives a resource back (or the timer): the result is stored until the
 * waiting fiber registers, or resumes it at once when it already has.
 */
export class Waiter<A> implements Core.Waiter<A> {
  prev: Core.Waiter<A> | undefined = undefined
  next: Core.Waiter<A> | undefined = undefined
  queued = false
  /** a handed-off entry this waiter owns until its fiber takes it */
  entry: Entry<A> | undefined = undefined
  result: Effect.Effect<Entry<A>, any> | undefined = undefined
  resume: ((effect: Effect.Effect<Entry<A>, any>) => void) | undefined = undefined
  constructor(
    readonly waiters: Waiters<A>,
    readonly deadline: number
  ) {}
  grant(entry: Entry<A>) {
    this.entry = entry
    this.settle(Effect.succeed(entry))
  }
  reject(reason: unknown) {
    this.settle(reason === "timeout" ? Effect.fail(this.waiters.timedOut()) : (reason as Effect.Effect<never, unknown>))
  }
  /** the waiting fiber's callback: resumed now if settled already, else when it is */
  register(resume: (effect: Effect.Effect<Entry<A>, any>) => void) {
    if (this.result !== undefined) resume(this.result)
    else this.resume = resume
  }
  settle(effect: Effect.Effect<Entry<A>, any>) {
    const resume = this.resume
    if (resume === undefined) {
      this.result = effect
      return
    }
    this.resume = undefined
    // resuming runs the waiter's fiber right here, and its return may resume the next
    // waiter: past a few levels, go through the scheduler so the stack stays flat
    const waiters = this.waiters
    if (waiters.depth >= maxResumeDepth) return resume(Effect.andThen(Effect.yieldNow, effect))
    waiters.depth++
    try {
      resume(effect)
    } finally {
      waiters.depth--
    }
  }
}

export const make = <A, R>(env: Env<A, R>): Waiters<A> => {
  const { config, now, state } = env
  const timeout = Duration.millis(config.checkoutTimeoutMillis)
  let timerResume: ((effect: Effect.Effect<void>) => void) | undefined
  const wakeTimer = () => {
    if (timerResume !== undefined) {
      const resume = timerResume
      timerResume = undefined
      resume(Effect.void)
    }
  }
  const parkTimer = Effect.callback<void>((resume) => {
    timerResume = resume
  })
  // waiters are queued in deadline order, so the timer only ever sleeps until the head's
  const timerLoop: Effect.Effect<void> = Effect.suspend(() => {
    if (state.closed) return Effect.void
    const at = now()
    Core.expireWaiters(state, at)
    const head = state.head
    if (head === undefined || head.deadline === Infinity) return Effect.andThen(parkTimer, timerLoop)
    return Effect.andThen(Effect.sleep(head.deadline - at), timerLoop)
  })
  const waiters: Waiters<A> = {
    depth: 0,
    timedOut: () => makeTimeout({ pool: config.name, timeout, waiting: state.waiting + 1 }),
    exhausted: Effect.suspend(() => Effect.fail(makeExhausted({ pool: config.name, maxWaiting: config.maxWaiting }))),
    enqueue: (deadline) => {
      const waiter = new Waiter(waiters, deadline)
      Core.enqueue(state, waiter)
      wakeTimer()
      return waiter
    },
    interruptAll: (dropped) => {
      for (const waiter of dropped) (waiter as Waiter<A>).settle(Effect.interrupt)
      wakeTimer()
    },
    timerLoop
  }
  return waiters
}
