import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { Redis } from "effect/persistence"
import * as Config from "../src/Config.js"
import type { InvalidConfig, ProtectionNotFound } from "../src/Errors.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RateLimiterRedis from "../src/RateLimiterRedis.js"

/** A Redis service that answers nothing: building the layer asks Redis nothing. */
const noRedis = Layer.succeed(Redis.Redis, {} as Redis.Redis["Service"])

const memoryError = (options: unknown) =>
  Effect.flip(Layer.build(RateLimiter.layer(options as RateLimiter.Options))) as Effect.Effect<InvalidConfig>

const redisError = (options: unknown) =>
  Effect.flip(
    Layer.build(RateLimiterRedis.layer(options as RateLimiterRedis.RedisOptions).pipe(Layer.provide(noRedis)))
  ) as Effect.Effect<InvalidConfig>

const fileError = (rules: unknown) => Effect.flip(Config.decode({ rateLimiter: { rules } }))

const base = { algorithm: "gcra", limit: 10, window: "1 second" }

describe("RateLimiter options", () => {
  it.effect.each([
    [{ rulez: {} }, "rulez", `did you mean "rules"?`],
    [{ rules: { api: { ...base, limt: 3 } } }, "rules.api.limt", `did you mean "limit"?`],
    [{ rules: { api: { ...base, onExceded: "delay" } } }, "rules.api.onExceded", `did you mean "onExceeded"?`]
  ] as const)("an unknown key fails with its path and the nearest option (%o)", ([options, path, suggestion]) =>
    Effect.gen(function* () {
      const error = yield* memoryError(options)
      expect(error._tag).toBe("InvalidConfig")
      expect(error.path).toBe(path)
      expect(error.message).toContain(`${path}: unknown option`)
      expect(error.message).toContain(suggestion)
    })
  )

  it.effect.each([
    [{ rules: {}, commandTimout: 100 }, "commandTimout", `did you mean "commandTimeout"?`],
    [{ rules: { api: { ...base, onRedisEror: "failClosed" } } }, "rules.api.onRedisEror", `did you mean "onRedisError"?`],
    [
      { rules: { api: { ...base, onRedisError: { policy: "failOpen", insurence: 0.5 } } } },
      "rules.api.onRedisError.insurence",
      `did you mean "insurance"?`
    ]
  ] as const)("RateLimiterRedis: an unknown key fails with its path and the nearest option (%o)", ([options, path, suggestion]) =>
    Effect.gen(function* () {
      const error = yield* redisError(options)
      expect(error.path).toBe(path)
      expect(error.message).toContain(suggestion)
    })
  )

  it.effect("every violation is listed, each as path: message", () =>
    Effect.gen(function* () {
      const error = yield* memoryError({
        rules: {
          api: { algorithm: "fixed-window", limit: -1, window: "1 second", burst: 5 },
          login: { ...base, window: "soon", maxKeys: 0 }
        }
      })
      expect(error.path).toBe("rules.api.limit")
      for (const path of ["rules.api.limit: ", "rules.login.window: ", "rules.login.maxKeys: "]) {
        expect(error.message).toContain(path)
      }
      // the cross-field rules run once the rule's fields decode
      const crossField = yield* memoryError({
        rules: { api: { algorithm: "sliding-window", limit: 5, window: 1000, burst: 5, maxDelay: 10 } }
      })
      expect(crossField.message).toContain("rules.api.burst: applies to token-bucket and gcra only")
      expect(crossField.message).toContain(`rules.api.maxDelay: applies only with onExceeded: "delay"`)
    })
  )

  const invalidRules: ReadonlyArray<readonly [string, unknown]> = [
    ["negative limit", { ...base, limit: -1 }],
    ["burst with limit 0", { ...base, limit: 0, burst: 2 }],
    ["fractional window", { ...base, window: 1.5 }],
    ["unknown algorithm", { ...base, algorithm: "leaky-bucket" }],
    ["burst on a window", { ...base, algorithm: "fixed-window", burst: 3 }],
    ["maxDelay without delay", { ...base, maxDelay: "5 seconds" }],
    ["several at once", { algorithm: "gcra", limit: -1, window: "soon", maxKeys: 0 }]
  ]
  it.effect.each(invalidRules)("%s reads the same through RateLimiter.layer, RateLimiterRedis.layer and Config.decode", ([, rule]) =>
    Effect.gen(function* () {
      const memory = yield* memoryError({ rules: { api: rule } })
      const redis = yield* redisError({ rules: { api: rule } })
      const file = yield* fileError({ api: rule })
      expect(redis.path).toBe(memory.path)
      expect(redis.message).toBe(memory.message)
      expect(file.path).toBe(`rateLimiter.${memory.path}`)
      expect(file.message).toBe(memory.message.replaceAll("rules.api.", "rateLimiter.rules.api."))
      expect(memory.message).toMatch(/^rules\.api\.\w+: /)
    })
  )

  it("the rule Schema fills in the defaults", () => {
    const options = Config.decode({ rateLimiter: { rules: { api: base } } })
    const decoded = Effect.runSync(options).rateLimiter?.rules.api
    expect(decoded).toMatchObject({ onExceeded: "fail", maxKeys: 100_000 })
  })
})

describe("RateLimiter: an unknown rule", () => {
  const rules = {
    "per-client": { algorithm: "gcra", limit: 5, window: "1 second" },
    login: { algorithm: "sliding-window", limit: 5, window: "15 minutes" }
  } as const

  it.effect("check, status and reset fail ProtectionNotFound naming the nearest rule", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.RateLimiter
      const calls = [
        limiter.check("per-clinet", "k"),
        limiter.status("per-clinet", "k"),
        limiter.reset("per-clinet", "k")
      ] as ReadonlyArray<Effect.Effect<unknown, ProtectionNotFound | { readonly _tag: string }>>
      for (const call of calls) {
        const error = yield* Effect.flip(call)
        expect(error).toMatchObject({ _tag: "ProtectionNotFound", kind: "rate_limit_rule", protection: "per-clinet" })
        expect((error as ProtectionNotFound).message).toBe(
          `no rate limit rule named "per-clinet" is configured; did you mean "per-client"?`
        )
      }
      const far = yield* Effect.flip(limiter.status("search", "k"))
      expect(far.message).toBe(`no rate limit rule named "search" is configured; configured: "per-client", "login"`)
    }).pipe(Effect.provide(RateLimiter.layer({ rules })))
  )

  it.effect("limit dies with the same message (a defect, as before)", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.succeed(1).pipe(RateLimiter.limit("per-clinet", "k")))
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(defect).toMatchObject({ _tag: "ProtectionNotFound", protection: "per-clinet" })
      expect((defect as Error).message).toContain(`did you mean "per-client"?`)
    }).pipe(Effect.provide(RateLimiter.layer({ rules })))
  )

  it.effect("with no rule configured, it says so", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.RateLimiter
      const error = yield* Effect.flip(limiter.check("api", "k"))
      expect(error.message).toBe(`no rate limit rule named "api" is configured; none is configured`)
    }).pipe(Effect.provide(RateLimiter.layer({ rules: {} })))
  )
})
