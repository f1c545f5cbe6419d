/**
 * The facade's telemetry without an exporter: a span per call reaches any installed tracer;
 * with effect's native tracer (no backend, nothing could see a span) none is made, and the
 * duration histogram is recorded either way, timed on the fiber's Clock.
 * (test/integration/telemetry.test.ts checks the same through OpenTelemetry.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Metric, References, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker, Protection, RateLimiter, Telemetry } from "../src/index.js"

const Protections = Layer.mergeAll(
  CircuitBreaker.layer({ breakers: { db: { failureThreshold: 5 } } }),
  RateLimiter.layer({ rules: { api: { algorithm: "fixed-window", limit: 1, window: "1 minute" } } })
)

/** a tracer recording the spans it is asked for (on top of the native one) */
const recordingTracer = () => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = Tracer.nativeTracer.span(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const durations = Effect.map(Metric.snapshot, (all) =>
  all
    .filter((m) => m.id === Telemetry.metrics.protectionDuration)
    .map((m) => {
      const state = m.state as { readonly count: number; readonly sum: number }
      return { profile: m.attributes?.profile, outcome: m.attributes?.outcome, count: state.count, sum: state.sum }
    })
)

const policy = { rateLimit: { rule: "api", key: "k" }, circuitBreaker: "db", profile: "orders" } as const

describe("Protection telemetry", () => {
  it.effect("an installed tracer gets one ended span per call, with error.type on a rejection", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      yield* Protection.protect(Effect.succeed(1), policy).pipe(Effect.withTracer(tracer))
      yield* Effect.exit(Protection.protect(Effect.succeed(1), policy).pipe(Effect.withTracer(tracer)))
      const ours = spans.filter((s) => s.name === Telemetry.spans.protect)
      expect(ours.length).toBe(2)
      expect(ours.map((s) => s.status._tag)).toEqual(["Ended", "Ended"])
      expect(Object.fromEntries(ours[0]!.attributes)).toEqual({
        "foundation.profile": "orders",
        "foundation.stages": "rate_limit,circuit_breaker"
      })
      expect(ours[1]!.attributes.get("error.type")).toBe("rate_limited")
      expect(ours[1]!.attributes.get("foundation.outcome")).toBe("rejected")
    }).pipe(Effect.provide(Protections), Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  it.effect("no tracer installed, or tracing disabled: no span, and the histogram still records each outcome", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      // the native tracer: nothing to record into, the histogram alone
      const slow = Effect.sleep("5 millis").pipe(Protection.protect(policy))
      const fiber = yield* Effect.forkChild(slow)
      yield* TestClock.adjust("5 millis")
      yield* Fiber.await(fiber)
      yield* Effect.exit(Protection.protect(Effect.succeed(1), policy)) // rate limited
      // a tracer installed but tracing disabled
      yield* Effect.exit(
        Protection.protect(Effect.fail("boom"), { circuitBreaker: "db", profile: "orders" }).pipe(
          Effect.withTracer(tracer),
          Effect.provideService(References.TracerEnabled, false)
        )
      )
      expect(spans.filter((s) => s.name === Telemetry.spans.protect)).toEqual([])
      const byOutcome = Object.fromEntries((yield* durations).map((d) => [`${d.profile}/${d.outcome}`, d]))
      expect(byOutcome["orders/success"]).toMatchObject({ count: 1, sum: 5 })
      expect(byOutcome["orders/rejected"]).toMatchObject({ count: 1, sum: 0 })
      expect(byOutcome["orders/failure"]).toMatchObject({ count: 1 })
    }).pipe(Effect.provide(Protections), Effect.provideService(Metric.MetricRegistry, new Map()))
  )
})
