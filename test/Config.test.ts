import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Schema } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TestClock } from "effect/testing"
import { CircuitBreaker, Config, Foundation, HealthAggregator, Protection, PerformanceMonitor, RateLimiter } from "../src/index.js"

const valid: Config.FoundationConfigInput = {
  circuitBreaker: { breakers: { payments: { failureThreshold: 5, resetTimeout: "30 seconds" } } },
  rateLimiter: { rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute", burst: 10 } } },
  pools: { db: { size: 4, maxOverflow: 2, checkoutTimeout: 500 } },
  memory: { checkInterval: "1 second", rejectAt: "critical" },
  protections: { checkout: { rateLimit: { rule: "api" }, circuitBreaker: "payments", timeout: 2000, memory: true } }
}

const bad: ReadonlyArray<readonly [string, unknown, string]> = [
  [
    "wrong type",
    { circuitBreaker: { breakers: { payments: { failureThreshold: "five" } } } },
    "circuitBreaker.breakers.payments.failureThreshold"
  ],
  [
    "negative threshold",
    { circuitBreaker: { breakers: { payments: { failureThreshold: -1 } } } },
    "circuitBreaker.breakers.payments.failureThreshold"
  ],
  [
    "rate above 1",
    { circuitBreaker: { breakers: { payments: { failureRateThreshold: 1.2 } } } },
    "circuitBreaker.breakers.payments.failureRateThreshold"
  ],
  [
    "unparseable duration",
    { circuitBreaker: { breakers: { payments: { resetTimeout: "soon" } } } },
    "circuitBreaker.breakers.payments.resetTimeout"
  ],
  ["zero duration", { circuitBreaker: { breakers: { payments: { resetTimeout: 0 } } } }, "circuitBreaker.breakers.payments.resetTimeout"],
  [
    "unknown algorithm",
    { rateLimiter: { rules: { api: { algorithm: "leaky-bucket", limit: 1, window: 1000 } } } },
    "rateLimiter.rules.api.algorithm"
  ],
  ["negative limit", { rateLimiter: { rules: { api: { algorithm: "gcra", limit: -1, window: 1000 } } } }, "rateLimiter.rules.api.limit"],
  ["missing window", { rateLimiter: { rules: { api: { algorithm: "gcra", limit: 10 } } } }, "rateLimiter.rules.api.window"],
  [
    "unknown rule option",
    { rateLimiter: { rules: { api: { algorithm: "gcra", limit: 1, window: 1000, brust: 2 } } } },
    "rateLimiter.rules.api.brust"
  ],
  [
    "burst on a window algorithm",
    { rateLimiter: { rules: { api: { algorithm: "fixed-window", limit: 1, window: 1000, burst: 2 } } } },
    "rateLimiter.rules.api.burst"
  ],
  [
    "maxDelay without onExceeded delay",
    { rateLimiter: { rules: { api: { algorithm: "gcra", limit: 1, window: 1000, maxDelay: 10 } } } },
    "rateLimiter.rules.api.maxDelay"
  ],
  ["unknown rateLimiter option", { rateLimiter: { rule: {} } }, "rateLimiter.rule"],
  ["the former rateLimits section", { rateLimits: { api: { algorithm: "gcra", limit: 1, window: 1000 } } }, "rateLimits"],
  ["negative pool size", { pools: { db: { size: -2 } } }, "pools.db.size"],
  ["fractional overflow", { pools: { db: { size: 2, maxOverflow: 1.5 } } }, "pools.db.maxOverflow"],
  ["unknown pool option", { pools: { db: { size: 2, maxOverflw: 1 } } }, "pools.db.maxOverflw"],
  ["pool minIdle above size", { pools: { db: { size: 2, minIdle: 3 } } }, "pools.db.minIdle"],
  ["pool lifetimeJitter of 1", { pools: { db: { size: 2, lifetimeJitter: 1 } } }, "pools.db.lifetimeJitter"],
  ["unknown pool strategy", { pools: { db: { size: 2, strategy: "random" } } }, "pools.db.strategy"],
  ["profile naming a missing breaker", { protections: { p: { circuitBreaker: "nope" } } }, "protections.p.circuitBreaker"],
  ["profile naming a missing rule", { protections: { p: { rateLimit: { rule: "nope" } } } }, "protections.p.rateLimit.rule"],
  ["profile naming a missing pool", { protections: { p: { pool: "nope" } } }, "protections.p.pool"],
  ["memory guard without memory section", { protections: { p: { memory: true } } }, "protections.p.memory"],
  ["health port out of range", { health: { http: { port: 70000 } } }, "health.http.port"],
  [
    "profile naming an inherited property as breaker",
    { circuitBreaker: { breakers: {} }, protections: { p: { circuitBreaker: "toString" } } },
    "protections.p.circuitBreaker"
  ],
  [
    "profile naming an inherited property as rule",
    { protections: { p: { rateLimit: { rule: "constructor" } } } },
    "protections.p.rateLimit.rule"
  ],
  ["timeout longer than a timer can wait", { protections: { p: { timeout: "30 days" } } }, "protections.p.timeout"],
  [
    "callTimeout longer than a timer can wait",
    { circuitBreaker: { breakers: { db: { callTimeout: 2 ** 31 } } } },
    "circuitBreaker.breakers.db.callTimeout"
  ],
  [
    "pool checkoutTimeout longer than a timer can wait",
    { pools: { db: { size: 1, checkoutTimeout: "25 days" } } },
    "pools.db.checkoutTimeout"
  ],
  [
    "health requestTimeout longer than a timer can wait",
    { health: { http: { port: 0, requestTimeout: "90 days" } } },
    "health.http.requestTimeout"
  ],
  [
    "maxWaitInHalfOpen shorter than callTimeout",
    { circuitBreaker: { breakers: { db: { callTimeout: 2000, maxWaitInHalfOpen: 1000 } } } },
    "circuitBreaker.breakers.db.maxWaitInHalfOpen"
  ],
  [
    "maxWaitInHalfOpen longer than a timer can wait",
    { circuitBreaker: { breakers: { db: { maxWaitInHalfOpen: "30 days" } } } },
    "circuitBreaker.breakers.db.maxWaitInHalfOpen"
  ],
  [
    "pool acquireTimeout longer than a timer can wait",
    { pools: { db: { size: 1, acquireTimeout: "30 days" } } },
    "pools.db.acquireTimeout"
  ],
  ["unknown memory option", { memory: { hysterisis: 0.1 } }, "memory.hysterisis"],
  ["memory thresholds out of order", { memory: { thresholds: { medium: 0.9, high: 0.8 } } }, "memory.thresholds"],
  ["unknown performance option", { performance: { windw: "1 minute" } }, "performance.windw"],
  ["performance slots shorter than 1 ms", { performance: { window: 10, slots: 100 } }, "performance.slots"],
  ["performance baseline alpha out of range", { performance: { baseline: { alpha: 2 } } }, "performance.baseline.alpha"],
  ["unknown health option", { health: { cachettl: 1000 } }, "health.cachettl"],
  ["unknown health.http option", { health: { http: { port: 0, detail: true } } }, "health.http.detail"],
  ["health path ending in a slash", { health: { http: { port: 0, path: "/health/" } } }, "health.http.path"],
  ["health cacheTtl negative", { health: { cacheTtl: -1 } }, "health.cacheTtl"],
  ["not an object", 42, ""]
]

describe("Config", () => {
  it.effect("accepts the longest timeout a timer can hold, and a rate window longer than that", () =>
    Effect.gen(function* () {
      const config = yield* Config.decode({
        rateLimiter: { rules: { daily: { algorithm: "fixed-window", limit: 10, window: "30 days" } } },
        protections: { p: { rateLimit: { rule: "daily" }, timeout: Config.maxTimerMillis } }
      })
      expect(config.protections?.p?.timeout).toBeDefined()
    })
  )

  it.effect("lists at most 20 violations in one message and counts the rest", () =>
    Effect.gen(function* () {
      const breakers = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`b${i}`, { failureThreshold: -1 }]))
      const error = yield* Effect.flip(Config.decode({ circuitBreaker: { breakers } }))
      expect(error.path).toBe("circuitBreaker.breakers.b0.failureThreshold")
      expect(error.message).toContain("... and 9980 more violations")
      expect(error.message.length).toBeLessThan(5_000)
    })
  )

  it.effect("the health section takes the layers' defaults, and cacheTtl 0 (no cache)", () =>
    Effect.gen(function* () {
      const config = yield* Config.decode({ health: { cacheTtl: 0, http: { port: 0 } } })
      expect(config.health?.http).toMatchObject({ port: 0, path: "/health", details: false })
      expect(config.health?.cacheTtl).toBeDefined()
      expect(config.health?.defaultTimeout).toBeDefined()
    })
  )

  it.effect("decodes a valid configuration, durations included", () =>
    Effect.gen(function* () {
      const config = yield* Config.decode(valid)
      expect(config.rateLimiter?.rules.api?.limit).toBe(100)
      expect(config.protections?.checkout?.timeout).toBeDefined()
    })
  )

  it.effect(
    "the circuitBreaker section is CircuitBreaker.OptionsSchema: unknown keys fail with a suggestion, maxBreakers 0 is accepted",
    () =>
      Effect.gen(function* () {
        const typo = yield* Effect.flip(Config.decode({ circuitBreaker: { breakerz: { db: {} } } }))
        expect(typo).toMatchObject({ _tag: "InvalidConfig", path: "circuitBreaker.breakerz" })
        expect(typo.message).toBe('circuitBreaker.breakerz: unknown option "breakerz"; did you mean "breakers"?')
        const nested = yield* Effect.flip(Config.decode({ circuitBreaker: { defaults: { resetTimout: "1 second" } } }))
        expect(nested.message).toContain('circuitBreaker.defaults.resetTimout: unknown option "resetTimout"; did you mean "resetTimeout"?')
        const config = yield* Config.decode({ circuitBreaker: { breakers: { db: {} }, maxBreakers: 0 } })
        expect(config.circuitBreaker?.maxBreakers).toBe(0)
      })
  )

  it.effect("the former top-level breakerDefaults, maxBreakers and breakers keys are unknown options", () =>
    Effect.gen(function* () {
      for (const key of ["breakerDefaults", "maxBreakers", "breakers"]) {
        const error = yield* Effect.flip(Config.decode({ [key]: {} }))
        expect(error).toMatchObject({ _tag: "InvalidConfig", path: key })
        expect(error.message).toContain('"circuitBreaker"')
      }
    })
  )

  it.effect.each(bad)("%s fails InvalidConfig at its path", ([, input, path]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Config.decode(input))
      expect(error._tag).toBe("InvalidConfig")
      expect(error.path).toBe(path)
      expect(error.message.length).toBeGreaterThan(5)
      if (path !== "") expect(error.message).toContain(path)
    })
  )

  it.effect.prop(
    "generated configurations either decode or fail InvalidConfig with a path; never throw",
    [Schema.Record(Schema.String, Schema.Unknown), Schema.Unknown],
    ([breakers, anything]) =>
      Effect.gen(function* () {
        for (const input of [{ circuitBreaker: { breakers } }, { rateLimiter: { rules: breakers } }, { protections: breakers }, anything]) {
          const exit = yield* Effect.exit(Config.decode(input))
          if (exit._tag === "Failure") {
            const error = exit.cause.reasons[0]
            expect(error?._tag).toBe("Fail")
            if (error?._tag === "Fail") expect(error.error._tag).toBe("InvalidConfig")
          }
        }
      }),
    { arbitrary: { runs: 300 } }
  )
})

