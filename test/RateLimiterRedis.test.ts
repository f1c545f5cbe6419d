/**
 * The Redis store against a real redis-server (its own, on a free port): configuration, the
 * shared limit, key layout and TTLs, status/reset, the `limit` combinator, `"delay"`, and the
 * script cache being flushed mid-run.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer } from "effect"
import { Redis } from "effect/persistence"
import type { InvalidConfig } from "../src/Errors.js"
import { RateLimited } from "../src/Errors.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RateLimiterRedis from "../src/RateLimiterRedis.js"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server?.stop()
})

let prefixes = 0
const freshPrefix = () => `t${process.pid}-${prefixes++}:`

const redisLayer = Layer.suspend(() => NodeRedis.layer({ url: server.url, disableOfflineQueue: true }))

const limiterLayer = (options: RateLimiterRedis.RedisOptions) => RateLimiterRedis.layer(options).pipe(Layer.provide(redisLayer))

const withLimiter = (options: RateLimiterRedis.RedisOptions) => Effect.provide(limiterLayer(options))

const service = RateLimiter.RateLimiter

const attempt = (rule: string, key: string, cost?: number) =>
  Effect.flatMap(service, (limiter) => Effect.result(limiter.check(rule, key, cost === undefined ? undefined : { cost })))

/** A Redis service that fails every command: only for configuration tests. */
const noRedis = Layer.succeed(Redis.Redis, {} as Redis.Redis["Service"])

const layerError = (options: unknown) =>
  Effect.flip(
    Layer.build(RateLimiterRedis.layer(options as RateLimiterRedis.RedisOptions).pipe(Layer.provide(noRedis)))
  ) as Effect.Effect<InvalidConfig>

