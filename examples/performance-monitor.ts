/**
 * PerformanceMonitor: measuring two operations of a fake "orders" service and reading their
 * p50/p99; then a replayed latency trace of "checkout/pay", where a learned baseline catches a
 * tenfold slowdown and clears when it passes (about 5 seconds).
 *
 * The window is short (2 s in 10 slots of 200 ms) so the scene fits in a few seconds; a real
 * service keeps the defaults (60 s in 6 slots).
 *
 * Run: npx tsx examples/performance-monitor.ts
 */
import { Duration, Effect, Fiber, Random, Stream } from "effect"
import { PerformanceMonitor } from "effect-foundation"

/** a fake dependency call: `base` ms plus jitter, failing `failureRate` of the time */
const call = (base: number, failureRate: number) =>
  Effect.gen(function* () {
    const jitter = yield* Random.nextBetween(0, base)
    yield* Effect.sleep(base + jitter)
    if ((yield* Random.next) < failureRate) return yield* Effect.fail("upstream error")
  })

const getOrder = call(4, 0).pipe(PerformanceMonitor.measure("orders", "get"))
const listOrders = call(12, 0.05).pipe(PerformanceMonitor.measure("orders", "list"))

/** `count` calls of each operation, 8 at a time */
const traffic = (count: number) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) => Effect.ignore(i % 3 === 0 ? listOrders : getOrder),
    { concurrency: 8, discard: true }
  )

/** milliseconds with one decimal, right-aligned */
const ms = (value: Duration.Duration, width = 5) => Duration.toMillis(value).toFixed(1).padStart(width)

/** an alert's value and what it was compared with: latencies are Durations, error rates numbers */
const figures = (alert: PerformanceMonitor.Alert) =>
  alert.metric === "latency_p99"
    ? `${alert.value === undefined ? "-" : ms(alert.value, 0)} ms vs ${ms(alert.expected, 0)} ms`
    : `${((alert.value ?? 0) * 100).toFixed(1)}% vs ${(alert.expected * 100).toFixed(1)}%`

const line = (name: string, s: PerformanceMonitor.Snapshot) =>
  `  ${name.padEnd(12)} count ${String(s.count).padStart(4)}  errors ${(s.errorRate * 100).toFixed(1).padStart(4)}%  ` +
  `${s.throughput.toFixed(0).padStart(4)}/s  p50 ${ms(s.latency.p50)} ms  p99 ${ms(s.latency.p99)} ms  max ${ms(s.latency.max)} ms`

/** 20 recorded calls of checkout/pay around `p99` ms (a replayed latency trace: deterministic) */
const replay = (monitor: PerformanceMonitor.PerformanceMonitor["Service"], p99: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < 20; i++) monitor.recordUnsafe("checkout", "pay", (p99 * (50 + ((i * 37) % 50))) / 100, false)
    yield* Effect.sleep("50 millis")
  })

const program = Effect.gen(function* () {
  const monitor = yield* PerformanceMonitor.PerformanceMonitor
  const alerts = yield* monitor.alerts.pipe(
    Stream.runForEach((alert) =>
      Effect.sync(() =>
        console.log(
          alert._tag === "AlertFired"
            ? `  ALERT ${alert.service}/${alert.operation} ${alert.metric} (${alert.kind}): ${figures(alert)} ` +
                `expected, ${alert.deviations?.toFixed(1) ?? "-"} deviations away`
            : `  cleared ${alert.service}/${alert.operation} ${alert.metric} (${alert.kind}) after ${alert.evaluatedAt - alert.firedAt} ms`
        )
      )
    ),
    Effect.forkChild({ startImmediately: true })
  )

  console.log("1. measured calls (real latencies on this machine):")
  yield* traffic(120)
  console.log(line("orders/get", yield* monitor.status("orders", "get")))
  console.log(line("orders/list", yield* monitor.status("orders", "list")))

  console.log("2. a replayed trace of checkout/pay: the baseline learns, then a tenfold slowdown:")
  const pay = monitor.status("checkout", "pay")
  const active = Effect.map(monitor.activeAlerts, (all) => all.filter((a) => a.service === "checkout").length)
  for (let round = 0; round < 100 && ((yield* pay).baseline?.latencyP99.samples ?? 0) < 8; round++) yield* replay(monitor, 8)
  const learned = (yield* pay).baseline!.latencyP99
  console.log(`  learned p99 baseline: ${ms(learned.mean, 0)} ms ± ${ms(learned.deviation, 0)} (${learned.samples} windows)`)
  for (let round = 0; round < 40 && (yield* active) === 0; round++) yield* replay(monitor, 80)
  console.log(line("checkout/pay", yield* pay))
  console.log("   ...and it recovers; once the slow calls leave the window the alert clears:")
  for (let round = 0; round < 100 && (yield* active) > 0; round++) yield* replay(monitor, 8)
  console.log(line("checkout/pay", yield* pay))
  yield* Fiber.interrupt(alerts)
}).pipe(Effect.provide(PerformanceMonitor.layer({ window: "2 seconds", slots: 10, minSamples: 10, baseline: { warmup: 5 } })))

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
