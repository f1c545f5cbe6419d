/**
 * The PerformanceMonitor's options, stated once as a Schema (constraints and defaults next to
 * each field), the alert thresholds `setAlert` takes, and the resolved configuration the
 * monitor runs on. `PerformanceMonitor.layer`, the configuration file's `performance` section
 * and `Foundation` all decode through `MonitorOptions`.
 */
import { Duration, Schema, SchemaTransformation } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { decodeSync } from "../runtime/options.js"
import { between, DurationInput, millis, PositiveInt, Ratio, withDefault } from "../runtime/schemas.js"
import type { BaselineConfig, MetricName } from "./baseline.js"
import type { WindowConfig } from "./window.js"

// Slots shorter than 1 ms would put consecutive calls in different intervals for no gain and
// make the evaluating fiber wake more often than the clock can tell apart.
const slotsOfAtLeastOneMilli = Schema.makeFilter<{ readonly window: Duration.Duration; readonly slots: number }>(({ slots, window }) =>
  Duration.toMillis(window) / slots >= 1
    ? undefined
    : {
        path: ["slots"],
        issue: `leaves slots shorter than 1 ms (window ${Duration.toMillis(window)} ms / ${slots} slots)`
      }
)

/** The PerformanceMonitor's options (`PerformanceMonitor.OptionsSchema`). */
export const MonitorOptions = Schema.Struct({
  /** the sliding window the statistics cover */
  window: withDefault(DurationInput, "60 seconds"),
  /** how many intervals the window rotates in; alerts are evaluated once per interval */
  slots: withDefault(PositiveInt, 6),
  /** the cap on (service, operation) pairs */
  maxOperations: withDefault(PositiveInt, 1_000),
  /** windows with fewer calls neither teach nor judge the baseline */
  minSamples: withDefault(PositiveInt, 20),
  /** the learned baselines */
  baseline: withDefault(
    Schema.Struct({
      /** weight of each new window, in (0, 1] */
      alpha: withDefault(Ratio, 0.1),
      /** deviations above the mean that alert, in (0, 1000] */
      sensitivity: withDefault(Schema.Finite.pipe(Schema.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1_000))), 3),
      /** evaluations learned before the baseline may alert */
      warmup: withDefault(PositiveInt, 10),
      /** the smallest latency deviation, as a fraction of the mean, in [0, 100] */
      latencyFloor: withDefault(between(0, 100), 0.1),
      /** the smallest error-rate deviation, in [0, 1] */
      errorRateFloor: withDefault(between(0, 1), 0.01)
    }),
    {}
  )
}).pipe(Schema.check(slotsOfAtLeastOneMilli))

/** The options as a user writes them. */
export type MonitorOptions = typeof MonitorOptions.Encoded

const nonNegativeFinite = Schema.makeFilter<Duration.Duration>((duration) =>
  Duration.isFinite(duration) && Duration.toMillis(duration) >= 0 ? undefined : "must be a finite duration >= 0"
)

// milliseconds, NaN rejected (Duration.millis would turn it into a zero duration)
const FiniteMillis = Schema.Finite.pipe(Schema.decodeTo(Schema.Duration, SchemaTransformation.durationFromMillis))

const part = Schema.optional(Schema.Finite)
// The other forms of a `Duration.Input`, so `setAlert` takes what `record` takes: nanoseconds
// as a bigint, [seconds, nanos], or { weeks, days, ..., nanoseconds }.
const OtherDurationForms = Schema.Union([
  Schema.BigInt,
  Schema.Tuple([Schema.Finite, Schema.Finite]),
  Schema.Struct({
    weeks: part,
    days: part,
    hours: part,
    minutes: part,
    seconds: part,
    milliseconds: part,
    microseconds: part,
    nanoseconds: part
  })
]).pipe(
  Schema.decodeTo(
    Schema.Duration,
    SchemaTransformation.transform({
      decode: (input) => Duration.fromInputUnsafe(input),
      encode: (duration) => Duration.toNanosUnsafe(duration)
    })
  )
)

/**
 * The fixed alert thresholds of one pair (`PerformanceMonitor.AlertThresholdsSchema`), keyed
 * by metric: a p99 latency (any `Duration.Input`: a `Duration`, a string, milliseconds, a
 * bigint of nanoseconds, [seconds, nanos] or a `{ seconds, ... }` object; finite and >= 0, and
 * 0 alerts on any traffic) and an error rate in [0, 1].
 */
export const AlertThresholds = Schema.Struct({
  latency_p99: Schema.optionalKey(
    Schema.Union([Schema.Duration, Schema.DurationFromString, FiniteMillis, OtherDurationForms]).pipe(Schema.check(nonNegativeFinite))
  ),
  error_rate: Schema.optionalKey(between(0, 1))
})

/** One threshold, decoded and in the monitor's unit (milliseconds for latency). */
export const parseAlertThreshold = (service: string, operation: string, metric: MetricName, threshold: unknown): number | InvalidConfig => {
  const decoded = decodeSync(AlertThresholds, { [metric]: threshold }, `performance.alerts.${service}.${operation}`)
  if (decoded instanceof InvalidConfig) return decoded
  return decoded.latency_p99 !== undefined ? millis(decoded.latency_p99) : decoded.error_rate!
}

export interface MonitorConfig {
  readonly window: WindowConfig
  readonly windowMillis: number
  readonly maxOperations: number
  readonly minSamples: number
  readonly baseline: BaselineConfig
}

export const parseMonitorOptions = (options: unknown): MonitorConfig | InvalidConfig => {
  const decoded = decodeSync(MonitorOptions, options ?? {}, "performance")
  if (decoded instanceof InvalidConfig) return decoded
  const windowMillis = millis(decoded.window)
  return {
    window: { slotMillis: windowMillis / decoded.slots, slots: decoded.slots },
    windowMillis,
    maxOperations: decoded.maxOperations,
    minSamples: decoded.minSamples,
    baseline: decoded.baseline
  }
}