describe("Foundation", () => {
  it.effect("builds every service from one configuration; profiles run against them", () =>
    Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      expect(yield* infrastructure.execute("checkout", Effect.succeed("ok"), { key: "u1" })).toBe("ok")
      expect(yield* CircuitBreaker.CircuitBreaker.use((s) => s.names)).toEqual(["payments"])
      expect((yield* RateLimiter.RateLimiter.use((s) => s.status("api", "u1"))).remaining).toBeLessThan(110)
    }).pipe(Effect.provide(Foundation.layer(valid)))
  )

  it.effect("the performance section configures the performance monitor", () =>
    Effect.gen(function* () {
      const monitor = yield* PerformanceMonitor.PerformanceMonitor
      yield* monitor.record("db", "query", 5, "success")
      yield* TestClock.adjust("11 seconds") // past the configured 10-second window
      expect((yield* monitor.status("db", "query")).count).toBe(0)
    }).pipe(Effect.provide(Foundation.layer({ performance: { window: "10 seconds", slots: 2 } })))
  )

  it.live("the health section configures the aggregator and, with http, serves the endpoint", () =>
    Effect.gen(function* () {
      const status = yield* HealthAggregator.systemHealth.pipe(Effect.map((report) => report.status))
      expect(status).toBe("healthy")
    }).pipe(
      Effect.provide(
        Foundation.layer({
          health: { cacheTtl: 0, defaultTimeout: "2 seconds", http: { port: 0, host: "127.0.0.1" } }
        })
      ),
      Effect.scoped
    )
  )

  it.effect("circuitBreaker.maxBreakers 0: a name not configured fails ProtectionNotFound naming the nearest", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.succeed(1).pipe(CircuitBreaker.protect("paymnts")))
      expect(error).toMatchObject({ _tag: "ProtectionNotFound", protection: "paymnts" })
      expect(error.message).toContain('did you mean "payments"?')
      expect(yield* Effect.succeed(1).pipe(CircuitBreaker.protect("payments"))).toBe(1)
    }).pipe(Effect.provide(Foundation.layer({ circuitBreaker: { breakers: { payments: {} }, maxBreakers: 0 } })))
  )

  it.effect("an invalid configuration fails the layer with InvalidConfig", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(Foundation.layer({ protections: { p: { circuitBreaker: "x" } } })))
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "protections.p.circuitBreaker" })
    })
  )

  it.effect("layerConfig reads a JSON file named by FOUNDATION_CONFIG_FILE", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "foundation-"))
      const file = join(dir, "config.json")
      writeFileSync(file, JSON.stringify(valid))
      const names = yield* CircuitBreaker.CircuitBreaker.use((s) => s.names).pipe(
        Effect.provide(Foundation.layerConfig()),
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { FOUNDATION_CONFIG_FILE: file } })))
      )
      expect(names).toEqual(["payments"])
    })
  )

  it.effect("layerConfig reads inline JSON from FOUNDATION_CONFIG and reports bad JSON by name", () =>
    Effect.gen(function* () {
      const provider = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromEnv({ env }))
      const names = yield* CircuitBreaker.CircuitBreaker.use((s) => s.names).pipe(
        Effect.provide(Foundation.layerConfig()),
        Effect.provide(provider({ FOUNDATION_CONFIG: JSON.stringify({ circuitBreaker: { breakers: { a: {} } } }) }))
      )
      expect(names).toEqual(["a"])
      const error = yield* Effect.flip(
        Layer.build(Foundation.layerConfig()).pipe(Effect.provide(provider({ FOUNDATION_CONFIG: "{not json" })))
      )
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "FOUNDATION_CONFIG" })
    })
  )
})
