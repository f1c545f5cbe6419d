/**
 * The Redis store's policies beyond one rule and one key, against a real redis-server and
 * deciding on the caller's `TestClock` time (as the shared vectors do): limit 0 (deny all),
 * penalty, reward and block (the shared scenarios), several rules at once in one script call,
 * inline rules and rules changed at run time. Each test names the rate-limiter-flexible
 * scenario it translates where there is one.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { afterAll, beforeAll, describe } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RateLimiterRedis from "../src/RateLimiterRedis.js"
import { algorithms, policyScenarios } from "./internal/rateLimiter/policyScenarios.js"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server?.stop()
})

let prefixes = 0
const redisLayer = Layer.suspend(() => NodeRedis.layer({ url: server.url, disableOfflineQueue: true }))

const withRules = (rules: Record<string, RateLimiterRedis.RedisRateRule>) =>
  Effect.provide(
    Layer.effect(
      RateLimiter.RateLimiter,
      RateLimiterRedis.make({ prefix: `pol${process.pid}-${prefixes++}`, onRedisError: "failClosed", rules }, "caller")
    ).pipe(Layer.provide(redisLayer))
  )

describe("RateLimiterRedis policies", () => {
  describe.each(algorithms)("%s", (algorithm) => {
    policyScenarios(algorithm, withRules)
  })
})
