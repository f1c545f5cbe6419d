/**
 * Regressions of issue 12 ("Never stuck, never lying"), against the test's own redis-server
 * behind a TCP proxy: a hung Redis does not pile up commands, the outage skip window is
 * measured from the failure, and timer durations past what Node can arm are rejected.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Metric, Result } from "effect"
import { Redis } from "effect/persistence"
import { TestClock } from "effect/testing"
import type { InvalidConfig } from "../src/Errors.js"
import * as Protection from "../src/Protection.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RateLimiterRedis from "../src/RateLimiterRedis.js"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"
import { startTcpProxy, type TcpProxy } from "./support/tcpProxy.js"

let server: RedisServer
let proxy: TcpProxy
beforeAll(async () => {
  server = await startRedisServer()
  proxy = await startTcpProxy({ port: server.port })
})
afterAll(async () => {
  await proxy?.close()
  await server?.stop()
})

/**
 * Runs a test on a limiter reaching Redis through the proxy; the proxy forwards again before
 * the layer closes (node-redis's close waits for the replies of what it sent).
 */
const through =
  (options: RateLimiterRedis.RedisOptions) =>
  <A, E>(self: Effect.Effect<A, E, RateLimiter.RateLimiter>) =>
    Effect.ensuring(
      self,
      Effect.sync(() => proxy.pass())
    ).pipe(
      Effect.provide(
        RateLimiterRedis.layer(options).pipe(
          Layer.provide(Layer.suspend(() => NodeRedis.layer({ url: proxy.url, disableOfflineQueue: true })))
        )
      )
    )

/** How many EVALSHA commands Redis has run since the last `CONFIG RESETSTAT`. */
const evalshaCalls = Effect.promise(async () => {
  const stats = await server.command("INFO", "commandstats")
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0)
})

/** The store's pending-command gauge for `prefix`, or undefined when it is not registered. */
const pendingOf = (prefix: string) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const state = snapshots.find((s) => s.id === "foundation.rate_limiter.store_pending" && s.attributes?.prefix === prefix)?.state as
      | { readonly value: number }
      | undefined
    return state?.value
  })

const timedCheck = (rule: string, key: string) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter.RateLimiter
    const started = Date.now()
    const result = yield* Effect.result(limiter.check(rule, key))
    return { result, started, elapsed: Date.now() - started }
  })

