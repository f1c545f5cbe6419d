/**
 * PerformanceMonitor: `measure` overhead per call over the unmeasured effect (target <= 150
 * ns), `recordUnsafe` allocation per call (target: none), and the histogram's record cost
 * against @datadog/sketches-js (DDSketch) and hdr-histogram-js, which decided the hand-written
 * histogram (see docs/performance-monitor.md).
 */
import { DDSketch } from "@datadog/sketches-js"
import * as hdr from "hdr-histogram-js"
import { Effect, Metric } from "effect"
import type { Case, Suite } from "../harness.js"
import * as Histogram from "../../src/internal/performance/histogram.js"
import * as PerformanceMonitor from "../../src/PerformanceMonitor.js"
import { buildLayer, repeatSum } from "../effectSupport.js"

let closeLayer: (() => Promise<void>) | undefined
let counter = 0
const work = Effect.sync(() => ++counter)

const withMonitor =
  (
    make: (
      monitor: PerformanceMonitor.PerformanceMonitor["Service"]
    ) => Effect.Effect<number, unknown, PerformanceMonitor.PerformanceMonitor>
  ) =>
  async (): Promise<(n: number) => Promise<void>> => {
    const { context, close } = await buildLayer(PerformanceMonitor.layer())
    closeLayer = close
    const monitor = Effect.runSync(Effect.provideContext(PerformanceMonitor.PerformanceMonitor, context))
    const run = repeatSum(make(monitor))
    return async (n) => {
      await Effect.runPromise(Effect.provideContext(run(n), context))
    }
  }

const latency = Metric.timer("bench.latency")

const measureCases: ReadonlyArray<Case> = [
  { library: "unmeasured", style: "effect-gen", baseline: true, setup: withMonitor(() => work), teardown: () => closeLayer!() },
  {
    library: "effect-foundation (PerformanceMonitor.measure)",
    style: "effect-gen",
    setup: withMonitor(() => work.pipe(PerformanceMonitor.measure("api", "get"))),
    teardown: () => closeLayer!()
  },
  {
    library: "effect-foundation (service.measure)",
    style: "effect-gen",
    setup: withMonitor((monitor) => monitor.measure("api", "get")(work)),
    teardown: () => closeLayer!()
  },
  {
    // effect's own timer metric: a histogram update per call, no window, no percentiles
    library: "effect Metric.timer + trackDuration",
    style: "effect-gen",
    setup: withMonitor(() => work.pipe(Effect.trackDuration(latency))),
    teardown: () => closeLayer!()
  }
]

/** latencies in ms spread over 1 µs .. 10 s, precomputed so the loop measures only the record */
const values = Array.from({ length: 4096 }, (_, i) => 10 ** (-3 + (((i * 2654435761) % 4096) / 4096) * 7))

const sync = (record: (value: number) => void) => async (): Promise<(n: number) => Promise<void>> => async (n) => {
  for (let i = 0; i < n; i++) record(values[i & 4095]!)
}

let sink = 0
const counts = Histogram.make()
const sketch = new DDSketch({ relativeAccuracy: 0.016 })
const hdrHistogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 2 ** 31, numberOfSignificantValueDigits: 2 })

const histogramCases: ReadonlyArray<Case> = [
  {
    library: "no histogram",
    style: "custom",
    baseline: true,
    setup: sync((value) => {
      sink += value
    })
  },
  { library: "effect-foundation (log-linear histogram)", style: "custom", setup: sync((value) => Histogram.record(counts, value)) },
  { library: "@datadog/sketches-js (DDSketch, 1.6%)", style: "custom", setup: sync((value) => sketch.accept(value)) },
  {
    library: "hdr-histogram-js (2 digits, µs)",
    style: "custom",
    setup: sync((value) => hdrHistogram.recordValue(Math.round(value * 1000)))
  }
]

/** bytes allocated per recordUnsafe call (needs --expose-gc) */
const allocation = async (quick: boolean): Promise<number> => {
  const { context, close } = await buildLayer(PerformanceMonitor.layer())
  const monitor = Effect.runSync(Effect.provideContext(PerformanceMonitor.PerformanceMonitor, context))
  const gc = (globalThis as { gc?: () => void }).gc!
  // The latencies are read from an array of already-boxed numbers (a generic array, made so by
  // its one string): reading a double array and passing the value to a call would allocate a
  // box at the call site, which is the caller's cost, not recordUnsafe's.
  const boxed = [...values, "not a latency"] as Array<number>
  const n = quick ? 200_000 : 1_000_000
  // warm up until the optimizing compiler has the loop: interpreted code boxes numbers
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 100_000; i++) monitor.recordUnsafe("api", "get", boxed[i & 4095]!, (i & 63) === 0)
  }
  gc()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < n; i++) monitor.recordUnsafe("api", "get", boxed[i & 4095]!, (i & 63) === 0)
  const after = process.memoryUsage().heapUsed
  await close()
  return Math.max(0, (after - before) / n)
}

const suite: Suite = {
  name: "performance-monitor",
  // a large young generation: no scavenge during the allocation count, so heapUsed deltas are exact
  nodeFlags: ["--expose-gc", "--max-semi-space-size=64"],
  scenarios: [
    { name: "measure, per call", operations: { quick: 200_000, full: 2_000_000 }, cases: measureCases },
    { name: "histogram record", operations: { quick: 1_000_000, full: 10_000_000 }, cases: histogramCases },
    {
      name: "recordUnsafe allocation",
      unit: "bytes/op",
      cases: [{ library: "effect-foundation (recordUnsafe)", style: "custom", measure: allocation }]
    }
  ],
  targets: [
    {
      scenario: "measure, per call",
      description: "measure overhead",
      ours: "effect-foundation (PerformanceMonitor.measure)",
      absoluteMax: 150
    },
    {
      scenario: "measure, per call",
      description: "measure vs effect's Metric.timer",
      ours: "effect-foundation (PerformanceMonitor.measure)",
      peer: "effect Metric.timer + trackDuration",
      max: 1
    },
    {
      scenario: "histogram record",
      description: "histogram record vs DDSketch",
      ours: "effect-foundation (log-linear histogram)",
      peer: "@datadog/sketches-js (DDSketch, 1.6%)",
      max: 1
    },
    {
      scenario: "histogram record",
      description: "histogram record vs hdr-histogram-js",
      ours: "effect-foundation (log-linear histogram)",
      peer: "hdr-histogram-js (2 digits, µs)",
      max: 1
    },
    {
      scenario: "recordUnsafe allocation",
      description: "recordUnsafe allocation",
      ours: "effect-foundation (recordUnsafe)",
      absoluteMax: 1
    }
  ]
}
export default suite
