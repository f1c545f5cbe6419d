/**
 * Waiting for a resource: the waiter a checkout parks on, how its fiber is resumed, and the
 * timer that times waiters out. The queue itself (a linked list by priority, first come first
 * served within one) and the decision who is served are the core's (`core.ts`).
 */
import { Duration, Effect, Fiber } from "effect"
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
  /** the error a timed-out waiter fails with; `waiting`: how many waited, it included */
  readonly timedOut: (timeoutMillis: number, waiting: number) => Errors.PoolCheckoutTimeout
  /** the refusal of a checkout over `maxWaiting` (`Core.refuses`), failed at once */
  readonly exhausted: Effect.Effect<never, Errors.PoolExhausted>
  /**
   * Queues a new waiter with this deadline; the timer watches it from now on. `fiber` and
   * `use` (the fast path): the grant serves it and runs `use`, and the fiber waits on `park`.
   */
  readonly enqueue: (
    startedAt: number,
    timeoutMillis: number,
    priority: number,
    fiber?: Fiber.Fiber<unknown, unknown>,
    use?: (resource: A) => Effect.Effect<any, any, any>
  ) => Waiter<A>
  /** the pool closed: the waiters it dropped (`Core.close`) are interrupted, the timer stopped */
  readonly interruptAll: (waiters: ReadonlyArray<Core.Waiter<A>>) => void
  /** starts the timer that times waiters out at their deadline; `interruptAll` stops it */
  readonly start: () => void
  /**
   * The fast path's wait, one effect shared by every waiter of the pool (no callback
   * allocated per wait). The waiter, queued by `enqueue(…, fiber, use)` in the step before,
   * is found by its fiber among those not parked yet: the last one, unless the fiber yielded
   * to the scheduler between the two steps.
   */
  readonly park: Effect.Effect<any, any>
  /** a fast-path waiter that ends before it parked (interrupted at that yield) is forgotten */
  readonly unpark: (waiter: Waiter<A>) => void
  /**
   * What a fast-path waiter runs once granted, called by the grant itself (in the step that
   * gives the resource back): counts the checkout and calls the caller's function, so the
   * waiting fiber resumes straight into its use (set by the checkout, `checkout.ts`)
   */
  serve: ((waiter: Waiter<A>, entry: Entry<A>) => Effect.Effect<any, any, any>) | undefined
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
  /**
   * a handed-off entry this waiter owns until its fiber takes it; on the fast path (`use`
   * set) the grant serves it at once, and it stays here until the checkout ends (`served`)
   */
  entry: Entry<A> | undefined = undefined
  /** fast path: the grant counted the checkout and called `use` (the entry is in use) */
  served = false
  /** the fiber's callback is registered (it parked) */
  parked = false
  // what the fiber resumes with: its entry, an error, or (fast path) its use, whose
  // requirements the caller's fiber provides
  result: Effect.Effect<any, any> | undefined = undefined
  resume: ((effect: Effect.Effect<any, any>) => void) | undefined = undefined
  constructor(
    readonly waiters: Waiters<A>,
    readonly startedAt: number,
    readonly timeoutMillis: number,
    readonly priority: number,
    /** fast path only: the waiting fiber, and the caller's function the grant runs */
    readonly fiber: Fiber.Fiber<unknown, unknown> | undefined,
    readonly use: ((resource: A) => Effect.Effect<any, any, any>) | undefined
  ) {}
  /** computed, not stored: read at enqueue and by the timer's passes only */
  get deadline(): number {
    return this.startedAt + this.timeoutMillis
  }
  grant(entry: Entry<A>) {
    this.entry = entry
    if (this.use !== undefined) {
      this.served = true
      this.settle(this.waiters.serve!(this, entry) as Effect.Effect<any, any>)
      return
    }
    // the entry's own success, allocated with it: a hand-off allocates nothing
    if (entry.granted === undefined) entry.granted = Effect.succeed(entry)
    this.settle(entry.granted as Effect.Effect<Entry<A>>)
  }
  reject(reason: unknown, waiting?: number) {
    this.settle(
      reason === "timeout" ? Effect.fail(this.waiters.timedOut(this.timeoutMillis, waiting!)) : (reason as Effect.Effect<never, unknown>)
    )
  }
  /** the waiting fiber's callback: resumed now if settled already, else when it is */
  register(resume: (effect: Effect.Effect<any, any>) => void) {
    this.parked = true
    if (this.result !== undefined) resume(this.result)
    else this.resume = resume
  }
  settle(effect: Effect.Effect<any, any>) {
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
  // The timer: one fiber sleeping until the earliest deadline (`sleepingUntil`), or parked
  // while nobody waits. A waiter with an earlier deadline (a per-call timeout shorter than
  // the pool's) wakes a parked timer, or replaces a sleeping one (interrupted, a new fiber
  // started). With one timeout for all, later arrivals have later deadlines: an enqueue costs
  // a compare. The sleep's length is read when the fiber runs, not when it is started.
  let sleepingUntil = -Infinity // -Infinity: the timer is running a pass
  /** the earliest deadline queued while a pass ran (the pass may have read the queue before it) */
  let queuedInPass = Infinity
  let timerResume: ((effect: Effect.Effect<void>) => void) | undefined
  let timer: Fiber.Fiber<void> | undefined
  /** fast-path waiters queued and not parked yet (almost always zero or one) */
  const parking: Array<Waiter<A>> = []
  const parkTimer = Effect.callback<void>((resume) => {
    timerResume = resume
  })
  const timerLoop: Effect.Effect<void> = Effect.suspend(() => {
    if (state.closed) return Effect.void
    sleepingUntil = -Infinity
    const next = Core.expireWaiters(state, now())
    const at = Math.min(next, queuedInPass)
    queuedInPass = Infinity
    sleepingUntil = at
    if (at === Infinity) return Effect.andThen(parkTimer, timerLoop)
    return Effect.andThen(Effect.sleep(Math.max(0, at - now())), timerLoop)
  })
  const wakeTimer = (deadline: number) => {
    if (deadline >= sleepingUntil) {
      if (sleepingUntil === -Infinity && deadline < queuedInPass) queuedInPass = deadline
      return
    }
    const resume = timerResume
    if (resume !== undefined) {
      timerResume = undefined
      sleepingUntil = -Infinity
      resume(Effect.void)
      return
    }
    sleepingUntil = -Infinity
    queuedInPass = deadline
    timer?.interruptUnsafe()
    timer = env.spawn(timerLoop)
  }
  const waiters: Waiters<A> = {
    depth: 0,
    timedOut: (timeoutMillis, waiting) =>
      makeTimeout({
        pool: config.name,
        timeout: timeoutMillis === config.checkoutTimeoutMillis ? timeout : Duration.millis(timeoutMillis),
        waiting
      }),
    exhausted: Effect.suspend(() => Effect.fail(makeExhausted({ pool: config.name, maxWaiting: state.config.maxWaiting }))),
    enqueue: (startedAt, timeoutMillis, priority, fiber, use) => {
      const waiter = new Waiter(waiters, startedAt, timeoutMillis, priority, fiber, use)
      Core.enqueue(state, waiter)
      if (fiber !== undefined) parking.push(waiter)
      wakeTimer(waiter.deadline)
      return waiter
    },
    park: Effect.callback<any, any>((resume) => {
      const fiber = Fiber.getCurrent()
      let i = parking.length - 1
      while (i >= 0 && parking[i]!.fiber !== fiber) i--
      // a fast-path checkout always queues its waiter in the step right before this one
      if (i < 0) throw new Error(`pool "${config.name}": a waiter parked without being queued`)
      const waiter = parking[i]!
      if (i === parking.length - 1) parking.pop()
      else parking.splice(i, 1)
      waiter.register(resume)
    }),
    unpark: (waiter) => {
      if (waiter.parked) return
      const i = parking.indexOf(waiter)
      if (i >= 0) parking.splice(i, 1)
    },
    serve: undefined,
    interruptAll: (dropped) => {
      for (const waiter of dropped) (waiter as Waiter<A>).settle(Effect.interrupt)
      timerResume = undefined
      timer?.interruptUnsafe()
      timer = undefined
    },
    start: () => {
      timer = env.spawn(timerLoop)
    }
  }
  return waiters
}
