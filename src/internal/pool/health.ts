/**
 * The pool's health verdict, a pure function of its state and the time (so it is tested
 * alone and read by `HealthAggregator` without effects).
 */
import type { ComponentReport } from "../runtime/healthComponents.js"
import { degradedWhen } from "../runtime/healthComponents.js"
import * as Core from "./core.js"

/**
 * How long a failed or timed-out acquisition keeps the pool degraded: a minute, or two
 * acquireTimeouts when that is longer, so a dependency that hangs (one timeout per slot per
 * acquireTimeout) reads as degraded throughout instead of flapping between attempts.
 */
export const recentFailureMillis = (acquireTimeoutMillis: number): number => Math.max(60_000, 2 * acquireTimeoutMillis)

/**
 * `degraded` while the pool is exhausted (no idle resource, `size + maxOverflow` reached) with
 * callers waiting, or while acquisitions are failing: the last one failed or timed out, within
 * `windowMillis`, and none succeeded since. `healthy` otherwise.
 */
export const report = <A>(state: Core.State<A>, now: number, windowMillis: number): ComponentReport => {
  const exhausted = state.waiting > 0 && state.idle.length === 0 && Core.total(state) >= state.config.max
  const failing = state.lastAcquireFailureAt > state.lastAcquireSuccessAt && now - state.lastAcquireFailureAt < windowMillis
  const details = {
    inUse: state.inUse,
    idle: state.idle.length,
    waiting: state.waiting,
    creating: state.creating,
    acquireFailures: state.acquireFailures,
    acquireTimeouts: state.acquireTimeouts
  }
  return degradedWhen(details, [
    [exhausted, "exhausted"],
    [failing, "acquire failing"]
  ])
}
