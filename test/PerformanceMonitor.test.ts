import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Config from "../src/Config.js"
import * as Histogram from "../src/internal/performance/histogram.js"
import * as PerformanceMonitor from "../src/PerformanceMonitor.js"

const Monitor = PerformanceMonitor.PerformanceMonitor

const withMonitor = <A, E>(
  options: PerformanceMonitor.Options,
  body: (monitor: PerformanceMonitor.PerformanceMonitor["Service"]) => Effect.Effect<A, E, PerformanceMonitor.PerformanceMonitor>
) =>
  Effect.gen(function* () {
    return yield* body(yield* Monitor)
  }).pipe(Effect.provide(PerformanceMonitor.layer(options)))

/** within the histogram's stated error */
const close = (actual: Duration.Duration, expected: number) =>
  expect(Math.abs(Duration.toMillis(actual) - expected)).toBeLessThanOrEqual(expected * Histogram.RELATIVE_ERROR + 0.0005)

/** a snapshot's latency figures in milliseconds */
const latencyMillis = (snapshot: PerformanceMonitor.Snapshot) => {
  const { max, mean, p50, p95, p99 } = snapshot.latency
  return {
    p50: Duration.toMillis(p50),
    p95: Duration.toMillis(p95),
    p99: Duration.toMillis(p99),
    max: Duration.toMillis(max),
    mean: Duration.toMillis(mean)
  }
}

/** `n` calls of `millis` each, `failures` of them failed */
const burst = (monitor: PerformanceMonitor.PerformanceMonitor["Service"], operation: string, n: number, millis: number, failures = 0) =>
  Effect.sync(() => {
    for (let i = 0; i < n; i++) monitor.recordUnsafe("api", operation, millis, i < failures)
  })

