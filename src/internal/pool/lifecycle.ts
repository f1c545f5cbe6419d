/**
 * A resource's life outside a caller's hands: its creation (`acquire` in a fiber of its own,
 * given up after acquireTimeout; a resource returned too late is released, never pooled), its
 * return (pooled, handed to the first waiter, or destroyed), its destruction (`release` in the
 * background, counted so shutdown can wait for it), and shutdown's drain.
 *
 * The core (`core.ts`) decides and counts; this module runs what it decided, in the same
 * synchronous step (see `Env.spawn`).
 */
import type { Exit, Fiber } from "effect"
import { Cause, Duration, Effect, Option, Schedule } from "effect"
import * as Errors from "../../Errors.js"
import * as Core from "./core.js"
import type { Env } from "./env.js"

type Entry<A> = Core.Entry<A>
/** the acquireRetry schedule's step: sleeps for the next delay, fails when the schedule is over */
type RetryStep = (input: unknown) => Effect.Effect<unknown, unknown>

/** how often a given-up acquisition inside an uninterruptible region is checked (see `stop`) */
const shieldPollMillis = 1000

export interface Lifecycle<A> {
  /** releases, in the background, an entry that already left the pool's counts (the core counted it destroyed) */
  readonly destroy: (entry: Entry<A>) => void
  /** starts `n` acquisitions now, already counted in `creating` (by `Core.creationsToStart`) */
  readonly startCreations: (n: number) => void
  /** a checked-out entry comes back: to the first waiter, to the idle list, or destroyed (`doom`, retired, closed) */
  readonly checkin: (entry: Entry<A>, doom: boolean) => void
  /**
   * Shutdown, after `Core.close`: releases the idle entries it removed, stops the acquisitions
   * in flight, and waits (within shutdownTimeout) for resources in use, releases, and
   * acquisitions still running.
   */
  readonly shutdown: (idle: ReadonlyArray<Entry<A>>) => Effect.Effect<void>
  /**
   * Waits until `minIdle` resources exist (idle or in use; generic-pool's `ready()`), within
   * readyTimeout, else fails `OperationTimeout`. Starts the top-up at once rather than
   * waiting for housekeeping, so a pool whose last top-up failed tries again now.
   */
  readonly ready: Effect.Effect<void, Errors.OperationTimeout>
}

