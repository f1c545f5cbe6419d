/**
 * One registered check or component and how it is run: at most one run at a time per entry,
 * shared by every reader; a reader never waits past the run's start plus its timeout, even
 * when the check ignores interruption; background entries run in a loop of their own.
 *
 * The state is plain mutable fields owned by the aggregator: every decision on them happens
 * inside one synchronous step, which JS runs to the end, so no `Ref` is needed.
 */
import type { Clock, Context, Fiber, Scope } from "effect"
import { Deferred, Effect, Exit } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { metrics } from "../../Telemetry.js"
import { registerGauge } from "../runtime/observableMetric.js"
import type { CheckResult } from "./result.js"
import { fromCause, fromOutcome, isFresh, statusValue, timedOut } from "./result.js"
import type { HealthComponent } from "../runtime/healthComponents.js"

/** What kind of thing an entry is: a user's check, or a protection's built-in component. */
export type EntryKind = "check" | HealthComponent["kind"]

export interface Entry {
  readonly name: string
  readonly kind: EntryKind
  readonly critical: boolean
  /** background entries run every `intervalMs` and readers take their last result */
  readonly intervalMs: number | undefined
  readonly timeoutMs: number
  readonly cacheTtlMs: number
  /** the check bounded by its timeout, as a result; never fails */
  readonly run: Effect.Effect<CheckResult>
  last: CheckResult | undefined
  inflight: Deferred.Deferred<CheckResult> | undefined
  runner: Fiber.Fiber<unknown> | undefined
  startedAt: number
  /** removes the entry's gauge series; set when its first result arrives */
  removeGauge: (() => void) | undefined
  /** unregistered or replaced: its background loop ends at its next turn */
  stopped: boolean
}

const timeoutMarker: unique symbol = Symbol("effect-foundation/health/timeout")

/**
 * Builds the effect that runs a check once: bounded by its timeout (interrupting it), with
 * every failure, defect, interruption or odd return value turned into an unhealthy result.
 */
export const makeRun = (clock: Clock.Clock, check: Effect.Effect<unknown, unknown>, timeoutMs: number): Effect.Effect<CheckResult> => {
  const bounded = Effect.exit(Effect.timeoutOrElse(check, { duration: timeoutMs, orElse: () => Effect.succeed(timeoutMarker) }))
  return Effect.suspend(() => {
    const started = clock.currentTimeNanosUnsafe()
    return Effect.map(bounded, (exit) => {
      const at = clock.currentTimeMillisUnsafe()
      const durationMs = Number(clock.currentTimeNanosUnsafe() - started) / 1e6
      if (Exit.isFailure(exit)) return fromCause(exit.cause, at, durationMs)
      return exit.value === timeoutMarker ? timedOut(timeoutMs, at) : fromOutcome(exit.value, at, durationMs)
    })
  })
}

/** The run's outcome is stored (unless a newer one is) and handed to every waiting reader. */
const settle = (entry: Entry, deferred: Deferred.Deferred<CheckResult>, result: CheckResult, onResult: (entry: Entry) => void) => {
  if (entry.last === undefined || entry.last.at <= result.at) entry.last = result
  if (entry.inflight === deferred) {
    entry.inflight = undefined
    entry.runner = undefined
  }
  Deferred.doneUnsafe(deferred, Effect.succeed(result))
  onResult(entry)
}

/**
 * Reads an entry: its stored result when fresh, otherwise the result of the run in flight
 * (starting one if none is), waiting at most until that run's start plus the timeout.
 */
export const read = (clock: Clock.Clock, entry: Entry, onResult: (entry: Entry) => void): Effect.Effect<CheckResult> =>
  Effect.suspend(() => {
    const now = clock.currentTimeMillisUnsafe()
    return isFresh(entry.last, now, entry.intervalMs !== undefined, entry.cacheTtlMs)
      ? Effect.succeed(entry.last)
      : awaitRun(clock, entry, now, onResult)
  })

/** Joins the run in flight or starts one, then waits for it within its timeout. */
export const awaitRun = (clock: Clock.Clock, entry: Entry, now: number, onResult: (entry: Entry) => void): Effect.Effect<CheckResult> => {
  const deferred = entry.inflight
  if (deferred !== undefined) return awaitBounded(clock, entry, deferred, now)
  const started = Deferred.makeUnsafe<CheckResult>()
  entry.inflight = started
  entry.startedAt = now
  // The run is detached from the reader: a reader that goes away (a closed HTTP connection)
  // must not interrupt a run other readers are waiting for. The entry's finalizer stops it.
  const runner = entry.run.pipe(
    Effect.flatMap((result) => Effect.sync(() => settle(entry, started, result, onResult))),
    Effect.onInterrupt(() =>
      Effect.sync(() =>
        settle(
          entry,
          started,
          {
            status: "unhealthy",
            details: undefined,
            output: "check was interrupted",
            at: clock.currentTimeMillisUnsafe(),
            durationMs: 0
          },
          onResult
        )
      )
    )
  )
  return Effect.flatMap(Effect.forkDetach(runner, { startImmediately: true }), (fiber) => {
    // a synchronous check has already settled: skip the timer
    if (Deferred.isDoneUnsafe(started)) return Deferred.await(started)
    if (entry.inflight === started) entry.runner = fiber
    return awaitBounded(clock, entry, started, now)
  })
}