describe("RateLimiterRedis.layer outage regressions (issue 12)", () => {
  it.live(
    "a hung Redis is not sent more than maxPending commands, and the pending count returns to zero",
    () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter.RateLimiter
        expect(Result.isSuccess(yield* Effect.result(limiter.check("open", "warm")))).toBe(true)
        yield* Effect.promise(() => server.command("CONFIG", "RESETSTAT"))
        proxy.hold()
        // 1.2 s of traffic, 100 concurrent decisions every 10 ms: all admitted by failOpen, at once
        const deadline = Date.now() + 1_200
        let slowest = 0
        let maxPending = 0
        while (Date.now() < deadline) {
          const batch = yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => timedCheck("open", `k${i}`),
            { concurrency: "unbounded" }
          )
          for (const call of batch) {
            expect(Result.isSuccess(call.result)).toBe(true)
            slowest = Math.max(slowest, call.elapsed)
          }
          maxPending = Math.max(maxPending, (yield* pendingOf("hung")) ?? Infinity)
          yield* Effect.sleep("10 millis")
        }
        expect(slowest).toBeLessThan(100 + 500)
        proxy.pass()
        // what was held reaches Redis now: at most maxPending commands, plus none while it was down
        yield* Effect.sleep("300 millis")
        expect(yield* evalshaCalls).toBeLessThanOrEqual(20)
        expect(maxPending).toBeLessThanOrEqual(20)
        expect(yield* pendingOf("hung")).toBe(0)
      }).pipe(
        through({
          prefix: "hung:",
          commandTimeout: 100,
          recheckAfter: "200 millis",
          maxPending: 20,
          rules: { open: { algorithm: "token-bucket", limit: 1_000_000, window: "1 minute", onRedisError: "failOpen" } }
        })
      ),
    20_000
  )

  it.live(
    "after a timeout, decisions skip Redis for recheckAfter counted from the timeout, not from the call",
    () =>
      Effect.gen(function* () {
        expect(Result.isSuccess((yield* timedCheck("open", "k")).result)).toBe(true)
        // replies now take about 400 ms, past the 300 ms timeout: the late reply arrives within the window
        proxy.delay(200)
        const first = yield* timedCheck("open", "k")
        expect(first.elapsed).toBeGreaterThanOrEqual(290)
        const failedAt = first.started + first.elapsed
        let recheck: number | undefined
        while (recheck === undefined && Date.now() < failedAt + 1_500) {
          const call = yield* timedCheck("open", "k")
          if (call.elapsed >= 250) recheck = call.started
          else yield* Effect.sleep("10 millis")
        }
        proxy.pass()
        expect(recheck).toBeDefined()
        expect(recheck! - failedAt).toBeGreaterThanOrEqual(550)
      }).pipe(
        through({
          prefix: "window:",
          commandTimeout: 300,
          recheckAfter: "600 millis",
          rules: { open: { algorithm: "token-bucket", limit: 1_000_000, window: "1 minute", onRedisError: "failOpen" } }
        })
      ),
    20_000
  )

  it.live(
    "after the window one decision rechecks Redis; the ones arriving meanwhile follow the policy at once",
    () =>
      Effect.gen(function* () {
        expect(Result.isSuccess((yield* timedCheck("open", "k")).result)).toBe(true)
        // replies take about 400 ms, past the 150 ms timeout, and arrive before the window ends
        proxy.delay(200)
        expect((yield* timedCheck("open", "k")).elapsed).toBeGreaterThanOrEqual(140)
        yield* Effect.sleep("400 millis")
        const batch = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => timedCheck("open", `b${i}`),
          { concurrency: "unbounded" }
        )
        proxy.pass()
        expect(batch.every((call) => Result.isSuccess(call.result))).toBe(true)
        expect(batch.filter((call) => call.elapsed >= 140).length).toBe(1)
      }).pipe(
        through({
          prefix: "recheck:",
          commandTimeout: 150,
          recheckAfter: "300 millis",
          rules: { open: { algorithm: "token-bucket", limit: 1_000_000, window: "1 minute", onRedisError: "failOpen" } }
        })
      ),
    20_000
  )

  it.effect("the skip window is counted on the Clock from the failure: a 1 s failure does not eat a 1 s window", () =>
    Effect.gen(function* () {
      const testClock = yield* TestClock.testClockWith(Effect.succeed)
      let sends = 0
      // each command takes 1 s of Clock time, then fails
      const redis = {
        send: () =>
          Effect.andThen(
            Effect.andThen(
              Effect.sync(() => sends++),
              testClock.adjust("1 second")
            ),
            Effect.fail(new Redis.RedisError({ cause: new Error("down") }))
          )
      } as unknown as Redis.Redis["Service"]
      const limiter = yield* RateLimiterRedis.make(
        {
          commandTimeout: "1 minute",
          recheckAfter: "1 second",
          rules: { open: { algorithm: "gcra", limit: 10, window: "1 second", onRedisError: "failOpen" } }
        },
        "caller"
      ).pipe(Effect.provideService(Redis.Redis, redis))
      yield* limiter.check("open", "k")
      expect(sends).toBe(1)
      // 1 s after the call started, but only just after it failed: Redis is not asked
      yield* limiter.check("open", "k")
      yield* TestClock.adjust("999 millis")
      yield* limiter.check("open", "k")
      expect(sends).toBe(1)
      yield* TestClock.adjust("1 millis")
      yield* limiter.check("open", "k")
      expect(sends).toBe(2)
    }).pipe(Effect.scoped)
  )

  it.live("Protection builds while Redis hangs at start-up: a profile's failOpen rule is known without a store call", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const client = yield* Layer.buildWithScope(NodeRedis.layer({ url: proxy.url, disableOfflineQueue: true }), scope)
      proxy.hold()
      const started = Date.now()
      const context = yield* Layer.buildWithScope(
        Protection.layer({ profiles: { checkout: { rateLimit: { rule: "api" } } } }).pipe(
          Layer.provideMerge(
            RateLimiterRedis.layer({
              prefix: "startup",
              commandTimeout: 200,
              rules: { api: { algorithm: "gcra", limit: 10, window: "1 second", onRedisError: "failOpen" } }
            })
          ),
          Layer.provide(Layer.succeedContext(client))
        ),
        scope
      )
      // building asked Redis nothing: no wait for the command timeout
      expect(Date.now() - started).toBeLessThan(200)
      expect(Context.get(context, RateLimiter.RateLimiter).names).toEqual(["api"])
      const infrastructure = Context.get(context, Protection.Protection)
      // and the rule does what it says while Redis hangs: admits
      expect(yield* infrastructure.execute("checkout", Effect.succeed("ok"), { key: "k" })).toBe("ok")
      expect((yield* Effect.flip(infrastructure.configure("search", { rateLimit: { rule: "nope" } }))).path).toBe(
        "protections.search.rateLimit.rule"
      )
    }).pipe(Effect.ensuring(Effect.sync(() => proxy.pass())), Effect.scoped)
  )

  const rules = { api: { algorithm: "gcra", limit: 10, window: "1 second" } } as const
  it.effect.each([
    ["commandTimeout", { rules, commandTimeout: "30 days" }],
    ["recheckAfter", { rules, recheckAfter: "30 days" }],
    ["commandTimeout", { rules, commandTimeout: 2 ** 31 }]
  ] as const)("rejects %s past the longest timer Node can arm", ([path, options]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(
          RateLimiterRedis.layer(options as RateLimiterRedis.RedisOptions).pipe(
            Layer.provide(Layer.suspend(() => NodeRedis.layer({ url: proxy.url, disableOfflineQueue: true })))
          )
        )
      ) as Effect.Effect<InvalidConfig>
      expect(error._tag).toBe("InvalidConfig")
      expect(error.path).toBe(path)
      expect(error.message).toContain("2147483647")
    })
  )
})
