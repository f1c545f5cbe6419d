import { describe, expect, it } from "@effect/vitest"
import { Config as EffectConfig, ConfigProvider, Context, Effect, Layer } from "effect"
import { Config, Foundation, HealthAggregator, Protection, MemoryManager, Pool } from "../src/index.js"

class Db extends Context.Service<Db, Pool.Pool<number>>()("test/Db") {}

const env = (variables: Record<string, string>) =>
  ConfigProvider.layer(ConfigProvider.fromEnv({ env: variables }).pipe(ConfigProvider.constantCase))

describe("Foundation", () => {
  it("a literal configuration is type-checked: misspelled keys and unknown values do not compile", () => {
    // each line below would build and silently ignore the mistake if `layer` took `unknown`
    // @ts-expect-error breakerz is not a section
    Foundation.layer({ breakerz: {} })
    // @ts-expect-error "token_bucket" is not an algorithm
    Foundation.layer({ rateLimits: { api: { algorithm: "token_bucket", limit: 1, window: "1 second" } } })
    // @ts-expect-error failureTreshold is not a breaker option
    Foundation.layer({ breakers: { db: { failureTreshold: 1 } } })
    // data from outside goes through a decode
    const outside: unknown = JSON.parse('{"breakers":{"db":{}}}')
    // @ts-expect-error unknown input is not a configuration until decoded
    Foundation.layer(outside)
    expect(Layer.isLayer(Layer.unwrap(Effect.map(Config.decode(outside), (c) => Foundation.layerDecoded(c))))).toBe(true)
  })

  it.effect("Foundation.config reads the whole configuration from the environment, next to application settings", () =>
    Effect.gen(function* () {
      const settings = EffectConfig.all({ port: EffectConfig.Int("port"), foundation: Foundation.config })
      const { foundation, port } = yield* settings
      expect(port).toBe(8080)
      expect(foundation.memory?.rejectAt).toBe("high")
    }).pipe(Effect.provide(env({ PORT: "8080", FOUNDATION_MEMORY_REJECT_AT: "high", FOUNDATION_MEMORY_CHECK_INTERVAL: "2 seconds" })))
  )

  it.effect("load returns the decoded configuration; with no JSON given it reads FOUNDATION_ variables", () =>
    Effect.gen(function* () {
      const config = yield* Foundation.load
      expect(config.memory?.rejectAt).toBe("medium")
      const stats = yield* MemoryManager.MemoryManager.use((manager) => manager.status).pipe(Effect.provide(Foundation.layerConfig()))
      expect(stats).toBeDefined()
    }).pipe(Effect.provide(env({ FOUNDATION_MEMORY_REJECT_AT: "medium" })))
  )

  it.effect("a bad environment value fails InvalidConfig", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Foundation.load)
      expect(error._tag).toBe("InvalidConfig")
      expect(error.message).toContain("rejectAt")
    }).pipe(Effect.provide(env({ FOUNDATION_MEMORY_REJECT_AT: "sometimes" })))
  )

  describe("pools", () => {
    const config = { pools: { db: { size: 1 } }, protections: { query: { pool: "db" } } } as const
    const DbLive = Pool.layer(Db, { ...Foundation.poolOptions(config, "db"), acquire: Effect.succeed(1) })

    it.effect("a pool given with its layer is built on the aggregator: it reports as pool:db, and Db is provided", () =>
      Effect.gen(function* () {
        const report = yield* HealthAggregator.systemHealth
        expect(Object.keys(report.components)).toContain("pool:db")
        expect(report.components["pool:db"]).toMatchObject({ kind: "pool", status: "healthy" })
        expect(yield* Pool.use(Db, (connection) => Effect.succeed(connection + 1))).toBe(2)
        expect((yield* Pool.status(Db)).checkouts).toBe(1)
        expect(yield* Protection.Protection.use((infrastructure) => infrastructure.names)).toEqual(["query"])
      }).pipe(Effect.provide(Foundation.layer(config, { pools: { db: { tag: Db, layer: DbLive } } })))
    )

    it.effect("a bare tag still serves profiles with the layer provided beneath, and reports no health", () =>
      Effect.gen(function* () {
        const report = yield* HealthAggregator.systemHealth
        expect(Object.keys(report.components)).not.toContain("pool:db")
        expect(yield* Protection.Protection.use((infrastructure) => infrastructure.names)).toEqual(["query"])
      }).pipe(Effect.provide(Foundation.layer(config, { pools: { db: Db } }).pipe(Layer.provideMerge(DbLive))))
    )

    it.effect("a pool's layer that fails fails Foundation.layer with its error", () =>
      Effect.gen(function* () {
        const Broken = Pool.layer(Db, { name: "db", size: 0, acquire: Effect.succeed(1) })
        const error = yield* Effect.flip(Layer.build(Foundation.layer(config, { pools: { db: { tag: Db, layer: Broken } } })))
        expect(error).toMatchObject({ _tag: "InvalidConfig" })
      }).pipe(Effect.scoped)
    )
  })
})