const awaitBounded = (
  clock: Clock.Clock,
  entry: Entry,
  deferred: Deferred.Deferred<CheckResult>,
  now: number
): Effect.Effect<CheckResult> => {
  // clamped: a clock set back must not stretch the wait past the timeout
  const remaining = Math.min(entry.timeoutMs, entry.startedAt + entry.timeoutMs - now)
  // The run times itself out, but a check that ignores interruption would keep it (and us)
  // waiting; so the reader keeps its own deadline and records the timeout itself.
  const onTimeout = () =>
    Effect.sync(() => {
      const result = timedOut(entry.timeoutMs, clock.currentTimeMillisUnsafe())
      if (entry.inflight === deferred && (entry.last === undefined || entry.last.at <= result.at)) entry.last = result
      return result
    })
  if (Deferred.isDoneUnsafe(deferred)) return Deferred.await(deferred)
  if (remaining <= 0) return onTimeout()
  return Effect.timeoutOrElse(Deferred.await(deferred), { duration: remaining, orElse: onTimeout })
}

/** The background loop of an entry with an interval: run, wait for the result, sleep, again. */
export const backgroundLoop = (
  clock: Clock.Clock,
  entry: Entry,
  intervalMs: number,
  onResult: (entry: Entry) => void
): Effect.Effect<never> => {
  const turn = Effect.andThen(
    Effect.suspend(() => awaitRun(clock, entry, clock.currentTimeMillisUnsafe(), onResult)),
    Effect.sleep(intervalMs)
  )
  // a replaced entry's scope may live on; its loop must not keep running the old check
  return Effect.forever(Effect.suspend(() => (entry.stopped ? Effect.interrupt : turn)))
}

/** Stops whatever the entry is running, without waiting for a check that ignores interruption. */
export const stop = (entry: Entry): void => {
  entry.stopped = true
  entry.runner?.interruptUnsafe()
  entry.removeGauge?.()
  entry.removeGauge = undefined
}

/**
 * Adds an entry until the caller's scope closes, with its background loop if it has an
 * interval. A name already taken is an `InvalidConfig`, unless `replace` (a built-in component
 * registering again), in which case the previous entry is stopped.
 */
export const addEntry = (
  entries: Map<string, Entry>,
  clock: Clock.Clock,
  entry: Entry,
  replace: boolean,
  onResult: (entry: Entry) => void
): Effect.Effect<void, InvalidConfig, Scope.Scope> =>
  Effect.gen(function* () {
    const previous = entries.get(entry.name)
    if (previous !== undefined) {
      if (!replace) {
        return yield* new InvalidConfig({
          path: `health.checks.${entry.name}`,
          message: `a check named "${entry.name}" is already registered`
        })
      }
      stop(previous)
    }
    entries.set(entry.name, entry)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stop(entry)
        if (entries.get(entry.name) === entry) entries.delete(entry.name)
      })
    )
    if (entry.intervalMs !== undefined) {
      yield* Effect.forkScoped(backgroundLoop(clock, entry, entry.intervalMs, onResult), { startImmediately: true })
    }
  })

/** Provides the services a check captured at registration, so it runs anywhere. */
export const withContext = <A, E, R>(check: Effect.Effect<A, E, R>, context: Context.Context<R>): Effect.Effect<A, E> =>
  Effect.provideContext(check, context)

/** A fresh entry: no result yet, nothing running. */
export const newEntry = (
  name: string,
  kind: EntryKind,
  critical: boolean,
  intervalMs: number | undefined,
  timeoutMs: number,
  cacheTtlMs: number,
  run: Effect.Effect<CheckResult>
): Entry => ({
  name,
  kind,
  critical,
  intervalMs,
  timeoutMs,
  cacheTtlMs,
  run,
  last: undefined,
  inflight: undefined,
  runner: undefined,
  startedAt: 0,
  removeGauge: undefined,
  stopped: false
})

/**
 * The entry's `foundation.health.status` series, registered once, with its first result:
 * before it there is nothing true to say.
 */
export const registerStatusGauge = (metricContext: Context.Context<never>, entry: Entry): void => {
  if (entry.removeGauge !== undefined) return
  entry.removeGauge = registerGauge(
    metricContext,
    metrics.healthStatus,
    "health of a component: 1 healthy, 0.5 degraded, 0 unhealthy",
    { component: entry.name },
    () => (entry.last === undefined ? 1 : statusValue(entry.last.status))
  )
}
