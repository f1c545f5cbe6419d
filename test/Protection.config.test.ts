import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Bulkhead, CircuitBreaker, Config, Protection, MemoryManager, Pool, RateLimiter } from "../src/index.js"
import { InvalidConfig } from "../src/Errors.js"

class Db extends Context.Service<Db, Pool.Pool<string>>()("test/config/Db") {}
class Cache extends Context.Service<Cache, Pool.Pool<number>>()("test/config/Cache") {}

const DbLive = Pool.layer(Db, { acquire: Effect.succeed("connection"), size: 1 })
const CacheLive = Pool.layer(Cache, { acquire: Effect.succeed(7), size: 1 })

const Protections = Layer.mergeAll(
  CircuitBreaker.layer({ breakers: { db: {}, payments: {} } }),
  RateLimiter.layer({ rules: { api: { algorithm: "fixed-window", limit: 100, window: "1 second" } } }),
  DbLive,
  CacheLive
)
const Live = Protection.layer({ pools: { db: Db, cache: Cache } }).pipe(Layer.provideMerge(Protections))

const configure = (profile: string, config: unknown) =>
  Protection.Protection.use((infrastructure) => Effect.flip(infrastructure.configure(profile, config)))

// the same reference in the configuration file, next to sections configuring what the layers
// above do (the rules' section is `rateLimiter.rules`, formerly `rateLimits`)
const rules = { api: { algorithm: "fixed-window", limit: 100, window: "1 second" } }
const rulesSection = "rateLimiter" in Config.FoundationConfig.fields ? { rateLimiter: { rules } } : { rateLimits: rules }
const fromFile = (profile: unknown) =>
  Effect.flip(
    Config.decode({
      ...rulesSection,
      pools: { db: { size: 1 }, cache: { size: 1 } },
      protections: { x: profile }
    })
  )

describe("Protection.configure checks references as the configuration file does", () => {
  it.effect("a rule, a pool or a memory guard that is not configured: same path and message as the file", () =>
    Effect.gen(function* () {
      for (const [profile, path, message] of [
        [
          { rateLimit: { rule: "apii" } },
          "protections.x.rateLimit.rule",
          `names rule "apii", which is not configured; did you mean "api"?`
        ],
        [{ pool: "dbb" }, "protections.x.pool", `names pool "dbb", which is not configured; did you mean "db"?`],
        [{ pool: "upstream" }, "protections.x.pool", `names pool "upstream", which is not configured; configured: "db", "cache"`],
        [{ memory: true }, "protections.x.memory", "turns on the memory guard, but no memory manager is configured"]
      ] as const) {
        const error = yield* configure("x", profile)
        expect(error).toMatchObject({ _tag: "InvalidConfig", path, message: `${path}: ${message}` })
        const file = yield* fromFile(profile)
        expect({ path: file.path, message: file.message }).toEqual({ path: error.path, message: error.message })
      }
    }).pipe(Effect.provide(Live))
  )

  it.effect("a breaker that is not configured fails, suggesting the nearest; one created from defaults does not count", () =>
    Effect.gen(function* () {
      const ghost = yield* configure("x", { circuitBreaker: "ghost" })
      expect(ghost).toMatchObject({
        path: "protections.x.circuitBreaker",
        message: `protections.x.circuitBreaker: names breaker "ghost", which is not configured; configured: "db", "payments"`
      })
      const typo = yield* configure("x", { circuitBreaker: "paymnts" })
      expect(typo.message).toContain(`did you mean "payments"?`)
      // a breaker made on first use from `defaults` (per-host) is not a configured one
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect("api.example.com"))
      expect((yield* configure("x", { circuitBreaker: "api.example.com" })).path).toBe("protections.x.circuitBreaker")
      const infrastructure = yield* Protection.Protection
      expect(yield* infrastructure.names).toEqual([])
    }).pipe(Effect.provide(Live))
  )

  it.effect("every dangling reference is reported at once; unknown keys still fail with a suggestion", () =>
    Effect.gen(function* () {
      const error = yield* configure("x", { rateLimit: { rule: "nope" }, circuitBreaker: "nope", pool: "nope" })
      expect(error.path).toBe("protections.x.rateLimit.rule")
      expect(error.message).toContain("protections.x.circuitBreaker")
      expect(error.message).toContain("protections.x.pool")
      const typo = yield* configure("x", { timout: 100 })
      expect(typo.message).toContain(`did you mean "timeout"?`)
    }).pipe(Effect.provide(Live))
  )

  it.effect("with a memory manager, a memory guard is valid; a valid profile installs", () =>
    Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      yield* infrastructure.configure("x", { memory: true, circuitBreaker: "db", rateLimit: { rule: "api" }, pool: "db" })
      expect(yield* infrastructure.names).toEqual(["x"])
    }).pipe(Effect.provide(Live.pipe(Layer.provideMerge(MemoryManager.layer()))))
  )

  it.effect("a profile at layer construction is checked the same way", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(Protection.layer({ profiles: { x: { circuitBreaker: "dbb" } } }).pipe(Layer.provide(Protections)))
      )
      expect(error).toMatchObject({
        _tag: "InvalidConfig",
        path: "protections.x.circuitBreaker",
        message: `protections.x.circuitBreaker: names breaker "dbb", which is not configured; did you mean "db"?`
      })
    })
  )
})

