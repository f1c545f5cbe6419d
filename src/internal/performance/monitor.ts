/**
 * The PerformanceMonitor service over its table: the recording hot path, the fiber that
 * evaluates each interval, and the readers, which turn the table's milliseconds into the
 * `Duration`s of the public models. `PerformanceMonitor.layer` decodes the options and builds it.
 */
import type { Exit, Scope } from "effect"
import { Clock, Duration, Effect, PubSub, Stream } from "effect"
import { InvalidConfig } from "../../Errors.js"
import type { Alert, BaselineFigure, Latency, MeasureSite, PerformanceMonitor, Snapshot } from "../../PerformanceMonitor.js"
import type { MetricName } from "./baseline.js"
import * as Baselines from "./baseline.js"
import type { MonitorConfig } from "./config.js"
import { parseAlertThreshold } from "./config.js"
import * as Histogram from "./histogram.js"
import type { Entry } from "./table.js"
import * as Table from "./table.js"
import { defaultMonotonic, hasFailureOrDefect, millisOf } from "./timing.js"
import * as Window from "./window.js"

const latencyOf = (latency: Window.Latency): Latency => ({
  p50: Duration.millis(latency.p50),
  p95: Duration.millis(latency.p95),
  p99: Duration.millis(latency.p99),
  max: Duration.millis(latency.max),
  mean: Duration.millis(latency.mean)
})

/** The service, with its evaluating fiber in the current scope. */
export const make = (config: MonitorConfig): Effect.Effect<PerformanceMonitor["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const clock = yield* Clock.Clock
    const table = Table.makeTable(config)
    const windowConfig = config.window
    const pubsub = yield* PubSub.sliding<Alert>(1_024)
    yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub))
    const active = new Map<string, Alert>()

    const slotMillis = windowConfig.slotMillis

    // Time for durations and windows as a double in milliseconds (no BigInt per call). With
    // effect's default Clock this is performance.now(), the same monotonic source as that
    // Clock's monotonicTimeNanos; any other Clock (TestClock) is read through its interface.
    const monotonicMillis: () => number =
      clock.monotonicTimeNanosUnsafe === defaultMonotonic() ? () => performance.now() : () => Number(clock.monotonicTimeNanosUnsafe()) / 1e6

    // The current interval, advanced by the ticking fiber at each interval boundary. Reading
    // a clock costs a number allocation (a time is not a small integer), so `recordUnsafe`
    // takes the interval from here and reads no clock at all: it allocates nothing.
    let currentEpoch = Window.epochOf(windowConfig, clock.currentTimeMillisUnsafe())

    const recordUnsafe = (service: string, operation: string, millis: number, failed: boolean): void => {
      const epoch = currentEpoch
      Window.record(Table.entryOf(table, service, operation, epoch).window, windowConfig, epoch, Histogram.toMicros(millis), failed)
    }

    const site = (service: string, operation: string): MeasureSite => {
      let cached: Entry | undefined
      const end = (start: number, exit: Exit.Exit<unknown, unknown>): undefined => {
        const finished = monotonicMillis()
        if (exit._tag === "Failure" && !hasFailureOrDefect(exit)) return undefined // interrupted
        const epoch = currentEpoch
        if (cached === undefined || cached.evicted) cached = Table.entryOf(table, service, operation, epoch)
        Window.record(cached.window, windowConfig, epoch, Histogram.toMicros(finished - start), exit._tag === "Failure")
        return undefined
      }
      return {
        begin: () => {
          const start = monotonicMillis()
          return (exit) => end(start, exit)
        }
      }
    }

    // One suspend step and one exit frame (interruptible: recording is synchronous, so the
    // frame need not mask interruption, which would cost two more steps per call).
    const measure = (service: string, operation: string) => {
      const measured = site(service, operation)
      return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        Effect.suspend(() => Effect.onExitPrimitive(self, measured.begin(), true))
    }

    const evaluate = Effect.sync(() => {
      const events = Table.evaluate(table, clock.currentTimeMillisUnsafe())
      for (const event of events) {
        const key = `${event.service}\u0000${event.operation}\u0000${event.metric}\u0000${event.kind}`
        if (event._tag === "AlertFired") active.set(key, event)
        else active.delete(key)
      }
      return events
    }).pipe(Effect.flatMap((events) => (events.length === 0 ? Effect.void : PubSub.publishAll(pubsub, events))))

    // Wakes at each interval boundary (not every slotMillis after the previous run, which would
    // drift), advances the current interval, and evaluates once per new interval.
    const tick = Effect.suspend(() => {
      const now = clock.currentTimeMillisUnsafe()
      const epoch = Window.epochOf(windowConfig, now)
      const advanced = epoch > currentEpoch
      if (advanced) currentEpoch = epoch
      return (advanced ? evaluate : Effect.void).pipe(
        Effect.andThen(Effect.sleep((currentEpoch + 1) * slotMillis - clock.currentTimeMillisUnsafe()))
      )
    })
    yield* Effect.sleep((currentEpoch + 1) * slotMillis - clock.currentTimeMillisUnsafe()).pipe(
      Effect.andThen(Effect.forever(tick)),
      Effect.forkScoped({ startImmediately: true })
    )

    const status = (service: string, operation?: string): Effect.Effect<Snapshot> =>
      Effect.sync(() => {
        const entries = Table.entriesOf(table, service, operation)
        const summary = Window.summarize(
          entries.map((entry) => entry.window),
          windowConfig,
          clock.currentTimeMillisUnsafe()
        )
        const snapshot: Snapshot = { ...summary, latency: latencyOf(summary.latency) }
        const only = operation === undefined ? undefined : entries[0]
        if (only === undefined || only.baselines.latency_p99.samples === 0) return snapshot
        const figure = (metric: MetricName): BaselineFigure => ({
          mean: only.baselines[metric].mean,
          deviation: Baselines.deviation(only.baselines[metric], metric, config.baseline),
          samples: only.baselines[metric].samples
        })
        const latency = figure("latency_p99")
        return {
          ...snapshot,
          baseline: {
            latencyP99: { mean: Duration.millis(latency.mean), deviation: Duration.millis(latency.deviation), samples: latency.samples },
            errorRate: figure("error_rate")
          }
        }
      })

    const setAlert = (service: string, operation: string, metric: MetricName, threshold: Duration.Input) =>
      Effect.suspend(() => {
        const decoded = parseAlertThreshold(service, operation, metric, threshold)
        if (decoded instanceof InvalidConfig) return Effect.fail(decoded)
        const operations = table.thresholds.get(service) ?? new Map()
        table.thresholds.set(service, operations)
        operations.set(operation, { ...operations.get(operation), [metric]: decoded })
        return Effect.void
      })

    return {
      measure,
      site,
      record: (service, operation, duration, outcome) =>
        Effect.sync(() =>
          recordUnsafe(service, operation, typeof duration === "number" ? duration : millisOf(duration), outcome === "failure")
        ),
      recordUnsafe,
      status,
      setAlert,
      alerts: Stream.fromPubSub(pubsub),
      activeAlerts: Effect.sync(() => [...active.values()])
    }
  })
