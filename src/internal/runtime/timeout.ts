/**
 * A timeout with `Effect.timeoutOrElse`'s semantics at a fraction of its cost.
 *
 * `Effect.timeoutOrElse` races two forked fibers, the effect and a sleep, so a call costs two
 * forks and one timer armed and cleared. Here a call costs one fork and an entry in a timer
 * list shared by every pending call on the same `Clock` (./timerWheel.ts), and a call whose
 * effect completes synchronously costs the fork alone: no timer at all.
 *
 * Why one fork and not none: on a timeout the effect must be interrupted (its finalizers run)
 * while the caller goes on to fail. An interruption cannot be caught on the fiber that
 * receives it, so the effect runs on a fiber of its own, as in `Effect.timeoutOrElse`.
 *
 * Semantics, as `Effect.timeoutOrElse` (property-tested against it under `TestClock`):
 * - the effect runs on a new fiber that starts at once, interruptible, with the caller's context;
 * - it completes before the deadline: its exit is the caller's;
 * - the deadline passes first: the effect's fiber is interrupted and awaited (its finalizers
 *   run), then the caller runs `orElse`, whatever the fiber's exit was;
 * - the caller is interrupted: the effect's fiber is interrupted and awaited, and the caller's
 *   exit is its interruption.
 *
 * The shared wake-up is a fiber (the "driver") per `Clock`, sleeping on that clock until the
 * earliest deadline, so `TestClock.adjust` drives it like any sleep. Its lifetime: started by
 * the first timed call that does not complete synchronously, it lives while timed calls are
 * pending and stops one scheduler turn after the last one settles (its sleep is interrupted, so
 * an idle process has no timer armed and can exit). It is a daemon: it belongs to no caller,
 * since it serves them all, and it holds only the clock and the scheduler.
 */
import type { Exit } from "effect"
import { Clock, Context, Duration, Effect, Fiber, Scheduler } from "effect"
import * as Wheel from "./timerWheel.js"

/** The timers of one clock and the fiber that wakes them. */
interface Shared {
  readonly clock: Clock.Clock
  readonly wheel: Wheel.TimerWheel
  /** the driver fiber, while one runs */
  driver: Fiber.Fiber<void> | undefined
  /** which driver is current: a replaced one stops without touching the state */
  generation: number
  /** the deadline the driver sleeps until */
  wakeAt: number
  /** true while the driver expires timers: an add then never restarts it */
  expiring: boolean
  /** the driver an idle check was scheduled for, while one is */
  idleCheck: Fiber.Fiber<void> | undefined
  /** the idle check's task, made once per clock (one caller's calls schedule one each) */
  readonly idleTask: () => void
}

const byClock = new WeakMap<Clock.Clock, Shared>()
// the last clock seen: nearly every call uses the same one, so the WeakMap is rarely read
let lastClock: Clock.Clock | undefined
let lastShared: Shared | undefined

const sharedOf = (clock: Clock.Clock): Shared => {
  if (clock === lastClock) return lastShared!
  let shared = byClock.get(clock)
  if (shared === undefined) {
    shared = makeShared(clock)
    byClock.set(clock, shared)
  }
  lastClock = clock
  lastShared = shared
  return shared
}

/** One pending call: its timer, the effect's fiber, and how to resume the caller. */
class Pending implements Wheel.Timer {
  deadline = 0
  sequence = 0
  previous: Wheel.Timer | undefined = undefined
  next: Wheel.Timer | undefined = undefined
  list: Wheel.TimerList | undefined = undefined
  timedOut = false
  constructor(
    readonly shared: Shared,
    readonly child: Fiber.Fiber<any, any>,
    readonly callerId: number,
    readonly resume: (effect: Effect.Effect<any, any, any>) => void,
    readonly orElse: Effect.Effect<any, any, any>
  ) {}
  /** the effect's fiber has exited */
  settle(exit: Exit.Exit<any, any>): void {
    if (this.timedOut) {
      this.resume(this.orElse)
      return
    }
    const shared = this.shared
    Wheel.remove(shared.wheel, this)
    if (shared.wheel.size === 0) scheduleIdleCheck(shared)
    this.resume(exit)
  }
}

/** the deadline passed: interrupt the effect's fiber; `settle` resumes the caller once it exits */
const expireCall = (call: Pending): void => {
  call.timedOut = true
  call.child.interruptUnsafe(call.callerId)
}

