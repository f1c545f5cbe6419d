/**
 * Latency, throughput and error statistics per (service, operation), with learned baselines
 * and alerts.
 *
 * **Details**
 *
 * - `measure(service, operation)` (pipeable, or `measure(self, service, operation)`) times an
 *   effect and records its outcome; an interrupted effect is not recorded (it did not
 *   complete, so it has no latency). `record` adds a measurement taken elsewhere.
 * - Statistics cover a sliding window (default 60 s, in 6 slots rotated lazily by the time read
 *   from `Clock`): count, errors, error rate, throughput, and latency p50/p95/p99/max/mean
 *   from a fixed-size log-linear histogram (relative error <= 1.6 % above 64 µs, 0.5 µs
 *   below), so memory does not grow with traffic.
 * - Every slot interval a background fiber (owned by the layer's scope) evaluates each pair:
 *   it compares the window's p99 and error rate with the fixed thresholds set with `setAlert`
 *   and with a learned baseline (exponentially weighted mean and deviation), then learns from
 *   the window. `alerts` streams `AlertFired` / `AlertCleared` events: what, the value, the
 *   baseline or threshold, how many deviations away, and since when.
 * - At most `maxOperations` pairs (default 1000): see {@link Options} for the eviction policy.
 *
 * **Example** (Measuring a query and reading its latency)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { PerformanceMonitor } from "effect-foundation"
 *
 * const program = Effect.gen(function*() {
 *   yield* Effect.succeed("row").pipe(PerformanceMonitor.measure("db", "query"))
 *   const monitor = yield* PerformanceMonitor.PerformanceMonitor
 *   return (yield* monitor.status("db", "query")).count
 * }).pipe(Effect.provide(PerformanceMonitor.layer()))
 * // => 1
 * ```
 *
 * @since 0.1.0
 */
import type { Duration, Exit } from "effect"
import type { Stream } from "effect"
import { Context, Effect, Layer } from "effect"
import { dual } from "effect/Function"
import { InvalidConfig } from "./Errors.js"
import type { MetricName } from "./internal/performance/baseline.js"
import { AlertThresholds, MonitorOptions, parseMonitorOptions } from "./internal/performance/config.js"
import { make } from "./internal/performance/monitor.js"

/**
 * The options' Schema: every field with its constraint and default. `layer`, the configuration
 * file's `performance` section and `Foundation` decode through it; an unknown key fails
 * `InvalidConfig` with its path and the nearest option's name.
 *
 * **Example** (Decoding options from JSON)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { PerformanceMonitor } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(PerformanceMonitor.OptionsSchema)({ window: "2 minutes" })
 * // options.slots => 6
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionsSchema = MonitorOptions

/**
 * Layer options (all optional), as written in code or in the configuration file's
 * `performance` section.
 *
 * - `window` (default 60 s) and `slots` (integer >= 1, default 6): the sliding window and how
 *   many intervals it rotates in; alerts are evaluated once per interval (`window / slots`,
 *   at least 1 ms).
 * - `maxOperations` (integer >= 1, default 1000): the cap on (service, operation) pairs. A new
 *   pair at a full table evicts the pairs idle for a whole window with no active alert; if
 *   there are none, its calls are counted under the pair (`"(overflow)"`, `"(overflow)"`).
 * - `minSamples` (integer >= 1, default 20): windows with fewer calls do not teach or judge
 *   the baseline.
 * - `baseline`: `alpha` ((0, 1], 0.1, weight of each new window), `sensitivity` ((0, 1000],
 *   3, deviations above the mean that alert), `warmup` (integer >= 1, 10 evaluations before
 *   it may alert), `latencyFloor` ([0, 100], 0.1: the smallest latency deviation, as a
 *   fraction of the mean), `errorRateFloor` ([0, 1], 0.01).
 *
 * @since 0.1.0
 * @category models
 */
export type Options = typeof OptionsSchema.Encoded

/**
 * The Schema of a pair's fixed alert thresholds, by metric: `latency_p99` a `Duration.Input`
 * (a number is milliseconds; finite, >= 0) and `error_rate` a rate in [0, 1]. `setAlert`
 * decodes its threshold through it, strictly, under `performance.alerts.<service>.<operation>`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const AlertThresholdsSchema = AlertThresholds

/**
 * A metric that alerts: the window's p99 latency, or its error rate.
 *
 * @since 0.2.0
 * @category models
 */
