/**
 * Every documented span and metric reaches OpenTelemetry's in-memory exporters through
 * @effect/opentelemetry, with the documented names and attributes.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Layer, Metric } from "effect"
import { CircuitBreaker, Protection, Pool, RateLimiter, Telemetry } from "../../src/index.js"

class Db extends Context.Service<Db, Pool.Pool<number>>()("test/TelemetryDb") {}

describe("telemetry through OpenTelemetry", () => {
  it.live("spans and every metric of breaker, limiter, pool and facade arrive with their attributes", () =>
    Effect.gen(function* () {
      const spanExporter = new InMemorySpanExporter()
      const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
      const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 })
      const Otel = NodeSdk.layer(() => ({
        resource: { serviceName: "effect-foundation-test" },
        spanProcessor: new SimpleSpanProcessor(spanExporter),
        metricReader: reader
      }))
      const Protections = Layer.mergeAll(
        CircuitBreaker.layer({ breakers: { db: { failureThreshold: 2, resetTimeout: "1 minute" } } }),
        RateLimiter.layer({ rules: { api: { algorithm: "fixed-window", limit: 3, window: "1 minute" } } }),
        Pool.layer(Db, { acquire: Effect.succeed(1), size: 1 })
      )
      yield* Effect.gen(function* () {
        const policy = { rateLimit: { rule: "api", key: "k" }, circuitBreaker: "db", profile: "orders" } as const
        yield* Protection.protectWith(Db, policy, () => Effect.succeed("ok"))
        yield* Effect.exit(Protection.protect(Effect.fail("boom"), policy))
        yield* Effect.exit(Protection.protect(Effect.fail("boom"), policy)) // opens the breaker
        yield* Effect.exit(Protection.protect(Effect.succeed(1), policy)) // limit 3: rate limited
        yield* Effect.exit(Protection.protect(Effect.succeed(1), { circuitBreaker: "db", profile: "orders" })) // open
        yield* Effect.promise(() => reader.forceFlush())

        const spans = spanExporter.getFinishedSpans().filter((s) => s.name === Telemetry.spans.protect)
        expect(spans.length).toBe(5)
        expect(spans[0]!.attributes).toMatchObject({ "foundation.profile": "orders", "foundation.stages": "rate_limit,circuit_breaker" })
        expect(spans.map((s) => s.attributes["error.type"])).toEqual([
          undefined,
          undefined,
          undefined,
          "rate_limited",
          "circuit_breaker_open"
        ])

        const metrics = metricExporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
        const points = (name: string) => metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? []
        const point = (name: string, attributes: Record<string, string>) =>
          points(name).find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
        const m = Telemetry.metrics
        expect(point(m.circuitBreakerCalls, { breaker: "db", outcome: "success" })?.value).toBe(1)
        expect(point(m.circuitBreakerCalls, { breaker: "db", outcome: "failure" })?.value).toBe(2)
        expect(point(m.circuitBreakerCalls, { breaker: "db", outcome: "rejected" })?.value).toBe(1)
        expect(point(m.circuitBreakerState, { breaker: "db" })?.value).toBe(2)
        expect(point(m.circuitBreakerTransitions, { breaker: "db", from: "Closed", to: "Open" })?.value).toBe(1)
        expect(point(m.rateLimiterRequests, { rule: "api", decision: "allowed" })?.value).toBe(3)
        expect(point(m.rateLimiterRequests, { rule: "api", decision: "denied" })?.value).toBe(1)
        expect(point(m.poolInUse, { pool: "test/TelemetryDb" })).toBeDefined()
        expect(point(m.poolWaiting, { pool: "test/TelemetryDb" })).toBeDefined()
        expect(points(m.poolCheckoutDuration).length).toBeGreaterThan(0)
        expect(point(m.poolTimeouts, { pool: "test/TelemetryDb" })?.value).toBe(0)
        const durations = points(m.protectionDuration)
        const outcomes = durations.map((p) => `${p.attributes.profile}/${p.attributes.outcome}`).sort()
        expect(outcomes).toEqual(["orders/failure", "orders/rejected", "orders/success"])
      }).pipe(Effect.provide(Layer.merge(Otel, Protections)))
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
  )
})
