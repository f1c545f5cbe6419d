/**
 * The effectful shell of `Pool`: owns the state machine (`poolCore.ts`), time, fibers,
 * telemetry and health. Hot-path rules: a checkout served from the idle list is one exit
 * frame around one `withFiber` (no Scope, no generator, no mask; one clock read, on return);
 * only a checkout that has to wait allocates a waiter and runs under `uninterruptibleMask`.
 *
 * @internal
 */
import type { Exit, Fiber, Scope } from "effect"
import { Cause, Clock, Context, Duration, Effect, Option, Tracer } from "effect"
import * as Errors from "../../Errors.js"
import type { Options, Pool, Status } from "../../Pool.js"
import { HealthComponents } from "../runtime/healthComponents.js"
import * as Core from "./core.js"
import * as PoolConfig from "./config.js"
import * as PoolHealth from "./health.js"
import * as PoolMetrics from "./metrics.js"

type Entry<A> = Core.Entry<A>
/** how often a given-up acquisition inside an uninterruptible region is checked (see `shielded`) */
const shieldPollMillis = 1000
/** how many waiter resumptions are nested on the stack right now (see `settle`) */
let resumeDepth = 0

type Restore = <AX, EX, RX>(effect: Effect.Effect<AX, EX, RX>) => Effect.Effect<AX, EX, RX>

const makeTimeout = Errors.fastConstructor(Errors.PoolCheckoutTimeout, "PoolCheckoutTimeout", "pool_checkout_timeout")

