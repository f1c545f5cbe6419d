/**
 * Assembling a report from the entries read and their results. Pure functions.
 */
import type { Clock } from "effect"
import { Duration, Effect } from "effect"
import type { ComponentHealth, HealthStatus, SystemHealth } from "../../HealthAggregator.js"
import type { CheckResult } from "./result.js"
import { aggregate, isFresh } from "./result.js"
import type { Entry } from "./entry.js"
import { awaitRun } from "./entry.js"

/**
 * A report over `entries` (the critical ones only when `critical`). Fresh results are taken
 * as they are, in one synchronous pass; only the entries that need a run are awaited, all at
 * once. So a report from cached results costs no fiber and no allocation beyond its own.
 */
export const collect = (
  clock: Clock.Clock,
  entries: Iterable<Entry>,
  critical: boolean,
  onResult: (entry: Entry) => void
): Effect.Effect<SystemHealth> => {
  const started = clock.currentTimeNanosUnsafe()
  const now = clock.currentTimeMillisUnsafe()
  const selected: Array<Entry> = []
  for (const entry of entries) if (!critical || entry.critical) selected.push(entry)
  const results = new Array<CheckResult>(selected.length)
  let pending: Array<Effect.Effect<void>> | undefined
  for (let i = 0; i < selected.length; i++) {
    const entry = selected[i]!
    const last = entry.last
    if (isFresh(last, now, entry.intervalMs !== undefined, entry.cacheTtlMs)) {
      results[i] = last
    } else {
      pending ??= []
      pending.push(
        Effect.map(awaitRun(clock, entry, now, onResult), (result) => {
          results[i] = result
        })
      )
    }
  }
  // called inside Effect.suspend: with nothing to wait for, the report is built right here
  if (pending === undefined) return Effect.succeed(build(clock, selected, results, started))
  return Effect.andThen(
    Effect.all(pending, { concurrency: "unbounded", discard: true }),
    Effect.sync(() => build(clock, selected, results, started))
  )
}

export const toComponent = (entry: Entry, result: CheckResult, now: number): ComponentHealth => ({
  status: result.status,
  kind: entry.kind,
  critical: entry.critical,
  background: entry.intervalMs !== undefined,
  details: result.details,
  output: result.output,
  checkedAt: result.at,
  age: Duration.millis(Math.max(0, now - result.at)),
  duration: Duration.millis(result.durationMs)
})

const elapsedSince = (clock: Clock.Clock, started: bigint): Duration.Duration => {
  const elapsed = clock.currentTimeNanosUnsafe() - started
  return Duration.nanos(elapsed > 0n ? elapsed : 0n)
}

const build = (clock: Clock.Clock, selected: ReadonlyArray<Entry>, results: ReadonlyArray<CheckResult>, started: bigint): SystemHealth => {
  const now = clock.currentTimeMillisUnsafe()
  const components: Record<string, ComponentHealth> = {}
  const verdicts: Array<{ status: HealthStatus; critical: boolean }> = []
  for (let i = 0; i < selected.length; i++) {
    const entry = selected[i]!
    const result = results[i]!
    components[entry.name] = toComponent(entry, result, now)
    verdicts.push({ status: result.status, critical: entry.critical })
  }
  const { score, status } = aggregate(verdicts)
  return {
    status,
    score,
    components,
    checkedAt: now,
    duration: elapsedSince(clock, started)
  }
}
