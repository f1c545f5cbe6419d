import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { Bulkhead, CircuitBreaker, Foundation, HealthAggregator, Pool, Protection, RateLimiter } from "../src/index.js"

const initial = {
  circuitBreaker: { breakers: { payments: { failureThreshold: 5 } } },
  rateLimiter: { rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } } },
  protections: { checkout: { circuitBreaker: "payments", timeout: "2 seconds" } }
} as const

const withBulkhead = { ...initial, bulkhead: { limits: { search: { maxConcurrent: 2, maxWaiting: 0 } } } } as const

const timeoutOf = (profile: string) =>
  Protection.Protection.use((protection) => protection.status(profile)).pipe(
    Effect.map((status) => (status.config.timeout === undefined ? undefined : Duration.toMillis(status.config.timeout)))
  )

describe("Foundation.reload", () => {
  it.effect("applies a changed profile and makes the new configuration current", () =>
    Effect.gen(function* () {
      const report = yield* Foundation.reload({
        ...initial,
        protections: { checkout: { circuitBreaker: "payments", timeout: "1 second" } }
      })
      expect(report.changes).toEqual([{ kind: "profile", name: "checkout" }])
      expect(yield* timeoutOf("checkout")).toBe(1000)
      const current = yield* Foundation.current
      expect(current.protections?.checkout?.timeout).toEqual(Duration.seconds(1))
    }).pipe(Effect.provide(Layer.fresh(Foundation.layer(initial))))
  )

  it.effect("refuses a configuration the running services cannot take, whole, naming every path", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Foundation.reload({
          ...initial,
          memory: { rejectAt: "high" },
          protections: { checkout: { circuitBreaker: "payments", timeout: "1 second" } }
        })
      )
      expect(error._tag).toBe("InvalidConfig")
      expect(error.path).toBe("memory")
      // the profile change in the same reload was not applied
      expect(yield* timeoutOf("checkout")).toBe(2000)
      const undecodable = yield* Effect.flip(Foundation.reload({ ...initial, protections: { checkout: { circuitBreakr: "payments" } } }))
      expect(undecodable.path).toBe("protections.checkout.circuitBreakr")
    }).pipe(Effect.provide(Layer.fresh(Foundation.layer(initial))))
  )

  it.effect("builds the bulkhead section (it reports health), and a reload changes its limits but adds none", () =>
    Effect.gen(function* () {
      expect((yield* Bulkhead.status("search")).limits.maxConcurrent).toBe(2)
      const components = Object.keys((yield* HealthAggregator.systemHealth).components)
      expect(components.some((name) => name.includes("search"))).toBe(true)
      const report = yield* Foundation.reload({ ...withBulkhead, bulkhead: { limits: { search: { maxConcurrent: 4 } } } })
      expect(report.changes).toEqual([{ kind: "bulkhead", name: "search" }])
      expect((yield* Bulkhead.status("search")).limits.maxConcurrent).toBe(4)
      const refused = yield* Effect.flip(
        Foundation.reload({ ...withBulkhead, bulkhead: { limits: { search: { maxConcurrent: 4 }, batch: { maxConcurrent: 1 } } } })
      )
      expect(refused.path).toBe("bulkhead.limits.batch")
      expect((yield* Bulkhead.status("search")).limits.maxConcurrent).toBe(4)
    }).pipe(Effect.provide(Layer.fresh(Foundation.layer(withBulkhead))))
  )
})

describe("Foundation.reload: breakers", () => {
  it.effect("a changed policy keeps the breaker's state; a new breaker is configured", () =>
    Effect.gen(function* () {
      const breakers = yield* CircuitBreaker.CircuitBreaker
      yield* breakers.trip("payments")
      const report = yield* Foundation.reload({
        ...initial,
        circuitBreaker: { breakers: { payments: { failureThreshold: 2 }, search: { failureThreshold: 3 } } }
      })
      expect(report.changes).toEqual([
        { kind: "breaker", name: "payments" },
        { kind: "breaker", name: "search" }
      ])
      expect((yield* breakers.status("payments")).state).toBe("Open")
      expect((yield* breakers.status("search")).state).toBe("Closed")
      expect((yield* Foundation.current).circuitBreaker?.breakers?.payments?.failureThreshold).toBe(2)
      // the new threshold is the one in force: two failures open it (five did before)
      yield* breakers.reset("payments")
      for (let i = 0; i < 2; i++) yield* Effect.exit(Effect.fail("down").pipe(CircuitBreaker.protect("payments")))
      expect((yield* breakers.status("payments")).state).toBe("Open")
    }).pipe(Effect.provide(Layer.fresh(Foundation.layer(initial))))
  )
})

describe("Foundation.reload: pools", () => {
  class Db extends Context.Service<Db, Pool.Pool<number>>()("test/reload/Db") {}
  const config = { pools: { db: { size: 4 } }, protections: { query: { pool: "db" } } } as const
  const DbLive = Pool.layer(Db, { ...Foundation.poolOptions(config, "db"), acquire: Effect.succeed(1) })

  it.effect("a pool given to Foundation is resized; its other options are fixed", () =>
    Effect.gen(function* () {
      const report = yield* Foundation.reload({ ...config, pools: { db: { size: 2, maxWaiting: 10 } } })
      expect(report.changes).toEqual([{ kind: "pool", name: "db" }])
      expect((yield* Pool.status(Db)).size).toBe(2)
      const refused = yield* Effect.flip(
        Foundation.reload({ ...config, pools: { db: { size: 2, maxWaiting: 10, checkoutTimeout: "1 second" } } })
      )
      expect(refused.path).toBe("pools.db.checkoutTimeout")
      expect((yield* Pool.status(Db)).size).toBe(2)
    }).pipe(Effect.provide(Layer.fresh(Foundation.layer(config, { pools: { db: { tag: Db, layer: DbLive } } }))))
  )
})

describe("Foundation.reload: rate limit rules", () => {
  it.effect("a changed rule keeps each key's consumption; a new rule needs a restart", () =>
    Effect.gen(function* () {
      const config = { rateLimiter: { rules: { api: { algorithm: "fixed-window", limit: 3, window: "1 minute" } } } } as const
      const limiter = yield* RateLimiter.RateLimiter
      for (let i = 0; i < 2; i++) yield* Effect.succeed(i).pipe(RateLimiter.limit("api", "alice"))
      yield* Foundation.reload({ rateLimiter: { rules: { api: { algorithm: "fixed-window", limit: 2, window: "1 minute" } } } })
      // alice spent two of her points before the reload: at the new limit of 2 she has none left
      const refused = yield* Effect.flip(Effect.succeed(0).pipe(RateLimiter.limit("api", "alice")))
      expect(refused._tag).toBe("RateLimited")
      expect((yield* limiter.status("api", "bob")).remaining).toBe(2)
      const added = yield* Effect.flip(
        Foundation.reload({ rateLimiter: { rules: { ...config.rateLimiter.rules, batch: { algorithm: "gcra", limit: 1, window: 1000 } } } })
      )
      expect(added.path).toBe("rateLimiter.rules.batch")
    }).pipe(
      Effect.provide(
        Layer.fresh(Foundation.layer({ rateLimiter: { rules: { api: { algorithm: "fixed-window", limit: 3, window: "1 minute" } } } }))
      )
    )
  )
})