export type Metric = MetricName

/**
 * Latency figures of a window, as `Duration`s (all zero when the window has no call).
 *
 * **Example** (The p99 in milliseconds)
 *
 * ```ts
 * import { Duration } from "effect"
 * import type { PerformanceMonitor } from "effect-foundation"
 *
 * const p99Millis = (latency: PerformanceMonitor.Latency) => Duration.toMillis(latency.p99)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Latency {
  readonly p50: Duration.Duration
  readonly p95: Duration.Duration
  readonly p99: Duration.Duration
  readonly max: Duration.Duration
  readonly mean: Duration.Duration
}

/**
 * A learned baseline of one metric: its mean and deviation (`Duration`s for the p99 latency,
 * rates for the error rate), and how many windows taught it.
 *
 * @since 0.1.0
 * @category models
 */
export interface BaselineFigure<A = number> {
  readonly mean: A
  readonly deviation: A
  readonly samples: number
}

/**
 * The statistics of a pair (or of all operations of a service) over the current window:
 * `count`, `errors`, `errorRate`, `throughput` (calls per second over the part of the window
 * the pair has existed, at least 1 s) and `latency`. `baseline` is present for a single pair
 * once it has learned from one window.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly count: number
  readonly errors: number
  readonly errorRate: number
  readonly throughput: number
  readonly latency: Latency
  readonly baseline?: {
    readonly latencyP99: BaselineFigure<Duration.Duration>
    readonly errorRate: BaselineFigure
  }
}

/**
 * An alert event on one metric, whose figures (`value`, `expected`, `bound`) are `A`s.
 *
 * @since 0.3.0
 * @category models
 */
export interface AlertOf<M extends Metric, A> {
  readonly _tag: "AlertFired" | "AlertCleared"
  readonly service: string
  readonly operation: string
  readonly metric: M
  /** `"baseline"`: departed from the learned baseline; `"threshold"`: crossed a fixed threshold */
  readonly kind: "baseline" | "threshold"
  /** the current window's value (`undefined` when the window has no calls) */
  readonly value: A | undefined
  /** what it is compared with: the baseline mean or the threshold */
  readonly expected: A
  /** the value above which it alerts */
  readonly bound: A
  /** how far from the baseline, in deviations ((value - mean) / deviation); baseline alerts only */
  readonly deviations: number | undefined
  /** when the alert became active (epoch milliseconds) */
  readonly firedAt: number
  /** when the evaluation that produced this event ran (epoch milliseconds) */
  readonly evaluatedAt: number
}

/**
 * An alert event: on the p99 latency (figures are `Duration`s) or on the error rate (rates
 * in [0, 1]). `kind` says whether a fixed threshold or the learned baseline was crossed.
 *
 * **Example** (Logging fired alerts)
 *
 * ```ts
 * import { Duration, Effect, Stream } from "effect"
 * import { PerformanceMonitor } from "effect-foundation"
 *
 * const describe = (alert: PerformanceMonitor.Alert): string =>
 *   alert.metric === "latency_p99"
 *     ? `p99 ${Duration.format(alert.value ?? Duration.zero)} over ${Duration.format(alert.bound)}`
 *     : `error rate ${alert.value ?? 0} over ${alert.bound}`
 * const logAlerts = PerformanceMonitor.PerformanceMonitor.use((monitor) =>
 *   monitor.alerts.pipe(Stream.runForEach((alert) => Effect.logWarning(describe(alert))))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Alert = AlertOf<"latency_p99", Duration.Duration> | AlertOf<"error_rate", number>

/**
 * How a recorded call ended.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "success" | "failure"

/**
 * A measuring point for one (service, operation): see `PerformanceMonitor.site`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MeasureSite {
  readonly begin: () => (exit: Exit.Exit<unknown, unknown>) => undefined
}

/**
 * The PerformanceMonitor service.
 *
 * @since 0.1.0
 * @category services
 */