describe("RateLimiterRedis.layer", () => {
  describe("configuration", () => {
    const rule = { algorithm: "gcra", limit: 10, window: "1 second" }
    it.effect.each([
      [{ rules: { api: { ...rule, limit: -1 } } }, "rules.api.limit"],
      [{ rules: { api: { ...rule, limit: 0, burst: 1 } } }, "rules.api.burst"],
      [{ rules: { api: { ...rule, window: Number.NaN } } }, "rules.api.window"],
      [{ rules: { api: { ...rule, algorithm: "leaky" } } }, "rules.api.algorithm"],
      [{ rules: { api: { ...rule, onRedisError: "ignore" } } }, "rules.api.onRedisError"],
      [{ rules: { api: { ...rule, onRedisError: { policy: "open" } } } }, "rules.api.onRedisError.policy"],
      [{ rules: { api: { ...rule, onRedisError: { policy: "failOpen", insurance: 0 } } } }, "rules.api.onRedisError.insurance"],
      [{ rules: { api: { ...rule, onRedisError: { policy: "failOpen", insurance: 1.5 } } } }, "rules.api.onRedisError.insurance"],
      [{ rules: { api: { ...rule, onRedisError: { policy: "failOpen", insurance: Number.NaN } } } }, "rules.api.onRedisError.insurance"],
      [{ rules: { api: rule }, onRedisError: "maybe" }, "onRedisError"],
      [{ rules: { api: rule }, commandTimeout: 0 }, "commandTimeout"],
      [{ rules: { api: rule }, commandTimeout: Number.NaN }, "commandTimeout"],
      [{ rules: { api: rule }, commandTimeout: "forever" }, "commandTimeout"],
      [{ rules: { api: rule }, recheckAfter: -1 }, "recheckAfter"],
      [{ rules: { api: rule }, maxPending: 0 }, "maxPending"],
      [{ rules: { api: rule }, maxPending: 1.5 }, "maxPending"],
      [{ rules: { api: rule }, maxPending: "10" }, "maxPending"],
      [{ rules: { api: rule }, prefix: 7 }, "prefix"],
      [{ rules: null }, "rules"]
    ] as const)("rejects %o at %s", ([options, path]) =>
      Effect.gen(function* () {
        const error = yield* layerError(options)
        expect(error._tag).toBe("InvalidConfig")
        expect(error.path).toBe(path)
        expect(error.message.length).toBeGreaterThan(10)
      })
    )
  })

  it.effect.each([[{ pingInterval: 3_000 }], [{ pingInterval: 500, socket: { socketTimeout: 400 } }], [{ pingInterval: 0 }]] as const)(
    "layerClient rejects a pingInterval not below socketTimeout (%o), before connecting",
    ([options]) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Layer.build(RateLimiterRedis.layerClient({ url: "redis://127.0.0.1:1", ...options })))
        expect(error._tag).toBe("InvalidConfig")
        expect((error as InvalidConfig).path).toBe("pingInterval")
      })
  )

  it.effect.each([[0], [Number.NaN], [2 ** 31]])("layerClient rejects socket.socketTimeout %s, before connecting", ([socketTimeout]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(RateLimiterRedis.layerClient({ url: "redis://127.0.0.1:1", socket: { socketTimeout } })))
      expect(error._tag).toBe("InvalidConfig")
      expect((error as InvalidConfig).path).toBe("socket.socketTimeout")
    })
  )

  describe("against a real Redis", () => {
    it.live("two limiters (two clients) share one limit on one key", () =>
      Effect.gen(function* () {
        const options = { prefix: freshPrefix(), rules: { api: { algorithm: "fixed-window", limit: 5, window: "1 minute" } } } as const
        const first = yield* Layer.build(limiterLayer(options))
        const second = yield* Layer.build(limiterLayer(options))
        const results = []
        for (let i = 0; i < 6; i++) {
          results.push(yield* attempt("api", "k").pipe(Effect.provide(i % 2 === 0 ? first : second)))
        }
        expect(results.filter((r) => r._tag === "Success")).toHaveLength(5)
        const last = results[5]!
        expect(last._tag).toBe("Failure")
        const error = (last as { failure: unknown }).failure
        expect(error).toBeInstanceOf(RateLimited)
        const retry = Duration.toMillis((error as RateLimited).retryAfter)
        expect(retry).toBeGreaterThan(0)
        expect(retry).toBeLessThanOrEqual(60_000)
        expect(error).toMatchObject({ rule: "api", key: "k", limit: 5, remaining: 0 })
      })
    )

    it.live("many fibers racing on one key never get more than the limit", () =>
      Effect.gen(function* () {
        const results = yield* Effect.forEach(Array.from({ length: 100 }), () => attempt("api", "hot"), { concurrency: 50 })
        expect(results.filter((r) => r._tag === "Success")).toHaveLength(17)
      }).pipe(withLimiter({ prefix: freshPrefix(), rules: { api: { algorithm: "sliding-window", limit: 17, window: "1 minute" } } }))
    )

    it.live("keys are <prefix><rule>:<key> and carry a TTL of the time until they are fresh again", () => {
      const prefix = freshPrefix()
      return Effect.gen(function* () {
        yield* attempt("bucket", "alice")
        yield* attempt("log", "bob")
        const redis = yield* Redis.Redis
        const bucketTtl = Number(yield* redis.send("PTTL", `${prefix}bucket:alice`))
        const logTtl = Number(yield* redis.send("PTTL", `${prefix}log:bob`))
        // one token of 10 per 2 s used: back to full after 200 ms
        expect(bucketTtl).toBeGreaterThan(0)
        expect(bucketTtl).toBeLessThanOrEqual(200)
        expect(logTtl).toBeGreaterThan(1_000)
        expect(logTtl).toBeLessThanOrEqual(3_000)
        expect(yield* redis.send("TYPE", `${prefix}log:bob`)).toBe("zset")
        // idle keys vanish by themselves
        yield* Effect.sleep("300 millis")
        expect(yield* redis.send("EXISTS", `${prefix}bucket:alice`)).toBe(0)
      }).pipe(
        Effect.provide(
          Layer.merge(
            limiterLayer({
              prefix,
              rules: {
                bucket: { algorithm: "token-bucket", limit: 10, window: "2 seconds" },
                log: { algorithm: "sliding-window", limit: 10, window: "3 seconds" }
              }
            }),
            redisLayer
          )
        )
      )
    })

    it.live("check reports remaining and resetAfter; status reads without using; reset forgets", () =>
      Effect.gen(function* () {
        const limiter = yield* service
        const allowance = yield* limiter.check("api", "k", { cost: 2 })
        expect(allowance.remaining).toBe(1)
        expect(Duration.toMillis(allowance.resetAfter)).toBeGreaterThan(0)
        const status = yield* limiter.status("api", "k")
        expect(status).toMatchObject({ rule: "api", key: "k", algorithm: "gcra", limit: 3, remaining: 1 })
        expect((yield* limiter.status("api", "k")).remaining).toBe(1)
        expect((yield* limiter.status("api", "never-seen")).remaining).toBe(3)
        yield* limiter.reset("api", "k")
        expect((yield* limiter.status("api", "k")).remaining).toBe(3)
      }).pipe(withLimiter({ prefix: freshPrefix(), rules: { api: { algorithm: "gcra", limit: 3, window: "1 minute" } } }))
    )

    it.live("unknown rules fail ProtectionNotFound; a cost above the capacity never fits", () =>
      Effect.gen(function* () {
        const limiter = yield* service
        const error = yield* Effect.flip(limiter.check("nope", "k"))
        expect(error).toMatchObject({ _tag: "ProtectionNotFound", protection: "nope" })
        const typo = yield* Effect.flip(limiter.status("apii", "k"))
        expect(typo.message).toBe(`no rate limit rule named "apii" is configured; did you mean "api"?`)
        const tooBig = yield* Effect.flip(limiter.check("api", "k", { cost: 4 }))
        expect(tooBig).toBeInstanceOf(RateLimited)
        expect(Duration.isFinite((tooBig as RateLimited).retryAfter)).toBe(false)
        const exit = yield* Effect.exit(limiter.check("api", "k", { cost: 0 }))
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      }).pipe(withLimiter({ prefix: freshPrefix(), rules: { api: { algorithm: "token-bucket", limit: 3, window: "1 minute" } } }))
    )

    it.live("RateLimiter.limit works unchanged on the Redis store", () =>
      Effect.gen(function* () {
        let runs = 0
        const guarded = Effect.sync(() => ++runs).pipe(RateLimiter.limit("api", "user"))
        expect(yield* guarded).toBe(1)
        expect(yield* guarded).toBe(2)
        const error = yield* Effect.flip(guarded)
        expect(error).toBeInstanceOf(RateLimited)
        expect(runs).toBe(2)
        const died = yield* Effect.exit(Effect.void.pipe(RateLimiter.limit("missing", "user")))
        expect(Exit.isFailure(died) && Cause.hasDies(died.cause)).toBe(true)
      }).pipe(withLimiter({ prefix: freshPrefix(), rules: { api: { algorithm: "fixed-window", limit: 2, window: "1 minute" } } }))
    )

    it.live('"delay" waits for the slot Redis gives, first come first served', () =>
      Effect.gen(function* () {
        const started = Date.now()
        const order: Array<number> = []
        yield* Effect.forEach([0, 1, 2], (i) => Effect.sync(() => order.push(i)).pipe(RateLimiter.limit("slow", "k")), { concurrency: 1 })
        const elapsed = Date.now() - started
        // one call per 150 ms: the second and third wait 150 and 300 ms
        expect(order).toEqual([0, 1, 2])
        expect(elapsed).toBeGreaterThanOrEqual(280)
        const error = yield* Effect.flip(
          Effect.void.pipe(RateLimiter.limit("slow", "k"), RateLimiter.limit("short", "k"), RateLimiter.limit("short", "k"))
        )
        expect(error).toBeInstanceOf(RateLimited)
      }).pipe(
        withLimiter({
          prefix: freshPrefix(),
          rules: {
            slow: { algorithm: "gcra", limit: 1, window: "150 millis", onExceeded: "delay", maxDelay: "1 second" },
            short: { algorithm: "gcra", limit: 1, window: "10 seconds", onExceeded: "delay", maxDelay: "1 second" }
          }
        })
      )
    )

    for (const generic of [false, true]) {
      it.live(
        `SCRIPT FLUSH mid-run: the script is reloaded on NOSCRIPT and the count goes on${generic ? " (generic Redis service)" : ""}`,
        () =>
          Effect.gen(function* () {
            const redis = yield* Redis.Redis
            const first = yield* Effect.forEach(Array.from({ length: 3 }), () => attempt("api", "k"))
            expect(first.every((r) => r._tag === "Success")).toBe(true)
            expect(yield* redis.send("SCRIPT", "FLUSH")).toBe("OK")
            const second = yield* Effect.forEach(Array.from({ length: 3 }), () => attempt("api", "k"))
            expect(second.map((r) => r._tag)).toEqual(["Success", "Success", "Failure"])
            expect((second[2] as { failure: unknown }).failure).toBeInstanceOf(RateLimited)
          }).pipe(
            Effect.provide(
              Layer.merge(
                generic
                  ? RateLimiterRedis.layer({
                      prefix: freshPrefix(),
                      onRedisError: "failClosed",
                      rules: { api: { algorithm: "sliding-window", limit: 5, window: "1 minute" } }
                    }).pipe(Layer.provide(Layer.effect(Redis.Redis, Effect.service(Redis.Redis)).pipe(Layer.provide(redisLayer))))
                  : limiterLayer({
                      prefix: freshPrefix(),
                      onRedisError: "failClosed",
                      rules: { api: { algorithm: "sliding-window", limit: 5, window: "1 minute" } }
                    }),
                redisLayer
              )
            )
          )
      )
    }

    it.live("one round trip per decision", () =>
      Effect.gen(function* () {
        const redis = yield* Redis.Redis
        yield* attempt("api", "warm")
        const before = yield* commandCalls(redis)
        yield* Effect.forEach(Array.from({ length: 20 }), (_, i) => attempt("api", `k${i % 3}`))
        const after = yield* commandCalls(redis)
        // the client sent 20 EVALSHA and nothing else (besides the INFO that reads the stats);
        // INFO commandstats also counts what the script calls inside: TIME, GET of the
        // block and GET of the state, plus SET when admitted (5 per key: 15 admitted, 5 denied)
        expect(after.evalsha - before.evalsha).toBe(20)
        expect(after.client - before.client).toBe(20 + 1)
        expect(after.inScript - before.inScript).toBe(15 * 4 + 5 * 3)
      }).pipe(
        Effect.provide(
          Layer.merge(
            limiterLayer({ prefix: freshPrefix(), rules: { api: { algorithm: "token-bucket", limit: 5, window: "1 minute" } } }),
            redisLayer
          )
        )
      )
    )
  })
})

/** The commands the rate-limit script calls inside Redis (INFO commandstats counts them too). */
const scriptCommands = new Set(["time", "get", "set", "zrange", "zremrangebyscore", "zrem", "zadd", "pexpire"])

/** INFO commandstats split into commands sent by clients and commands run inside scripts. */
const commandCalls = (redis: Redis.Redis["Service"]) =>
  Effect.map(redis.send<string>("INFO", "commandstats"), (info) => {
    let client = 0
    let inScript = 0
    let evalsha = 0
    for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
      const calls = Number(match[2])
      if (match[1] === "evalsha") evalsha = calls
      if (scriptCommands.has(match[1]!)) inScript += calls
      else client += calls
    }
    return { client, inScript, evalsha }
  })