export const make = <A, E, R>(
  env: Env<A, R>,
  acquireEffect: Effect.Effect<A, E, R>,
  release: ((resource: A) => Effect.Effect<unknown, unknown, R>) | undefined
): Lifecycle<A> => {
  const { config, context, held, now, spawn, state } = env
  const acquire = Effect.provideContext(acquireEffect, context)
  const tracksLifetime = config.maxLifetimeMillis !== Infinity
  const tracksLeaks = config.leakWarningMillis !== Infinity
  /** acquisitions in flight and within their deadline */
  const creations = new Set<Fiber.Fiber<A, E>>()
  /** releases running */
  let releasing = 0
  /** acquisitions given up after acquireTimeout that have not returned yet */
  let abandoned = 0

  // ---- drain: shutdown waits for resources in use, releases, and acquisitions still running --
  let drainResume: ((effect: Effect.Effect<void>) => void) | undefined
  const drained = () => state.inUse === 0 && releasing === 0 && state.creating === 0 && abandoned === 0
  const notifyDrain = () => {
    if (drainResume !== undefined && drained()) {
      const resume = drainResume
      drainResume = undefined
      resume(Effect.void)
    }
  }

  // ---- destruction: background, uninterruptible, counted for shutdown -----------------------
  const releaseOne = (entry: Entry<A>): Effect.Effect<void> =>
    Effect.flatMap(Effect.exit(Effect.provideContext(release!(entry.resource), context)), (exit) => {
      releasing--
      notifyDrain()
      return exit._tag === "Success"
        ? Effect.void
        : Effect.logWarning(`pool "${config.name}": release of resource #${entry.id} failed; it is counted destroyed`, exit.cause)
    })
  const destroy = (entry: Entry<A>): void => {
    if (tracksLeaks) held.delete(entry)
    if (release === undefined) return
    releasing++
    spawn(Effect.uninterruptible(releaseOne(entry)))
  }

  // ---- return -----------------------------------------------------------------------------
  const checkin = (entry: Entry<A>, doom: boolean): void => {
    if (tracksLeaks) held.delete(entry)
    // a hand-off to a waiter needs no time unless lifetimes are tracked: skip the clock read
    const at = tracksLifetime || state.head === undefined || doom ? now() : 0
    const doomed = Core.checkin(state, entry, at, doom)
    if (doomed !== undefined) {
      destroy(doomed)
      startCreations(Core.creationsToStart(state, true))
    }
    if (state.closed) notifyDrain() // after destroy() counted the release it starts
  }

  // ---- creation: `acquire` in its own fiber, given up after acquireTimeout -----------------
  const makeEntry = (resource: A): Entry<A> => {
    const at = now()
    const entry: Entry<A> = {
      resource,
      id: state.nextId++,
      createdAt: at,
      retireAt: at + config.maxLifetimeMillis * (1 - config.lifetimeJitter * Math.random()),
      idleSince: at,
      uses: 0,
      checkedOutAt: 0,
      holder: undefined,
      leakReported: false,
      afterUse: undefined,
      granted: undefined
    }
    entry.granted = Effect.succeed(entry)
    // the return step, allocated once per resource: a use that died destroys it
    entry.afterUse = (exit: Exit.Exit<unknown, unknown>): undefined => {
      checkin(entry, exit._tag === "Failure" && Cause.hasDies(exit.cause))
      return undefined
    }
    return entry
  }
  /** an acquisition ended within its deadline; `retry`: the schedule's step, once it retried */
  const onAcquired = (exit: Exit.Exit<A, E>, retry?: RetryStep): void => {
    if (exit._tag === "Success") {
      const doomed = Core.created(state, makeEntry(exit.value))
      if (doomed !== undefined) destroy(doomed)
      if (readyResumes.size > 0 && isReady()) for (const resume of Array.from(readyResumes)) resume(Effect.void)
      return
    }
    if (Cause.hasInterruptsOnly(exit.cause)) {
      // only shutdown interrupts a creation in time: nothing to restart
      Core.createAborted(state)
      return
    }
    if (config.acquireRetry !== undefined && !state.closed) {
      retryLater(exit, retry)
      return
    }
    giveUp(exit)
  }
  /** the acquisition failed for good: its first waiter gets the error */
  const giveUp = (exit: Exit.Exit<A, E>, counted = false): void => {
    if (exit._tag === "Success") return
    const served = Core.createFailed(state, Effect.failCause(exit.cause), now(), counted)
    // the remaining waiters keep their chance; minIdle top-ups wait for housekeeping, so a
    // dependency that is down is not hammered in a loop
    startCreations(Core.creationsToStart(state, false))
    if (!served) spawn(Effect.logWarning(`pool "${config.name}": acquire failed with nobody waiting`, exit.cause))
  }
  /**
   * Acquisitions to stop that are inside an uninterruptible region. Interrupting one there
   * would not stop it, and would make effect discard the resource it returns when the
   * region ends (a leak nobody could release): each is interrupted only once it has left
   * the region, checked every `shieldPollMillis` while any is left.
   */
  const shielded = new Set<Fiber.Fiber<A, E>>()
  // effect exposes no public read of a fiber's interruptibility; 4.1's fiber keeps it in
  // `interruptible` (a missing field reads as interruptible: interrupt at once)
  const isMasked = (fiber: Fiber.Fiber<A, E>) => (fiber as unknown as { readonly interruptible?: boolean }).interruptible === false
  const stop = (fiber: Fiber.Fiber<A, E>): void => {
    if (!isMasked(fiber)) {
      fiber.interruptUnsafe()
      return
    }
    const watching = shielded.size > 0
    shielded.add(fiber)
    if (!watching) spawn(shieldWatch)
  }
  const shieldWatch: Effect.Effect<void> = Effect.suspend(() => {
    for (const fiber of shielded) {
      if (isMasked(fiber)) continue
      shielded.delete(fiber)
      fiber.interruptUnsafe()
    }
    return shielded.size === 0 ? Effect.void : Effect.andThen(Effect.sleep(shieldPollMillis), shieldWatch)
  })
  const onTimedOut = (acquiring: Fiber.Fiber<A, E>): void => {
    Core.createTimedOut(state, now())
    abandoned++
    // counted first: a fiber parked in an interruptible wait ends inside interruptUnsafe,
    // and its observer (lateArrival) runs right there
    stop(acquiring)
    // the freed slot goes to the waiters at once; each attempt holds a slot for at most
    // acquireTimeout, so a hung dependency is retried at that pace, not in a loop
    startCreations(Core.creationsToStart(state, false))
    spawn(
      Effect.logWarning(
        `pool "${config.name}": acquire exceeded acquireTimeout (${config.acquireTimeoutMillis}ms); it was interrupted and its slot freed`
      )
    )
  }
  /** a given-up acquisition ended: a resource it returned anyway is released, never pooled */
  const lateArrival = (exit: Exit.Exit<A, E>): void => {
    abandoned--
    if (exit._tag === "Success") {
      Core.createdTooLate(state)
      destroy(makeEntry(exit.value))
    }
    notifyDrain()
  }
  const acquireDeadline = Effect.sleep(config.acquireTimeoutMillis)
  /**
   * Starts one acquisition (already counted in `creating`). `acquire` runs in a fiber of its
   * own, not under a timeout combinator: a timeout waits for its loser to stop, so an
   * acquire that ignores interruption would still hold the slot. Whichever of the acquire
   * and the deadline comes first settles the slot; the other is ignored (or released).
   */
  const startCreation = (retry?: RetryStep): void => {
    let settled = false
    let deadline: Fiber.Fiber<void> | undefined
    const acquiring = spawn(acquire)
    acquiring.addObserver((exit) => {
      shielded.delete(acquiring)
      if (settled) {
        lateArrival(exit)
        return
      }
      settled = true
      creations.delete(acquiring)
      if (deadline !== undefined) deadline.interruptUnsafe()
      onAcquired(exit, retry)
      if (state.closed) notifyDrain()
    })
    if (settled) return // acquire completed synchronously
    creations.add(acquiring)
    deadline = spawn(acquireDeadline)
    deadline.addObserver((exit) => {
      if (settled || exit._tag === "Failure") return
      settled = true
      creations.delete(acquiring)
      onTimedOut(acquiring)
    })
  }
  const startCreations = (n: number): void => {
    for (let i = 0; i < n; i++) startCreation()
  }

  // ---- acquireRetry: a failed attempt is retried on the schedule, keeping its slot ----------
  /** retries waiting for their delay: shutdown interrupts them, freeing their slots */
  const retrying = new Set<Fiber.Fiber<unknown>>()
  const retryLater = (exit: Exit.Exit<A, E>, retry: RetryStep | undefined): void => {
    Core.attemptFailed(state, now())
    let done = false
    const fiber = spawn(
      Effect.flatMap(retry === undefined ? Schedule.toStepWithSleep(config.acquireRetry!) : Effect.succeed(retry), (step) =>
        Effect.matchCause(step(undefined), {
          onSuccess: () => step,
          onFailure: () => undefined
        })
      )
    )
    fiber.addObserver((result) => {
      done = true
      retrying.delete(fiber)
      if (result._tag === "Failure") {
        Core.createAborted(state) // interrupted at shutdown: the slot is free
        notifyDrain()
      } else if (state.closed) {
        Core.createAborted(state)
        notifyDrain()
      } else if (result.value === undefined) {
        giveUp(exit, true) // the schedule is over: the last failure goes to the waiter
      } else {
        startCreation(result.value)
      }
    })
    if (!done) retrying.add(fiber)
  }

  // ---- shutdown ---------------------------------------------------------------------------
  const shutdown = (idle: ReadonlyArray<Entry<A>>): Effect.Effect<void> => {
    for (const entry of idle) destroy(entry)
    // nobody waits any more: acquisitions in flight are interrupted, without waiting for
    // them (an acquire may ignore interruption); one that completes anyway is released,
    // and the drain below waits for that too, within shutdownTimeout
    for (const fiber of Array.from(creations)) stop(fiber)
    for (const fiber of Array.from(retrying)) fiber.interruptUnsafe()
    const drain = Effect.callback<void>((resume) => {
      if (drained()) resume(Effect.void)
      else drainResume = resume
    })
    return Effect.flatMap(Effect.timeoutOption(drain, config.shutdownTimeoutMillis), (done) =>
      Option.isSome(done)
        ? Effect.void
        : Effect.logWarning(
            `pool "${config.name}": shut down with ${state.inUse} resources still in use, ${releasing} releases pending and ${
              state.creating + abandoned
            } acquisitions running; they are released when they come back`
          )
    )
  }

  // ---- ready: minIdle resources exist ------------------------------------------------------
  const readyResumes = new Set<(effect: Effect.Effect<void>) => void>()
  const isReady = () => state.idle.length + state.inUse >= state.config.minIdle
  const readyTimeout = Duration.millis(config.readyTimeoutMillis)
  const ready: Effect.Effect<void, Errors.OperationTimeout> = Effect.suspend(() => {
    if (isReady()) return Effect.void
    if (state.closed) return Effect.interrupt
    startCreations(Core.creationsToStart(state, true))
    const wait = Effect.callback<void>((resume) => {
      if (isReady()) return resume(Effect.void)
      const once = (effect: Effect.Effect<void>) => {
        readyResumes.delete(once)
        resume(effect)
      }
      readyResumes.add(once)
      return Effect.sync(() => {
        readyResumes.delete(once)
      })
    })
    return Effect.timeoutOrElse(wait, {
      duration: readyTimeout,
      orElse: () => Effect.fail(new Errors.OperationTimeout({ operation: `pool "${config.name}" ready`, timeout: readyTimeout }))
    })
  })

  return { destroy, startCreations, checkin, shutdown, ready }
}
