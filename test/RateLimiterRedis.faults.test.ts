/**
 * Faults: Redis stopped mid-run and restarted, and Redis too slow to answer. Each rule's
 * policy is honoured, no call hangs, and decisions go back to Redis by themselves.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { Redis } from "effect/persistence"
import { RateLimited, StoreUnavailable } from "../src/Errors.js"
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

const TIMEOUT = 150

const options = (prefix: string): RateLimiterRedis.RedisOptions => ({
  prefix,
  commandTimeout: TIMEOUT,
  recheckAfter: "200 millis",
  rules: {
    open: { algorithm: "token-bucket", limit: 100, window: "1 minute", onRedisError: "failOpen" },
    closed: { algorithm: "sliding-window", limit: 100, window: "1 minute", onRedisError: "failClosed" },
    insured: {
      algorithm: "fixed-window",
      limit: 4,
      window: "1 minute",
      onRedisError: { policy: "failClosed", insurance: 0.5 }
    }
  }
})

/** A check that must answer within the timeout plus scheduling slack, whatever Redis does. */
const timedCheck = (rule: string, key: string) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter.RateLimiter
    const started = Date.now()
    const result = yield* Effect.result(limiter.check(rule, key))
    const elapsed = Date.now() - started
    expect(elapsed).toBeLessThan(TIMEOUT + 1_500)
    return result
  })

const failureOf = (result: Result.Result<unknown, unknown>): unknown => (Result.isFailure(result) ? result.failure : undefined)

/** Polls until `rule` is decided by Redis again (a failClosed rule succeeds), or fails after 15 s. */
const awaitRecovery = Effect.gen(function* () {
  const deadline = Date.now() + 15_000
  for (;;) {
    const result = yield* timedCheck("closed", "recovery")
    if (Result.isSuccess(result)) return
    if (Date.now() > deadline) throw new Error(`no recovery: ${String(failureOf(result))}`)
    yield* Effect.sleep("100 millis")
  }
})

describe("RateLimiterRedis.layer under faults", () => {
  // node-redis's default offline queue: commands issued while disconnected wait for the
  // connection, so only the command timeout keeps callers from hanging
  // "generic": only effect's Redis service (no NodeRedis in the context), the path any other
  // Redis implementation takes
  for (const [disableOfflineQueue, generic] of [
    [false, false],
    [true, false],
    [false, true]
  ] as const) {
    it.live(
      `Redis stopped mid-run: failOpen admits, failClosed fails StoreUnavailable, insurance decides locally; recovery is automatic (disableOfflineQueue: ${disableOfflineQueue}${generic ? ", generic Redis service" : ""})`,
      () =>
        Effect.gen(function* () {
          const limiter = yield* RateLimiter.RateLimiter
          for (const rule of ["open", "closed", "insured"]) {
            expect(Result.isSuccess(yield* timedCheck(rule, "k"))).toBe(true)
          }
          yield* Effect.promise(() => server.stop())

          // several rounds, spanning more than recheckAfter, so Redis is asked again meanwhile
          for (let round = 0; round < 3; round++) {
            expect(Result.isSuccess(yield* timedCheck("open", "k"))).toBe(true)
            const closed = failureOf(yield* timedCheck("closed", "k"))
            expect(closed).toBeInstanceOf(StoreUnavailable)
            expect(closed).not.toBeInstanceOf(RateLimited)
            expect((closed as StoreUnavailable).message).toContain("Redis is unavailable")
            yield* Effect.sleep("120 millis")
          }
          // insurance: the local limiter has half the limit (2 of 4), whatever Redis had counted
          const insured = []
          for (let i = 0; i < 3; i++) insured.push(yield* timedCheck("insured", "k"))
          expect(insured.map((r) => r._tag)).toEqual(["Success", "Success", "Failure"])
          expect(failureOf(insured[2]!)).toBeInstanceOf(RateLimited)
          // status and reset say the store is unavailable rather than guessing
          expect(yield* Effect.flip(limiter.status("closed", "k"))).toBeInstanceOf(StoreUnavailable)

          yield* Effect.promise(() => server.restart())
          yield* awaitRecovery
          // back on Redis: a fresh server, so the insured rule has its whole limit again
          const shared = []
          for (let i = 0; i < 5; i++) shared.push((yield* timedCheck("insured", "after"))._tag)
          expect(shared).toEqual(["Success", "Success", "Success", "Success", "Failure"])
        }).pipe(
          Effect.provide(
            RateLimiterRedis.layer(options(`stop${Number(disableOfflineQueue)}${Number(generic)}:`)).pipe(
              Layer.provide(
                generic
                  ? Layer.effect(Redis.Redis, Effect.service(Redis.Redis)).pipe(
                      Layer.provide(Layer.suspend(() => NodeRedis.layer({ url: server.url, disableOfflineQueue })))
                    )
                  : Layer.suspend(() => NodeRedis.layer({ url: server.url, disableOfflineQueue }))
              )
            )
          )
        ),
      40_000
    )
  }

  it.live(
    "Redis too slow (CLIENT PAUSE): each call gives up after the timeout and follows its policy",
    () =>
      Effect.gen(function* () {
        expect(Result.isSuccess(yield* timedCheck("closed", "slow"))).toBe(true)
        yield* Effect.promise(() => server.command("CLIENT", "PAUSE", "1500", "ALL"))
        const started = Date.now()
        expect(Result.isSuccess(yield* timedCheck("open", "slow"))).toBe(true)
        expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT - 5)
        // within recheckAfter Redis is not asked again: no second timeout to wait for
        const quick = Date.now()
        expect(failureOf(yield* timedCheck("closed", "slow"))).toBeInstanceOf(StoreUnavailable)
        expect(Date.now() - quick).toBeLessThan(TIMEOUT)
        yield* awaitRecovery
      }).pipe(
        Effect.provide(
          RateLimiterRedis.layer(options("slow:")).pipe(Layer.provide(Layer.suspend(() => NodeRedis.layer({ url: server.url }))))
        )
      ),
    30_000
  )
})
