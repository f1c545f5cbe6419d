import { describe, expect, it } from "@effect/vitest"
import { Config as EffectConfig, ConfigProvider, Effect, Layer } from "effect"
import { Config, Foundation, MemoryManager } from "../src/index.js"

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
    Effect.gen(function*() {
      const settings = EffectConfig.all({ port: EffectConfig.Int("port"), foundation: Foundation.config })
      const { foundation, port } = yield* settings
      expect(port).toBe(8080)
      expect(foundation.memory?.rejectAt).toBe("high")
    }).pipe(Effect.provide(env({ PORT: "8080", FOUNDATION_MEMORY_REJECT_AT: "high", FOUNDATION_MEMORY_CHECK_INTERVAL: "2 seconds" }))))

  it.effect("load returns the decoded configuration; with no JSON given it reads FOUNDATION_ variables", () =>
    Effect.gen(function*() {
      const config = yield* Foundation.load
      expect(config.memory?.rejectAt).toBe("medium")
      const stats = yield* MemoryManager.MemoryManager.use((manager) => manager.stats).pipe(
        Effect.provide(Foundation.layerConfig())
      )
      expect(stats).toBeDefined()
    }).pipe(Effect.provide(env({ FOUNDATION_MEMORY_REJECT_AT: "medium" }))))

  it.effect("a bad environment value fails InvalidConfig", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Foundation.load)
      expect(error._tag).toBe("InvalidConfig")
      expect(error.message).toContain("rejectAt")
    }).pipe(Effect.provide(env({ FOUNDATION_MEMORY_REJECT_AT: "sometimes" }))))
})
