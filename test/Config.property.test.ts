/**
 * The configuration's contract under generated input: every valid configuration decodes; every
 * invalid one (wrong types, out-of-range numbers, NaN and Infinity, unknown keys at every depth,
 * unknown algorithms, profiles naming missing components) fails `InvalidConfig` with a path —
 * never a throw, never a hang; and one mistake reads the same through the module's layer as
 * through the configuration file.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as FastCheck from "fast-check"
import { CircuitBreaker, Config, RateLimiter } from "../src/index.js"

const name = FastCheck.constantFrom("db", "payments", "search", "cache")
const duration = FastCheck.oneof(
  FastCheck.constantFrom("250 millis", "1 second", "30 seconds", "1 minute"),
  FastCheck.integer({ min: 1, max: 120_000 })
)

const breakerPolicy = FastCheck.record(
  {
    failureThreshold: FastCheck.integer({ min: 1, max: 20 }),
    resetTimeout: duration,
    halfOpenMaxCalls: FastCheck.integer({ min: 1, max: 5 }),
    failureRateThreshold: FastCheck.double({ min: 0.01, max: 1, noNaN: true }),
    minimumCalls: FastCheck.integer({ min: 1, max: 100 })
  },
  { requiredKeys: [] }
)

const rule = FastCheck.record({
  algorithm: FastCheck.constantFrom("token-bucket", "sliding-window", "fixed-window", "gcra"),
  limit: FastCheck.integer({ min: 1, max: 10_000 }),
  window: duration
})

const pool = FastCheck.record(
  { size: FastCheck.integer({ min: 1, max: 50 }), maxOverflow: FastCheck.integer({ min: 0, max: 10 }) },
  { requiredKeys: ["size"] }
)

/** A valid configuration: sections drawn independently, profiles naming only what exists. */
const validConfig = FastCheck.record({
  breakers: FastCheck.dictionary(name, breakerPolicy, { maxKeys: 3 }),
  rules: FastCheck.dictionary(name, rule, { maxKeys: 3 }),
  pools: FastCheck.dictionary(name, pool, { maxKeys: 2 }),
  memory: FastCheck.option(FastCheck.record({ checkInterval: duration, rejectAt: FastCheck.constantFrom("medium", "high", "critical") }), {
    nil: undefined
  }),
  profileTimeout: FastCheck.option(duration, { nil: undefined })
}).map(({ breakers, memory, pools, profileTimeout, rules }) => {
  const profile: Record<string, unknown> = {}
  const breaker = Object.keys(breakers)[0]
  const ruleName = Object.keys(rules)[0]
  const poolName = Object.keys(pools)[0]
  if (breaker !== undefined) profile.circuitBreaker = breaker
  if (ruleName !== undefined) profile.rateLimit = { rule: ruleName }
  if (poolName !== undefined) profile.pool = poolName
  if (profileTimeout !== undefined) profile.timeout = profileTimeout
  if (memory !== undefined) profile.memory = true
  return {
    circuitBreaker: { breakers },
    rateLimiter: { rules },
    pools,
    ...(memory === undefined ? {} : { memory }),
    protections: { checkout: profile }
  } as Record<string, any>
})

/** A mistake and the path it must be reported at. */
type Mistake = readonly [apply: (config: Record<string, any>) => void, path: string]

const bad = FastCheck.constantFrom<unknown>("five", -1, 0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, null, [], {})

const mistake: FastCheck.Arbitrary<Mistake> = FastCheck.oneof(
  bad.map(
    (value): Mistake => [(c) => (c.circuitBreaker.breakers.x = { failureThreshold: value }), "circuitBreaker.breakers.x.failureThreshold"]
  ),
  // a limit of 0 is valid: it denies every call
  bad
    .filter((value) => value !== 0)
    .map(
      (value): Mistake => [(c) => (c.rateLimiter.rules.x = { algorithm: "gcra", limit: value, window: 1000 }), "rateLimiter.rules.x.limit"]
    ),
  bad.map((value): Mistake => [(c) => (c.pools.x = { size: value }), "pools.x.size"]),
  FastCheck.constantFrom("leaky-bucket", "token_bucket", "", "GCRA").map(
    (algorithm): Mistake => [(c) => (c.rateLimiter.rules.x = { algorithm, limit: 1, window: 1000 }), "rateLimiter.rules.x.algorithm"]
  ),
  FastCheck.constantFrom("breakerz", "rateLimits", "memroy", "zzz").map((key): Mistake => [(c) => (c[key] = {}), key]),
  FastCheck.constantFrom("failureTreshold", "resetTimout", "zzz").map(
    (key): Mistake => [(c) => (c.circuitBreaker.breakers.x = { [key]: 1 }), `circuitBreaker.breakers.x.${key}`]
  ),
  FastCheck.constantFrom("timout", "circuitbreaker", "zzz").map(
    (key): Mistake => [(c) => (c.protections.checkout[key] = 1), `protections.checkout.${key}`]
  ),
  FastCheck.constantFrom("ghost", "toString", "constructor").map(
    (missing): Mistake => [(c) => (c.protections.other = { circuitBreaker: missing }), "protections.other.circuitBreaker"]
  ),
  FastCheck.constantFrom("ghost", "hasOwnProperty").map(
    (missing): Mistake => [(c) => (c.protections.other = { rateLimit: { rule: missing } }), "protections.other.rateLimit.rule"]
  ),
  FastCheck.constantFrom("30 days", 2 ** 31, "soon", -5).map(
    (timeout): Mistake => [(c) => (c.protections.other = { timeout }), "protections.other.timeout"]
  )
)