const startDriver = (shared: Shared, scheduler: Scheduler.Scheduler): void => {
  if (shared.driver !== undefined) shared.driver.interruptUnsafe()
  const generation = ++shared.generation
  const clock = shared.clock
  const loop = (): Effect.Effect<void> => {
    if (shared.generation !== generation) return Effect.void
    const now = clock.currentTimeMillisUnsafe()
    shared.expiring = true
    try {
      Wheel.expire(shared.wheel, now, expireCall)
    } finally {
      shared.expiring = false
    }
    const next = Wheel.nextDeadline(shared.wheel)
    if (next === undefined) {
      shared.driver = undefined
      return Effect.void
    }
    shared.wakeAt = next
    return Effect.flatMap(clock.sleep(Duration.millis(Math.max(0, next - now))), loop)
  }
  // only the clock and the scheduler: the driver must not keep a caller's services alive
  const context = Context.add(Context.make(Clock.Clock, clock), Scheduler.Scheduler, scheduler)
  shared.wakeAt = Wheel.nextDeadline(shared.wheel) ?? 0
  const driver = Effect.runForkWith(context)(Effect.suspend(loop))
  if (shared.generation === generation && driver.pollUnsafe() === undefined) shared.driver = driver
}

const makeShared = (clock: Clock.Clock): Shared => {
  const shared: Shared = {
    clock,
    wheel: Wheel.make(),
    driver: undefined,
    generation: 0,
    wakeAt: 0,
    expiring: false,
    idleCheck: undefined,
    idleTask: () => {
      const driver = shared.idleCheck
      shared.idleCheck = undefined
      if (driver !== undefined && shared.wheel.size === 0 && shared.driver === driver) {
        shared.driver = undefined
        shared.generation++
        driver.interruptUnsafe()
      }
    }
  }
  return shared
}

const scheduleIdleCheck = (shared: Shared): void => {
  const driver = shared.driver
  if (driver === undefined || shared.idleCheck !== undefined) return
  shared.idleCheck = driver
  // one scheduler turn of grace: a caller that goes on to its next timed call keeps the driver
  driver.currentDispatcher.scheduleTask(shared.idleTask, 0)
}

// `Effect.runForkWith(context)` is a function per context; a fiber keeps its context object
let lastContext: Context.Context<never> | undefined
let lastRun: ReturnType<typeof Effect.runForkWith<never>> | undefined

const forkNow = <A, E>(context: Context.Context<never>, self: Effect.Effect<A, E, any>): Fiber.Fiber<A, E> => {
  if (context !== lastContext) {
    lastContext = context
    lastRun = Effect.runForkWith(context)
  }
  return lastRun!(self as Effect.Effect<A, E, never>)
}

/**
 * `self`, interrupted after `millis` (positive, finite) in favour of `orElse`: the semantics of
 * `Effect.timeoutOrElse({ duration: millis, orElse: () => orElse })`.
 */
export const timeoutOrElse = <A, E, R, A2, E2, R2>(
  self: Effect.Effect<A, E, R>,
  millis: number,
  orElse: Effect.Effect<A2, E2, R2>
): Effect.Effect<A | A2, E | E2, R | R2> =>
  Effect.withFiber((caller) => {
    const child = forkNow(caller.context, self)
    const done = child.pollUnsafe()
    if (done !== undefined) return done
    return Effect.callback<A | A2, E | E2, R | R2>((resume) => {
      const clock = caller.getRef(Clock.Clock)
      const shared = sharedOf(clock)
      const call = new Pending(shared, child, caller.id, resume, orElse)
      const earliest = Wheel.add(shared.wheel, call, millis, clock.currentTimeMillisUnsafe())
      if (!shared.expiring && (shared.driver === undefined || (earliest && call.deadline < shared.wakeAt))) {
        startDriver(shared, caller.getRef(Scheduler.Scheduler))
      }
      child.addObserver((exit) => call.settle(exit))
      return Fiber.interrupt(child)
    })
  })

/** For tests: how many timed calls are pending on `clock`, and whether its driver runs. */
export const pendingOf = (clock: Clock.Clock): { readonly pending: number; readonly driver: boolean } => {
  const shared = byClock.get(clock)
  return { pending: shared?.wheel.size ?? 0, driver: shared?.driver !== undefined }
}