describe("PerformanceMonitor", () => {
  it.effect("measure times the effect with the Clock and records success and failure", () =>
    withMonitor({}, (monitor) =>
      Effect.gen(function* () {
        const slow = Effect.sleep("120 millis").pipe(PerformanceMonitor.measure("db", "query"))
        const fiber = yield* Effect.forkChild(slow, { startImmediately: true })
        yield* TestClock.adjust("120 millis")
        yield* Fiber.join(fiber)
        const failing = PerformanceMonitor.measure(Effect.fail("boom"), "db", "query")
        expect(yield* Effect.flip(failing)).toBe("boom")
        const snapshot = yield* monitor.status("db", "query")
        expect(snapshot).toMatchObject({ count: 2, errors: 1, errorRate: 0.5 })
        expect(latencyMillis(snapshot)).toMatchObject({ max: 120, mean: 60 })
        close(snapshot.latency.p99, 120)
        expect(snapshot.baseline).toBeUndefined()
      })
    )
  )

  it.effect("an interrupted effect is not recorded; a defect counts as an error", () =>
    withMonitor({}, (monitor) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(Effect.never.pipe(PerformanceMonitor.measure("db", "query")), { startImmediately: true })
        yield* TestClock.adjust("1 second")
        yield* Fiber.interrupt(fiber)
        yield* Effect.exit(Effect.die("bug").pipe(PerformanceMonitor.measure("db", "query")))
        expect(yield* monitor.status("db", "query")).toMatchObject({ count: 1, errors: 1 })
      })
    )
  )

  it.effect("record takes Duration inputs or milliseconds; throughput is per second of the covered window", () =>
    withMonitor({}, (monitor) =>
      Effect.gen(function* () {
        yield* monitor.record("api", "get", "2 seconds", "success")
        yield* PerformanceMonitor.record("api", "get", 10, "failure")
        yield* TestClock.adjust("4 seconds")
        const snapshot = yield* monitor.status("api", "get")
        expect(snapshot).toMatchObject({ count: 2, errors: 1, errorRate: 0.5, throughput: 0.5 })
        expect(latencyMillis(snapshot).max).toBe(2_000)
      })
    )
  )

  it.effect("an unknown pair is empty, not an error", () =>
    withMonitor({}, (monitor) =>
      Effect.gen(function* () {
        const empty = yield* monitor.status("nope")
        expect(empty).toMatchObject({ count: 0, errors: 0, errorRate: 0, throughput: 0 })
        expect(latencyMillis(empty)).toEqual({ p50: 0, p95: 0, p99: 0, max: 0, mean: 0 })
        expect(empty.baseline).toBeUndefined()
      })
    )
  )

  it.effect("the window slides: calls older than the window leave it, slot by slot", () =>
    withMonitor({ window: "60 seconds", slots: 6 }, (monitor) =>
      Effect.gen(function* () {
        yield* burst(monitor, "get", 10, 500)
        yield* TestClock.adjust("30 seconds")
        yield* burst(monitor, "get", 5, 5)
        yield* TestClock.adjust("29 seconds") // t = 59 s: both in the window
        expect((yield* monitor.status("api", "get")).count).toBe(15)
        yield* TestClock.adjust("1 second") // t = 60 s: the slot [0, 10 s) has left
        const later = yield* monitor.status("api", "get")
        expect(later.count).toBe(5)
        expect(latencyMillis(later).max).toBe(5)
        yield* TestClock.adjust("30 seconds") // t = 90 s: nothing left
        expect((yield* monitor.status("api", "get")).count).toBe(0)
        // a slot is reused for a new interval, cleared first
        yield* burst(monitor, "get", 1, 7)
        const reused = yield* monitor.status("api", "get")
        expect(reused.count).toBe(1)
        expect(latencyMillis(reused).max).toBe(7)
      })
    )
  )

  it.effect("snapshot(service) merges all the service's operations", () =>
    withMonitor({}, (monitor) =>
      Effect.gen(function* () {
        yield* burst(monitor, "get", 3, 10)
        yield* burst(monitor, "put", 1, 40, 1)
        const all = yield* monitor.status("api")
        expect(all).toMatchObject({ count: 4, errors: 1 })
        expect(latencyMillis(all)).toMatchObject({ max: 40, mean: 17.5 })
        expect(all.baseline).toBeUndefined()
      })
    )
  )

  it.effect("learns a baseline, alerts on a departure with how far and since when, and clears when it returns", () =>
    withMonitor({ window: "60 seconds", slots: 6, baseline: { warmup: 5 } }, (monitor) =>
      Effect.gen(function* () {
        const events = yield* monitor.alerts.pipe(Stream.take(2), Stream.runCollect, Effect.forkChild({ startImmediately: true }))
        for (let i = 0; i < 10; i++) {
          yield* burst(monitor, "get", 50, 10 + (i % 2)) // p99 alternates 10 / 11 ms
          yield* TestClock.adjust("10 seconds")
        }
        const learned = yield* monitor.status("api", "get")
        expect(learned.baseline!.latencyP99.samples).toBe(10)
        expect(Duration.toMillis(learned.baseline!.latencyP99.mean)).toBeGreaterThan(10)
        expect(Duration.toMillis(learned.baseline!.latencyP99.mean)).toBeLessThan(11.2)
        expect(yield* monitor.activeAlerts).toEqual([])
        // t = 100 s: a slow interval
        yield* burst(monitor, "get", 50, 100)
        yield* TestClock.adjust("10 seconds")
        const [active] = yield* monitor.activeAlerts
        expect(active).toMatchObject({
          _tag: "AlertFired",
          service: "api",
          operation: "get",
          metric: "latency_p99",
          kind: "baseline",
          firedAt: 110_000,
          evaluatedAt: 110_000
        })
        if (active?.metric !== "latency_p99") throw new Error("expected a latency alert")
        close(active.value!, 100)
        expect(active.deviations!).toBeGreaterThan(3)
        expect(Duration.toMillis(active.expected)).toBeLessThan(11.2)
        // the slow slot stays in the window for 6 intervals, then the p99 returns
        for (let i = 0; i < 6; i++) {
          // while the slow slot [100 s, 110 s) is in the window (until 160 s) the alert stays active
          expect((yield* monitor.activeAlerts).length).toBe(i < 5 ? 1 : 0)
          yield* burst(monitor, "get", 50, 10)
          yield* TestClock.adjust("10 seconds")
        }
        const [fired, cleared] = yield* Fiber.join(events)
        expect(fired!._tag).toBe("AlertFired")
        expect(cleared).toMatchObject({ _tag: "AlertCleared", metric: "latency_p99", kind: "baseline", firedAt: 110_000 })
        expect(cleared!.evaluatedAt).toBe(160_000)
        expect(yield* monitor.activeAlerts).toEqual([])
      })
    )
  )

  it.effect("no baseline alert during warm-up, nor from windows with fewer than minSamples calls", () =>
    withMonitor({ baseline: { warmup: 5 }, minSamples: 20 }, (monitor) =>
      Effect.gen(function* () {
        for (let i = 0; i < 4; i++) {
          yield* burst(monitor, "get", 50, i === 3 ? 1_000 : 10)
          yield* TestClock.adjust("10 seconds")
        }
        expect(yield* monitor.activeAlerts).toEqual([])
        yield* TestClock.adjust("60 seconds")
        yield* burst(monitor, "get", 5, 5_000) // too few calls to judge
        yield* TestClock.adjust("10 seconds")
        expect(yield* monitor.activeAlerts).toEqual([])
      })
    )
  )

  it.effect("fixed thresholds fire and clear, independent of the baseline", () =>
    withMonitor({}, (monitor) =>
      Effect.gen(function* () {
        yield* monitor.setAlert("api", "get", "error_rate", 0.1)
        yield* monitor.setAlert("api", "get", "latency_p99", 50)
        yield* burst(monitor, "get", 10, 80, 2)
        yield* TestClock.adjust("10 seconds")
        const active = yield* monitor.activeAlerts
        expect(active.map((a) => `${a.metric}:${a.kind}`).sort()).toEqual(["error_rate:threshold", "latency_p99:threshold"])
        expect(active.find((a) => a.metric === "error_rate")).toMatchObject({ value: 0.2, expected: 0.1, firedAt: 10_000 })
        yield* TestClock.adjust("60 seconds") // the window empties: no metric, the alerts clear
        expect(yield* monitor.activeAlerts).toEqual([])
      })
    )
  )

  it.effect("setAlert rejects a threshold that cannot be met", () =>
    withMonitor({}, (monitor) =>
      Effect.gen(function* () {
        const bad = yield* Effect.flip(monitor.setAlert("api", "get", "error_rate", 1.5))
        expect(bad.path).toBe("performance.alerts.api.get.error_rate")
        expect((yield* Effect.flip(monitor.setAlert("api", "get", "latency_p99", Number.NaN)))._tag).toBe("InvalidConfig")
        expect((yield* Effect.flip(monitor.setAlert("api", "get", "latency_p99", -1)))._tag).toBe("InvalidConfig")
        const unparsable = yield* Effect.flip(monitor.setAlert("api", "get", "latency_p99", "soon" as Duration.Input))
        expect(unparsable.path).toBe("performance.alerts.api.get.latency_p99")
      })
    )
  )

  it.effect("setAlert takes a latency threshold as a Duration.Input: a Duration, a string or millis", () =>
    withMonitor({}, (monitor) =>
      Effect.gen(function* () {
        yield* monitor.setAlert("api", "a", "latency_p99", Duration.millis(50))
        yield* monitor.setAlert("api", "b", "latency_p99", "50 millis")
        yield* monitor.setAlert("api", "c", "latency_p99", 50)
        for (const operation of ["a", "b", "c"]) yield* burst(monitor, operation, 10, 80)
        yield* TestClock.adjust("10 seconds")
        const active = yield* monitor.activeAlerts
        expect(active.map((a) => `${a.operation}:${a.metric}:${Duration.toMillis(a.expected)}`).sort()).toEqual([
          "a:latency_p99:50",
          "b:latency_p99:50",
          "c:latency_p99:50"
        ])
      })
    )
  )

  it.effect("setAlert rejects an unknown metric with a suggestion", () =>
    withMonitor({}, (monitor) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(monitor.setAlert("api", "get", "latency_p95" as "latency_p99", 10))
        expect(error.path).toBe("performance.alerts.api.get.latency_p95")
        expect(error.message).toContain('did you mean "latency_p99"?')
      })
    )
  )

  it.effect("caps pairs: a new pair at a full table evicts idle ones, else goes to the overflow pair", () =>
    withMonitor({ maxOperations: 2 }, (monitor) =>
      Effect.gen(function* () {
        yield* burst(monitor, "a", 1, 1)
        yield* burst(monitor, "b", 1, 1)
        yield* burst(monitor, "c", 3, 1) // both active: overflow
        expect((yield* monitor.status("api", "c")).count).toBe(0)
        expect((yield* monitor.status("(overflow)", "(overflow)")).count).toBe(3)
        yield* TestClock.adjust("61 seconds") // a and b are idle now
        yield* burst(monitor, "c", 2, 1)
        expect((yield* monitor.status("api", "c")).count).toBe(2)
        // a flood of new names while the table is full costs no scan and grows nothing
        for (let i = 0; i < 1_000; i++) monitor.recordUnsafe("api", `id-${i}`, 1, false)
        expect((yield* monitor.status("api")).count).toBe(3) // c plus the one pair admitted next to it
      })
    )
  )

  it.effect("invalid options fail the layer with InvalidConfig", () =>
    Effect.gen(function* () {
      const build = (options: PerformanceMonitor.Options) => Effect.flip(Layer.build(PerformanceMonitor.layer(options)))
      expect((yield* build({ window: 0 })).path).toBe("performance.window")
      expect((yield* build({ slots: 0 })).path).toBe("performance.slots")
      expect((yield* build({ maxOperations: 1.5 })).path).toBe("performance.maxOperations")
      expect((yield* build({ baseline: { alpha: 0 } })).path).toBe("performance.baseline.alpha")
      expect((yield* build({ window: "10 millis", slots: 100 })).path).toBe("performance.slots")
      expect((yield* build({ window: "10 millis", slots: 100 })).message).toContain("shorter than 1 ms")
    })
  )

  it.effect("an unknown option, at the top or in baseline, fails with its path and the nearest option", () =>
    Effect.gen(function* () {
      const build = (options: unknown) => Effect.flip(Layer.build(PerformanceMonitor.layer(options as PerformanceMonitor.Options)))
      const top = yield* build({ windw: "1 minute" })
      expect(top).toMatchObject({ _tag: "InvalidConfig", path: "performance.windw" })
      expect(top.message).toContain('performance.windw: unknown option "windw"; did you mean "window"?')
      const nested = yield* build({ baseline: { sensitivty: 2 } })
      expect(nested).toMatchObject({ _tag: "InvalidConfig", path: "performance.baseline.sensitivty" })
      expect(nested.message).toContain('did you mean "sensitivity"?')
    })
  )

  it.effect("lists every violation, and reads the same through the layer and the configuration file", () =>
    Effect.gen(function* () {
      const input = { window: 0, slots: 1.5, maxOperations: 0, baseline: { alpha: 2, warmupp: 3 } }
      const fromLayer = yield* Effect.flip(Layer.build(PerformanceMonitor.layer(input as PerformanceMonitor.Options)))
      const fromConfig = yield* Effect.flip(Config.decode({ performance: input }))
      expect(fromConfig).toMatchObject({ _tag: "InvalidConfig", path: fromLayer.path, message: fromLayer.message })
      for (const path of ["window", "slots", "maxOperations", "baseline.alpha", "baseline.warmupp"]) {
        expect(fromLayer.message).toContain(`performance.${path}: `)
      }
    })
  )

  it("OptionsSchema states the defaults", () => {
    const decoded = Schema.decodeUnknownSync(PerformanceMonitor.OptionsSchema)({})
    expect({ ...decoded, window: Duration.toMillis(decoded.window) }).toEqual({
      window: 60_000,
      slots: 6,
      maxOperations: 1_000,
      minSamples: 20,
      baseline: { alpha: 0.1, sensitivity: 3, warmup: 10, latencyFloor: 0.1, errorRateFloor: 0.01 }
    })
  })
})
