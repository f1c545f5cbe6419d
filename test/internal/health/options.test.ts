import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { parseAggregatorOptions, parseCheckOptions, parseHttpOptions } from "../../../src/internal/health/options.js"

describe("health options", () => {
  it.effect("the aggregator's defaults, in milliseconds", () =>
    Effect.gen(function* () {
      expect(yield* parseAggregatorOptions(undefined)).toEqual({ defaultTimeoutMs: 1_000, cacheTtlMs: 1_000 })
      expect(yield* parseAggregatorOptions({ defaultTimeout: Duration.seconds(2), cacheTtl: "0 millis" })).toEqual({
        defaultTimeoutMs: 2_000,
        cacheTtlMs: 0
      })
    })
  )

  it.effect("cacheTtl rejects NaN, negative, infinite and over-long durations at health.cacheTtl", () =>
    Effect.gen(function* () {
      for (const cacheTtl of [Number.NaN, -1, Number.POSITIVE_INFINITY, "30 days", Duration.infinity]) {
        expect(yield* Effect.flip(parseAggregatorOptions({ cacheTtl }))).toMatchObject({ path: "health.cacheTtl" })
      }
    })
  )

  it.effect("a check without a timeout takes the default; without an interval it runs on demand", () =>
    Effect.gen(function* () {
      expect(yield* parseCheckOptions("db", undefined, 750)).toEqual({ timeoutMs: 750, intervalMs: undefined, critical: false })
      expect(yield* parseCheckOptions("db", { interval: "10 seconds", timeout: 200, critical: true }, 750)).toEqual({
        timeoutMs: 200,
        intervalMs: 10_000,
        critical: true
      })
    })
  )

  it.effect('the endpoint: path "/" serves the probes at /live and /ready; requestTimeout in milliseconds', () =>
    Effect.gen(function* () {
      expect(yield* parseHttpOptions({ port: 0, path: "/" })).toEqual({
        port: 0,
        host: undefined,
        basePath: "",
        details: false,
        requestTimeoutMillis: 5_000
      })
      expect((yield* parseHttpOptions({ port: 80, path: "/status", requestTimeout: "1 second" })).requestTimeoutMillis).toBe(1_000)
    })
  )

  it.effect("the endpoint needs a port", () =>
    Effect.gen(function* () {
      expect(yield* Effect.flip(parseHttpOptions({}))).toMatchObject({ path: "health.http.port" })
    })
  )
})
