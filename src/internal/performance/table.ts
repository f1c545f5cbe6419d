/**
 * The PerformanceMonitor's table of (service, operation) pairs, its cap, and the periodic
 * evaluation (baselines and alerts). Plain mutable state owned by one service instance; every
 * function is synchronous, so each call is atomic in JavaScript.
 *
 * Cap policy: at most `maxOperations` pairs. When a new pair arrives at a full table, every
 * pair that has been idle for a whole window (nothing left to report) and has no active alert
 * is evicted, its baseline with it. If none can be evicted, the new pair's calls are counted
 * under the overflow pair (`OVERFLOW`, `OVERFLOW`) until one can; the scan is skipped until the
 * earliest time a pair could have gone idle, so a flood of new names costs O(1) per call.
 */
import { Duration } from "effect"
import type { Alert } from "../../PerformanceMonitor.js"
import type { ActiveAlert, Baseline, MetricName } from "./baseline.js"
import * as Baselines from "./baseline.js"
import type { MonitorConfig } from "./config.js"
import * as Window from "./window.js"

export const OVERFLOW = "(overflow)"

export interface Entry {
  readonly service: string
  readonly operation: string
  readonly window: Window.Window
  readonly baselines: Record<MetricName, Baseline>
  readonly alerts: Map<string, ActiveAlert>
  /** set when evicted: a cached reference must look the pair up again */
  evicted: boolean
}

export interface Table {
  readonly config: MonitorConfig
  readonly services: Map<string, Map<string, Entry>>
  size: number
  /** no eviction scan before this time (see the cap policy) */
  nextScanAt: number
  /** fixed thresholds set with setAlert, by service then operation; they outlive eviction */
  readonly thresholds: Map<string, Map<string, Partial<Record<MetricName, number>>>>
}

export const makeTable = (config: MonitorConfig): Table => ({
  config,
  services: new Map(),
  size: 0,
  nextScanAt: -Infinity,
  thresholds: new Map()
})

const newEntry = (table: Table, service: string, operation: string, now: number): Entry => {
  let operations = table.services.get(service)
  if (operations === undefined) {
    operations = new Map()
    table.services.set(service, operations)
  }
  const entry: Entry = {
    service,
    operation,
    window: Window.makeWindow(table.config.window, now),
    baselines: { latency_p99: Baselines.emptyBaseline(), error_rate: Baselines.emptyBaseline() },
    alerts: new Map(),
    evicted: false
  }
  operations.set(operation, entry)
  table.size++
  return entry
}

const evictIdle = (table: Table, now: number): void => {
  let earliestIdle = Infinity
  for (const [service, operations] of table.services) {
    for (const [operation, entry] of operations) {
      if (entry.alerts.size === 0 && Window.idle(entry.window, table.config.window, now)) {
        entry.evicted = true
        operations.delete(operation)
        table.size--
      } else {
        // its last interval leaves the window at (lastEpoch + slots) x slotMillis
        const { slotMillis, slots } = table.config.window
        earliestIdle = Math.min(earliestIdle, (entry.window.lastEpoch + slots) * slotMillis)
      }
    }
    if (operations.size === 0) table.services.delete(service)
  }
  table.nextScanAt = earliestIdle
}

/**
 * The entry of a pair, created if there is room (or the overflow entry if not). Takes the
 * interval (`Window.epochOf`), a small integer, so the common path allocates nothing.
 */
export const entryOf = (table: Table, service: string, operation: string, epoch: number): Entry => {
  const existing = table.services.get(service)?.get(operation)
  if (existing !== undefined) return existing
  return createEntry(table, service, operation, epoch * table.config.window.slotMillis)
}

const createEntry = (table: Table, service: string, operation: string, now: number): Entry => {
  if (table.size >= table.config.maxOperations && now >= table.nextScanAt) evictIdle(table, now)
  if (table.size < table.config.maxOperations) return newEntry(table, service, operation, now)
  const overflow = table.services.get(OVERFLOW)?.get(OVERFLOW)
  // the overflow pair may exceed the cap by one: it is the only pair that can
  return overflow ?? newEntry(table, OVERFLOW, OVERFLOW, now)
}

const metricNames: ReadonlyArray<MetricName> = ["latency_p99", "error_rate"]

/**
 * Evaluates every pair at `now`: compares each metric with its fixed threshold and its
 * learned baseline (before learning from this window, so an anomaly is judged against the
 * past), then learns. Windows with fewer than `minSamples` calls are not learned from.
 */
export const evaluate = (table: Table, now: number): Array<Alert> => {
  const events: Array<Alert> = []
  const { baseline: baselineConfig, minSamples, window: windowConfig } = table.config
  for (const operations of table.services.values()) {
    for (const entry of operations.values()) {
      const summary = Window.summarize([entry.window], windowConfig, now)
      const enough = summary.count >= minSamples
      const thresholds = table.thresholds.get(entry.service)?.get(entry.operation)
      for (const metric of metricNames) {
        const value = summary.count === 0 ? undefined : metric === "latency_p99" ? summary.latency.p99 : summary.errorRate
        const baseline = entry.baselines[metric]
        const threshold = thresholds?.[metric]
        if (threshold !== undefined) {
          decide(events, entry, metric, "threshold", value, threshold, threshold, undefined, now)
        }
        const judged = enough ? value : undefined
        const bound = Baselines.upperBound(baseline, metric, baselineConfig, summary.count)
        const deviation = Baselines.deviation(baseline, metric, baselineConfig, summary.count)
        const deviations = judged === undefined ? undefined : (judged - baseline.mean) / deviation
        // too few calls to judge: keep the alert as it is rather than clear it on thin data
        if (judged !== undefined || summary.count === 0) {
          decide(events, entry, metric, "baseline", judged, baseline.mean, bound, deviations, now)
        }
        // read after the decision: the window that fired must not be learned as normal
        const alerting = entry.alerts.has(`${metric}:baseline`)
        if (judged !== undefined) Baselines.learn(baseline, judged, baselineConfig.alpha, alerting)
      }
    }
  }
  return events
}

const decide = (
  events: Array<Alert>,
  entry: Entry,
  metric: MetricName,
  kind: "baseline" | "threshold",
  value: number | undefined,
  expected: number,
  bound: number,
  deviations: number | undefined,
  now: number
): void => {
  const key = `${metric}:${kind}`
  const active = entry.alerts.get(key)
  const decision = Baselines.decide(active, value, bound)
  if (decision === "none") return
  const since = decision === "fire" ? now : active!.since
  if (decision === "fire") entry.alerts.set(key, { since })
  else entry.alerts.delete(key)
  const _tag = decision === "fire" ? "AlertFired" : "AlertCleared"
  const { operation, service } = entry
  // the table keeps latencies in milliseconds; the event carries them as Durations
  events.push(
    metric === "latency_p99"
      ? {
          _tag,
          service,
          operation,
          metric,
          kind,
          value: value === undefined ? undefined : Duration.millis(value),
          expected: Duration.millis(expected),
          bound: Duration.millis(bound),
          deviations,
          firedAt: since,
          evaluatedAt: now
        }
      : { _tag, service, operation, metric, kind, value, expected, bound, deviations, firedAt: since, evaluatedAt: now }
  )
}

/** The entries of a service (one operation, or all of them). */
export const entriesOf = (table: Table, service: string, operation: string | undefined): Array<Entry> => {
  const operations = table.services.get(service)
  if (operations === undefined) return []
  if (operation === undefined) return [...operations.values()]
  const entry = operations.get(operation)
  return entry === undefined ? [] : [entry]
}
