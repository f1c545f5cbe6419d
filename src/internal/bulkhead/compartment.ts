/**
 * One named bulkhead's shell: the core's state, the waiters' fibers, the timer that times
 * waiters out, and the call path.
 *
 * The call path (`run`) is one exit frame around one `withFiber`, installed *before* the slot
 * is taken inside it: the scheduler may yield a fiber between any two steps (an interruption
 * point), so a frame installed after the slot was taken could come too late and leak it. The
 * frame gives back whatever the run holds: a slot taken at once, a slot handed to its waiter
 * (whether or not the waiter's fiber got to run), or the waiter's place in the queue. An
 * uncontended call costs one counter increment, this frame, and one decrement. On the opt-in
 * fast guarded call (see `runtime/guardedCall.ts`) the increment and the frame are one step
 * (`guard`).
 */
import type { Fiber } from "effect"
import { Clock, Duration, Effect } from "effect"
import { BulkheadFull } from "../../Errors.js"
import { fastConstructor } from "../runtime/errors.js"
import * as Core from "./core.js"
import type { Guard } from "../runtime/guardedCall.js"
import type { Resolved } from "./options.js"

/** how many resumptions may nest on the stack before one goes through the scheduler */
const maxResumeDepth = 16

const makeFull = fastConstructor(BulkheadFull, "BulkheadFull", "bulkhead_full")

const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number => fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

/**
 * A call waiting for a slot. The core grants or rejects it once, synchronously, from whichever
 * fiber gives a slot back (or the timer, or `configure`): the outcome is stored until the
 * waiting fiber registers, or resumes it at once when it already has.
 */
class Waiter implements Core.Waiter {
  prev: Core.Waiter | undefined = undefined
  next: Core.Waiter | undefined = undefined
  queued = false
  granted = false
  deadline = Infinity
  result: Effect.Effect<unknown, unknown, unknown> | undefined = undefined
  resume: ((effect: Effect.Effect<unknown, unknown, unknown>) => void) | undefined = undefined
  constructor(
    readonly compartment: Compartment,
    readonly enqueuedAt: number,
    /** the call: what the waiting fiber resumes with once it holds a slot */
    readonly self: Effect.Effect<unknown, unknown, unknown>
  ) {}
  grant() {
    this.settle(this.self)
  }
  reject(reason: Core.Rejection) {
    const compartment = this.compartment
    const fields = { bulkhead: compartment.name, maxConcurrent: compartment.state.maxConcurrent }
    if (reason === "queue_full") this.settle(Effect.fail(makeFull(fields)))
    else this.settle(Effect.fail(makeFull({ ...fields, waited: Duration.millis(compartment.now() - this.enqueuedAt) })))
  }
  /** the waiting fiber's callback: resumed now if settled already, else when it is */
  register(resume: (effect: Effect.Effect<unknown, unknown, unknown>) => void) {
    if (this.result !== undefined) resume(this.result)
    else this.resume = resume
  }
  settle(effect: Effect.Effect<unknown, unknown, unknown>) {
    const resume = this.resume
    if (resume === undefined) {
      this.result = effect
      return
    }
    this.resume = undefined
    // resuming runs the waiter's fiber right here, and its release may resume the next
    // waiter: past a few levels, go through the scheduler so the stack stays flat
    const compartment = this.compartment
    if (compartment.depth >= maxResumeDepth) return resume(Effect.andThen(Effect.yieldNow, effect))
    compartment.depth++
    try {
      resume(effect)
    } finally {
      compartment.depth--
    }
  }
}

export class Compartment {
  readonly state: Core.State
  closed = false
  /** nested waiter resumptions on the stack right now (see `Waiter.settle`) */
  depth = 0
  /** the clock the layer was built with: the timer and `configure` read it */
  now: () => number = () => 0
  private timerResume: ((effect: Effect.Effect<void>) => void) | undefined = undefined

  constructor(
    readonly name: string,
    limits: Resolved
  ) {
    this.state = Core.make(limits)
  }

  /** wakes the timer when it is parked (no waiter) */
  wakeTimer(): void {
    const resume = this.timerResume
    if (resume !== undefined) {
      this.timerResume = undefined
      resume(Effect.void)
    }
  }

  private readonly parkTimer = Effect.callback<void>((resume) => {
    this.timerResume = resume
  })

  /**
   * Times waiters out at their deadline; runs until the layer's scope closes. The queue is
   * in deadline order, so it sleeps until the head's. `configure` restarts it when deadlines
   * moved earlier.
   */
  readonly timerLoop: Effect.Effect<void> = Effect.suspend(() => {
    if (this.closed) return Effect.void
    const at = this.now()
    Core.expire(this.state, at)
    const head = this.state.head
    if (head === undefined) return Effect.andThen(this.parkTimer, this.timerLoop)
    return Effect.andThen(Effect.sleep(head.deadline - at), this.timerLoop)
  })

  /** the layer closes: waiters are interrupted, later calls too */
  close(): void {
    this.closed = true
    for (const waiter of Core.drain(this.state)) (waiter as Waiter).settle(Effect.interrupt)
    this.wakeTimer()
  }

  /** runs `self` in a slot of this bulkhead (see the module's comment) */
  run<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | BulkheadFull, R> {
    const state = this.state
    let held = false
    let waiter: Waiter | undefined
    return Effect.onExitPrimitive(
      Effect.withFiber<A, E | BulkheadFull, R>((fiber) => {
        if (this.closed) return Effect.interrupt
        if (Core.tryAcquire(state)) {
          held = true
          return self
        }
        const w = new Waiter(this, nowOf(fiber), self)
        if (!Core.enqueue(state, w)) return Effect.fail(makeFull({ bulkhead: this.name, maxConcurrent: state.maxConcurrent }))
        waiter = w
        this.wakeTimer()
        // resumed with the call itself once granted (no step in between), or with the rejection
        return Effect.callback<A, E | BulkheadFull, R>((resume) =>
          w.register(resume as (effect: Effect.Effect<unknown, unknown, unknown>) => void)
        )
      }),
      () => {
        if (held) {
          held = false
          Core.release(state)
        } else if (waiter !== undefined) {
          const w = waiter
          waiter = undefined
          if (w.granted) Core.release(state)
          else Core.leave(state, w)
        }
        return undefined
      }
    )
  }
}

/**
 * The guard of one limited effect on the opt-in fast guarded call
 * (`EFFECT_FOUNDATION_GUARDED_CALL=fast`), where taking the slot and installing the exit frame
 * are one step, so a call that finds a free slot allocates nothing more. A call that finds
 * none goes the way of `Compartment.run`. One object, its methods on the prototype.
 */
export class SlotGuard<A, E, R> implements Guard<true, E | BulkheadFull> {
  constructor(
    readonly compartment: Compartment,
    readonly self: Effect.Effect<A, E, R>
  ) {}
  admit(): true | Effect.Effect<never, E | BulkheadFull> {
    const compartment = this.compartment
    if (!compartment.closed && Core.tryAcquire(compartment.state)) return true
    return compartment.run(this.self) as Effect.Effect<never, E | BulkheadFull>
  }
  onSuccess(): void {
    Core.release(this.compartment.state)
  }
  onFailure(): void {
    Core.release(this.compartment.state)
  }
}