const decodeExit = (input: unknown) => Effect.runSyncExit(Config.decode(input))

describe("Config (generated input)", () => {
  it("every generated valid configuration decodes", () => {
    FastCheck.assert(
      FastCheck.property(validConfig, (config) => {
        const exit = decodeExit(config)
        if (Exit.isFailure(exit)) throw new Error(`rejected ${JSON.stringify(config)}: ${exit.cause}`)
      }),
      { numRuns: 300 }
    )
  })

  it("every generated invalid configuration fails InvalidConfig at the mistake's path, never a throw", () => {
    FastCheck.assert(
      FastCheck.property(validConfig, mistake, (config, [apply, path]) => {
        apply(config)
        const exit = decodeExit(config)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isSuccess(exit)) return
        const error = exit.cause.reasons[0]
        expect(error?._tag).toBe("Fail")
        const invalid = (error as { error: Config.FoundationConfig | any }).error
        expect(invalid._tag).toBe("InvalidConfig")
        expect(invalid.path.length).toBeGreaterThan(0)
        expect(invalid.message).toContain(path)
      }),
      { numRuns: 400 }
    )
  })

  it("one mistake reads the same through the module's layer and the configuration file", () => {
    const cases: ReadonlyArray<readonly [string, unknown]> = [
      ["failureThreshold", { failureThreshold: 0 }],
      ["unknown key", { failureTreshold: 1 }],
      ["bad duration", { resetTimeout: "soon" }],
      ["backoff below resetTimeout", { resetTimeout: "10 seconds", backoff: { factor: 2, max: "1 second" } }]
    ]
    for (const [label, policy] of cases) {
      const viaLayer = Effect.runSyncExit(Layer.build(CircuitBreaker.layer({ breakers: { db: policy as never } })).pipe(Effect.scoped))
      const viaFile = decodeExit({ circuitBreaker: { breakers: { db: policy } } })
      const message = (exit: Exit.Exit<unknown, any>) =>
        Exit.isFailure(exit) ? String((exit.cause.reasons[0] as any).error.message) : `${label}: accepted`
      expect(message(viaFile), label).toBe(message(viaLayer).replaceAll("breakers.db", "circuitBreaker.breakers.db"))
    }
    const rules: ReadonlyArray<unknown> = [
      { algorithm: "gcra", limit: -1, window: 1000 },
      { algorithm: "leaky", limit: 1, window: 1000 },
      { algorithm: "gcra", limit: 1, window: 1000, burts: 2 }
    ]
    for (const rule of rules) {
      const viaLayer = Effect.runSyncExit(Layer.build(RateLimiter.layer({ rules: { api: rule as never } })).pipe(Effect.scoped))
      const viaFile = decodeExit({ rateLimiter: { rules: { api: rule } } })
      const message = (exit: Exit.Exit<unknown, any>) =>
        Exit.isFailure(exit) ? String((exit.cause.reasons[0] as any).error.message) : "accepted"
      expect(message(viaFile)).toBe(message(viaLayer).replaceAll("rules.api", "rateLimiter.rules.api"))
    }
  })

  it("a 10 MB document fails quickly with a bounded message", () => {
    const breakers = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`b${i}`, { failureThreshold: -1, x: "y".repeat(90) }]))
    const huge = { circuitBreaker: { breakers } }
    expect(JSON.stringify(huge).length).toBeGreaterThan(10_000_000)
    const exit = decodeExit(huge)
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? (exit.cause.reasons[0] as any).error : undefined
    expect(error._tag).toBe("InvalidConfig")
    expect(error.message.length).toBeLessThan(10_000)
    expect(error.message).toMatch(/and \d+ more violations$/)
  })
})