describe("Protection profiles with a pool", () => {
  const WithProfiles = Protection.layer({
    profiles: { quote: { circuitBreaker: "db", pool: "db" }, plain: { circuitBreaker: "db" } },
    pools: { db: Db, cache: Cache }
  }).pipe(Layer.provideMerge(Protections))

  it.effect("execute on a profile that names a pool fails InvalidConfig naming the profile; nothing runs", () =>
    Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      let ran = 0
      const error = yield* Effect.flip(
        infrastructure.execute(
          "quote",
          Effect.sync(() => ran++)
        )
      )
      expect(error).toBeInstanceOf(InvalidConfig)
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "protections.quote.pool" })
      expect(error.message).toContain(`profile "quote"`)
      expect(error.message).toContain("executeWith")
      expect(ran).toBe(0)
      expect(yield* infrastructure.executeWith("quote", Db, (connection) => Effect.succeed(connection.toUpperCase()))).toBe("CONNECTION")
    }).pipe(Effect.provide(WithProfiles))
  )

  it.effect("executeWith with another pool's tag, or on a profile without a pool, fails InvalidConfig", () =>
    Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      const other = yield* Effect.flip(infrastructure.executeWith("quote", Cache, (n) => Effect.succeed(n + 1)))
      expect(other).toMatchObject({ _tag: "InvalidConfig", path: "protections.quote.pool" })
      expect(other.message).toContain("test/config/Cache")
      const none = yield* Effect.flip(infrastructure.executeWith("plain", Db, Effect.succeed))
      expect(none).toMatchObject({ _tag: "InvalidConfig", path: "protections.plain.pool" })
      const missing = yield* Effect.flip(infrastructure.executeWith("nope", Db, Effect.succeed))
      expect(missing).toMatchObject({ _tag: "ProtectionNotFound", kind: "profile" })
    }).pipe(Effect.provide(WithProfiles))
  )
})

describe("a profile's bulkhead and checkout timeout", () => {
  const WithBulkhead = Protection.layer({ pools: { db: Db } }).pipe(
    Layer.provideMerge(Layer.mergeAll(Bulkhead.layer({ limits: { search: { maxConcurrent: 1 } } }), DbLive))
  )

  it.effect("a bulkhead that is not configured fails as in the file; without a Bulkhead layer, saying so", () =>
    Effect.gen(function* () {
      const error = yield* configure("x", { bulkhead: "serch" })
      expect(error).toMatchObject({
        path: "protections.x.bulkhead",
        message: `protections.x.bulkhead: names bulkhead "serch", which is not configured; did you mean "search"?`
      })
      const file = yield* Effect.flip(
        Config.decode({ bulkhead: { limits: { search: { maxConcurrent: 1 } } }, protections: { x: { bulkhead: "serch" } } })
      )
      expect({ path: file.path, message: file.message }).toEqual({ path: error.path, message: error.message })
    }).pipe(Effect.provide(WithBulkhead))
  )

  it.effect("without a Bulkhead layer a profile naming one fails InvalidConfig", () =>
    Effect.gen(function* () {
      const error = yield* configure("x", { bulkhead: "search" })
      expect(error).toMatchObject({ path: "protections.x.bulkhead" })
      expect(error.message).toContain("no Bulkhead layer")
    }).pipe(Effect.provide(Live))
  )

  it.effect("checkoutTimeout or poolTimeoutIsFailure without a pool is refused, in the file and in configure", () =>
    Effect.gen(function* () {
      for (const field of ["checkoutTimeout", "poolTimeoutIsFailure"] as const) {
        const profile = field === "checkoutTimeout" ? { checkoutTimeout: "1 second" } : { poolTimeoutIsFailure: true }
        const error = yield* configure("x", profile)
        expect(error).toMatchObject({ path: `protections.x.${field}` })
        expect(error.message).toContain("name a pool")
        const file = yield* Effect.flip(Config.decode({ protections: { x: profile } }))
        expect(file.path).toBe(`protections.x.${field}`)
      }
    }).pipe(Effect.provide(WithBulkhead))
  )

  it.effect("a profile's checkoutTimeout bounds the wait for the pool instead of the pool's own", () =>
    Effect.gen(function* () {
      const protection = yield* Protection.Protection
      yield* protection.configure("query", { pool: "db", checkoutTimeout: "10 millis" })
      const held = yield* Effect.forkChild(Pool.use(Db, () => Effect.never))
      yield* Effect.yieldNow
      const fiber = yield* Effect.forkChild(Effect.flip(protection.executeWith("query", Db, Effect.succeed)))
      yield* TestClock.adjust("10 millis")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "PoolCheckoutTimeout" })
      yield* Fiber.interrupt(held)
    }).pipe(Effect.provide(WithBulkhead))
  )
})