export const makeShell = <A, E, R>(
  options: Options<A, E, R>
): Effect.Effect<Pool<A, E>, Errors.InvalidConfig, R | Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* PoolConfig.resolve(options, "pool")
    const context = yield* Effect.context<R | Scope.Scope>()
    // Background work (acquisitions, releases) is spawned synchronously, in the same step as
    // the decision that counts it: a fork *effect* returned for later could be skipped by an
    // interruption landing before it runs, leaving `creating` or `releasing` counted forever
    // (a pool stuck below capacity, a shutdown waiting for a release that never starts).
    const spawn = Effect.runForkWith(context)
    /** acquisitions in flight and within their deadline */
    const creations = new Set<Fiber.Fiber<A, E>>()
    const clock = yield* Clock.Clock
    const state = Core.make<A>({
      size: config.size,
      max: config.size + config.maxOverflow,
      minIdle: config.minIdle,
      lifo: config.lifo
    })
    const histogram = new PoolMetrics.CheckoutHistogram()
    const timeoutDuration = Duration.millis(config.checkoutTimeoutMillis)
    const tracksLifetime = config.maxLifetimeMillis !== Infinity
    const tracksLeaks = config.leakWarningMillis !== Infinity
    const held = new Set<Entry<A>>()
    const acquire = Effect.provideContext(options.acquire, context)
    const release = options.release
    const validate = options.validate
    const now = () => clock.currentTimeMillisUnsafe()

    // ---- destruction: background, uninterruptible, counted for shutdown ------------------
    let releasing = 0
    let drainResume: ((effect: Effect.Effect<void>) => void) | undefined
    /** shutdown waits for resources in use, releases, and acquisitions still running */
    const drained = () => state.inUse === 0 && releasing === 0 && state.creating === 0 && abandoned === 0
    const notifyDrain = () => {
      if (drainResume !== undefined && drained()) {
        const resume = drainResume
        drainResume = undefined
        resume(Effect.void)
      }
    }
    const releaseOne = (entry: Entry<A>): Effect.Effect<void> =>
      Effect.flatMap(Effect.exit(Effect.provideContext(release!(entry.resource), context)), (exit) => {
        releasing--
        notifyDrain()
        return exit._tag === "Success" ? Effect.void : Effect.logWarning(
          `pool "${config.name}": release of resource #${entry.id} failed; it is counted destroyed`,
          exit.cause
        )
      })
    /** the entry already left the pool's counts (Core counted it destroyed) */
    const destroy = (entry: Entry<A>): Effect.Effect<void> => {
      if (tracksLeaks) held.delete(entry)
      if (release === undefined) return Effect.void
      releasing++
      spawn(Effect.uninterruptible(releaseOne(entry)))
      return Effect.void
    }

    // ---- creation: `acquire` in its own fiber, given up after acquireTimeout ---------------
    /** acquisitions given up after acquireTimeout that have not returned yet */
    let abandoned = 0
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
        afterUse: undefined
      }
      entry.afterUse = (exit: Exit.Exit<unknown, unknown>) =>
        checkin(entry, exit._tag === "Failure" && Cause.hasDies(exit.cause))
      return entry
    }
    /** an acquisition ended within its deadline; the effect returned (if any) must run */
    const onAcquired = (exit: Exit.Exit<A, E>): Effect.Effect<void> | undefined => {
      if (exit._tag === "Success") {
        const doomed = Core.created(state, makeEntry(exit.value))
        if (doomed !== undefined) destroy(doomed)
        return undefined
      }
      if (Cause.hasInterruptsOnly(exit.cause)) {
        // only shutdown interrupts a creation in time: nothing to restart
        Core.createAborted(state)
        return undefined
      }
      const served = Core.createFailed(state, Effect.failCause(exit.cause), now())
      // the remaining waiters keep their chance; minIdle top-ups wait for housekeeping, so a
      // dependency that is down is not hammered in a loop
      startCreations(Core.creationsToStart(state, false))
      return served
        ? undefined
        : Effect.logWarning(`pool "${config.name}": acquire failed with nobody waiting`, exit.cause)
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
    const isMasked = (fiber: Fiber.Fiber<A, E>) =>
      (fiber as unknown as { readonly interruptible?: boolean }).interruptible === false
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
      spawn(Effect.logWarning(
        `pool "${config.name}": acquire exceeded acquireTimeout (${config.acquireTimeoutMillis}ms); it was interrupted and its slot freed`
      ))
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
    /**
     * Starts one acquisition (already counted in `creating`). `acquire` runs in a fiber of its
     * own, not under a timeout combinator: a timeout waits for its loser to stop, so an
     * acquire that ignores interruption would still hold the slot. Whichever of the acquire
     * and the deadline comes first settles the slot; the other is ignored (or released).
     */
    const startCreation = (): void => {
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
        const after = onAcquired(exit)
        if (after !== undefined) spawn(after)
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
    const acquireDeadline = Effect.sleep(config.acquireTimeoutMillis)
    /** starts `n` acquisitions now (already counted in `creating`); the effect is `void` */
    const startCreations = (n: number): Effect.Effect<void> => {
      for (let i = 0; i < n; i++) startCreation()
      return Effect.void
    }

    // ---- return -----------------------------------------------------------------------------
    /** gives a checked-out entry back; the returned effect (if any) must run */
    const checkin = (entry: Entry<A>, doom: boolean): Effect.Effect<void> | undefined => {
      if (tracksLeaks) held.delete(entry)
      // a hand-off to a waiter needs no time unless lifetimes are tracked: skip the clock read
      const at = tracksLifetime || state.head === undefined || doom ? now() : 0
      const doomed = Core.checkin(state, entry, at, doom)
      if (doomed !== undefined) {
        destroy(doomed)
        startCreations(Core.creationsToStart(state, true))
      }
      if (state.closed) notifyDrain() // after destroy() counted the release it starts
      return undefined
    }

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

    const runBody = <B, E2, R2>(
      entry: Entry<A>,
      f: (resource: A) => Effect.Effect<B, E2, R2>,
      restore: Restore | undefined
    ): Effect.Effect<B, E2, R2> => {
      let body: Effect.Effect<B, E2, R2>
      try {
        body = f(entry.resource)
      } catch (defect) {
        const after = checkin(entry, true)
        return after === undefined ? Effect.die(defect) : Effect.andThen(after, Effect.die(defect))
      }
      return Effect.onExitPrimitive(restore === undefined ? body : restore(body), entry.afterUse!)
    }

    // ---- waiting ----------------------------------------------------------------------------
    class Waiting implements Core.Waiter<A> {
      prev: Core.Waiter<A> | undefined = undefined
      next: Core.Waiter<A> | undefined = undefined
      queued = false
      /** a handed-off entry this waiter owns until its fiber takes it */
      entry: Entry<A> | undefined = undefined
      result: Effect.Effect<Entry<A>, any> | undefined = undefined
      resume: ((effect: Effect.Effect<Entry<A>, any>) => void) | undefined = undefined
      constructor(readonly deadline: number) {}
      grant(entry: Entry<A>) {
        this.entry = entry
        this.settle(Effect.succeed(entry))
      }
      reject(reason: unknown) {
        this.settle(
          reason === "timeout"
            ? Effect.fail(makeTimeout({ pool: config.name, timeout: timeoutDuration, waiting: state.waiting + 1 }))
            : reason as Effect.Effect<never, unknown>
        )
      }
      register(resume: (effect: Effect.Effect<Entry<A>, any>) => void) {
        if (this.result !== undefined) resume(this.result)
        else this.resume = resume
      }
      settle(effect: Effect.Effect<Entry<A>, any>) {
        const resume = this.resume
        if (resume === undefined) this.result = effect
        else {
          this.resume = undefined
          // resuming runs the waiter's fiber right here, and its return may resume the next
          // waiter: past a few levels, go through the scheduler so the stack stays flat
          if (resumeDepth >= 16) return resume(Effect.andThen(Effect.yieldNow, effect))
          resumeDepth++
          try {
            resume(effect)
          } finally {
            resumeDepth--
          }
        }
      }
    }
    /** a waiting fiber left (interrupted, timed out): it takes nothing with it */
    const leave = (waiter: Waiting): Effect.Effect<void> | undefined => {
      Core.dequeue(state, waiter)
      const entry = waiter.entry
      if (entry === undefined) return undefined
      waiter.entry = undefined
      return checkin(entry, false)
    }

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

    // ---- checkout ---------------------------------------------------------------------------
    const verify = (
      entry: Entry<A>,
      restore: Restore,
      fiber: Fiber.Fiber<unknown, unknown>,
      startedAt: number
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
          const after = checkin(entry, true) ?? Effect.void
          if (exit._tag === "Failure" && Cause.hasInterrupts(exit.cause)) {
            return Effect.andThen(after, Effect.failCause(exit.cause))
          }
          return Effect.andThen(after, attempt(restore, fiber, startedAt))
        }
      )
    }

    const attempt = (
      restore: Restore,
      fiber: Fiber.Fiber<unknown, unknown>,
      startedAt: number
    ): Effect.Effect<Entry<A>, any> =>
      Effect.suspend(() => {
        if (state.closed) return Effect.interrupt
        const at = now()
        if (startedAt < 0) startedAt = at
        const entry = Core.takeIdle(state)
        if (entry !== undefined) {
          if (tracksLifetime && at >= entry.retireAt) {
            return Effect.andThen(checkin(entry, true) ?? Effect.void, attempt(restore, fiber, startedAt))
          }
          return verify(entry, restore, fiber, startedAt)
        }
        const waiter = new Waiting(at + config.checkoutTimeoutMillis)
        Core.enqueue(state, waiter)
        wakeTimer()
        const wait = Effect.flatMap(
          Effect.onExitPrimitive(
            restore(Effect.callback<Entry<A>, any>((resume) => {
              if (waiter.result !== undefined) resume(waiter.result)
              else waiter.resume = resume
            })),
            (exit) => exit._tag === "Failure" ? leave(waiter) : undefined
          ),
          (entry) => {
            waiter.entry = undefined
            return verify(entry, restore, fiber, startedAt)
          }
        )
        const n = Core.creationsToStart(state, false)
        return n === 0 ? wait : Effect.andThen(startCreations(n), wait)
      })

    const slowUse = <B, E2, R2>(
      f: (resource: A) => Effect.Effect<B, E2, R2>,
      fiber: Fiber.Fiber<unknown, unknown>
    ): Effect.Effect<B, E | E2 | Errors.PoolCheckoutTimeout, R2> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(attempt(restore, fiber, -1), (entry) => runBody(entry, f, restore))
      )

    const fast = validate === undefined && !tracksLifetime
    /**
     * Without validation or lifetimes, one exit frame guards the whole checkout, installed
     * *before* the checkout runs inside it. The scheduler may yield a fiber between any two
     * steps (an interruption point), so a frame installed after the checkout could come too
     * late. The resource is always in `lease.entry` (taken) or `lease.waiter.entry` (handed
     * off, not yet picked up), and the frame gives back whichever holds it.
     */
    const use = <B, E2, R2>(
      f: (resource: A) => Effect.Effect<B, E2, R2>
    ): Effect.Effect<B, E | E2 | Errors.PoolCheckoutTimeout, R2> => {
      if (!fast) return Effect.withFiber((fiber) => slowUse(f, fiber))
      let taken: Entry<A> | undefined
      let waiter: Waiting | undefined
      return Effect.onExitPrimitive(
        Effect.withFiber((fiber) => {
          taken = Core.takeIdle(state)
          if (taken !== undefined) {
            served(taken, fiber, -1)
            return callUse(taken, f)
          }
          if (state.closed) return Effect.interrupt
          const startedAt = now()
          const w = waiter = new Waiting(startedAt + config.checkoutTimeoutMillis)
          Core.enqueue(state, w)
          wakeTimer()
          const wait = Effect.flatMap(Effect.callback<Entry<A>, any>((resume) => w.register(resume)), (entry) => {
            taken = entry
            w.entry = undefined
            served(entry, fiber, startedAt)
            return callUse(entry, f)
          })
          const n = Core.creationsToStart(state, false)
          return n === 0 ? wait : Effect.andThen(startCreations(n), wait)
        }),
        (exit) => {
          if (waiter !== undefined) {
            Core.dequeue(state, waiter)
            if (waiter.entry !== undefined) {
              const entry = waiter.entry
              waiter.entry = undefined
              return checkin(entry, false)
            }
          }
          return taken === undefined ? undefined : taken.afterUse!(exit)
        }
      )
    }
    const callUse = <B, E2, R2>(entry: Entry<A>, f: (resource: A) => Effect.Effect<B, E2, R2>) => {
      try {
        return f(entry.resource)
      } catch (defect) {
        return Effect.die(defect)
      }
    }

    // ---- status, housekeeping, telemetry, health, shutdown -----------------------------------
    const statusUnsafe = (): Status => ({
      size: config.size,
      maxOverflow: config.maxOverflow,
      idle: state.idle.length,
      inUse: state.inUse,
      overflow: Core.overflow(state),
      waiting: state.waiting,
      creating: state.creating,
      created: state.created,
      destroyed: state.destroyed,
      checkouts: state.checkouts,
      reused: state.reused,
      timeouts: state.timeouts,
      acquireFailures: state.acquireFailures,
      acquireTimeouts: state.acquireTimeouts
    })

    const reportLeaks = (at: number): Effect.Effect<void> => {
      let effect: Effect.Effect<void> = Effect.void
      for (const entry of held) {
        if (entry.leakReported || at - entry.checkedOutAt < config.leakWarningMillis) continue
        entry.leakReported = true
        const span = entry.holder as Tracer.AnySpan | undefined
        effect = Effect.andThen(
          effect,
          Effect.logWarning(
            `pool "${config.name}": resource #${entry.id} held for ${at - entry.checkedOutAt}ms (leakWarning ${config.leakWarningMillis}ms)`
          ).pipe(Effect.annotateLogs({
            pool: config.name,
            holderSpanId: span?.spanId ?? "none",
            holderTraceId: span?.traceId ?? "none",
            holderSpan: span !== undefined && span._tag === "Span" ? span.name : "none"
          }))
        )
      }
      return effect
    }
    const housekeeping: Effect.Effect<void> = Effect.suspend(() => {
      const at = now()
      let effect = tracksLeaks ? reportLeaks(at) : Effect.void
      for (const entry of Core.evict(state, at, config.idleTimeoutMillis)) effect = Effect.andThen(effect, destroy(entry))
      return Effect.andThen(effect, startCreations(Core.creationsToStart(state, true)))
    })
    const housekeepingLoop: Effect.Effect<void> = Effect.andThen(
      Effect.sleep(config.housekeepingMillis),
      Effect.andThen(housekeeping, Effect.suspend(() => housekeepingLoop))
    )

    const removeMetrics = PoolMetrics.register(
      context as Context.Context<never>,
      config.name,
      state as Core.State<unknown>,
      histogram
    )
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const { idle, waiters } = Core.close(state)
        for (const waiter of waiters) (waiter as Waiting).settle(Effect.interrupt)
        wakeTimer()
        for (const entry of idle) destroy(entry)
        // nobody waits any more: acquisitions in flight are interrupted, without waiting for
        // them (an acquire may ignore interruption); one that completes anyway is released,
        // and the drain below waits for that too, within shutdownTimeout
        for (const fiber of Array.from(creations)) stop(fiber)
        const drain = Effect.callback<void>((resume) => {
          if (drained()) resume(Effect.void)
          else drainResume = resume
        })
        return Effect.timeoutOption(drain, config.shutdownTimeoutMillis).pipe(
          Effect.flatMap((done) =>
            Option.isSome(done) ? Effect.void : Effect.logWarning(
              `pool "${config.name}": shut down with ${state.inUse} resources still in use, ${releasing} releases pending and ${
                state.creating + abandoned
              } acquisitions running; they are released when they come back`
            )
          ),
          Effect.ensuring(Effect.sync(removeMetrics))
        )
      })
    )

    yield* Effect.forkScoped(timerLoop)
    yield* Effect.forkScoped(housekeepingLoop)
    yield* startCreations(Core.creationsToStart(state, true))

    const healthWindowMillis = PoolHealth.recentFailureMillis(config.acquireTimeoutMillis)
    const components = yield* Effect.serviceOption(HealthComponents)
    if (Option.isSome(components)) {
      yield* components.value.register({
        name: `pool:${config.name}`,
        kind: "pool",
        critical: false,
        report: Effect.sync(() => PoolHealth.report(state, now(), healthWindowMillis))
      })
    }

    return { name: config.name, use, status: Effect.sync(statusUnsafe), statusUnsafe }
  })