export class PerformanceMonitor extends Context.Service<
  PerformanceMonitor,
  {
    /** times `self` and records it under (service, operation) */
    readonly measure: (service: string, operation: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    /**
     * the low-level form of `measure` for combinators: `begin()` reads the start time and
     * returns the function to call with the effect's exit (`Effect.onExitPrimitive`)
     */
    readonly site: (service: string, operation: string) => MeasureSite
    /** records a measurement taken elsewhere (`duration` as a number is milliseconds) */
    readonly record: (service: string, operation: string, duration: Duration.Input, outcome: Outcome) => Effect.Effect<void>
    /**
     * the same, synchronous and allocation-free (for callers that already run synchronously):
     * the duration is a number of milliseconds, the one form that allocates nothing
     */
    readonly recordUnsafe: (service: string, operation: string, millis: number, failed: boolean) => void
    /** the window's statistics of one operation, or of all the service's operations merged */
    readonly status: (service: string, operation?: string) => Effect.Effect<Snapshot>
    /**
     * a fixed threshold, decoded through `AlertThresholdsSchema`: a p99 latency as a
     * `Duration.Input` (a number is milliseconds), or an error rate in [0, 1]
     */
    readonly setAlert: {
      (service: string, operation: string, metric: "latency_p99", threshold: Duration.Input): Effect.Effect<void, InvalidConfig>
      (service: string, operation: string, metric: "error_rate", threshold: number): Effect.Effect<void, InvalidConfig>
    }
    /** alert events, from the time of subscription */
    readonly alerts: Stream.Stream<Alert>
    /** the alerts active now */
    readonly activeAlerts: Effect.Effect<ReadonlyArray<Alert>>
  }
>()("effect-foundation/PerformanceMonitor") {}

/**
 * Builds the monitor and its evaluation fiber. The options are decoded through
 * `OptionsSchema`, strictly: a bad or unknown option fails `InvalidConfig` naming
 * `performance.<field>` (every violation listed), as the configuration file's section does.
 *
 * **Example** (A one-minute window in 12 slots)
 *
 * ```ts
 * import { PerformanceMonitor } from "effect-foundation"
 *
 * const Monitor = PerformanceMonitor.layer({ window: "1 minute", slots: 12, maxOperations: 500 })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<PerformanceMonitor, InvalidConfig> =>
  Layer.effect(
    PerformanceMonitor,
    Effect.suspend(() => {
      const config = parseMonitorOptions(options)
      return config instanceof InvalidConfig ? Effect.fail(config) : make(config)
    })
  )

const measureWithService = (service: string, operation: string) => {
  // The fiber's context is usually the same object from one run to the next: remember the
  // site found through it, so the common case is an identity check instead of a lookup.
  let lastContext: Context.Context<never> | undefined
  let measured: MeasureSite | undefined
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | PerformanceMonitor> =>
    Effect.withFiber((fiber): Effect.Effect<A, E, R> => {
      if (fiber.context !== lastContext) {
        measured = Context.getUnsafe(fiber.context, PerformanceMonitor).site(service, operation)
        lastContext = fiber.context
      }
      return Effect.onExitPrimitive(self, measured!.begin(), true)
    })
}

/**
 * Times an effect and records it under (service, operation): data-last
 * (`self.pipe(measure(service, operation))`) or data-first (`measure(self, service, operation)`).
 *
 * **Example** (Measuring a call, both ways)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { PerformanceMonitor } from "effect-foundation"
 *
 * const query = Effect.succeed([1, 2]).pipe(PerformanceMonitor.measure("db", "users.list"))
 * const same = PerformanceMonitor.measure(Effect.succeed([1, 2]), "db", "users.list")
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const measure: {
  (service: string, operation: string): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | PerformanceMonitor>
  <A, E, R>(self: Effect.Effect<A, E, R>, service: string, operation: string): Effect.Effect<A, E, R | PerformanceMonitor>
} = dual(3, <A, E, R>(self: Effect.Effect<A, E, R>, service: string, operation: string) => measureWithService(service, operation)(self))

/**
 * Records a measurement taken elsewhere.
 *
 * @since 0.1.0
 * @category combinators
 */
export const record = (
  service: string,
  operation: string,
  duration: Duration.Input,
  outcome: Outcome
): Effect.Effect<void, never, PerformanceMonitor> =>
  PerformanceMonitor.use((monitor) => monitor.record(service, operation, duration, outcome))
