/**
 * The configuration file's `redis` section as layers: the rate limiter and the circuit breakers
 * on one Redis client (`RateLimiterRedis.layerClient`'s settings), with the rules and policies
 * of their own sections and the stores' options of `redis.rateLimiter` / `redis.circuitBreaker`.
 * The Redis modules load `redis` and `@effect/platform-node` only when these layers are built.
 */
import { Layer } from "effect"
import type { Redis as RedisService } from "effect/persistence"
import type * as CircuitBreaker from "../../CircuitBreaker.js"
import * as CircuitBreakerRedis from "../../CircuitBreakerRedis.js"
import type * as Config from "../../Config.js"
import type { InvalidConfig } from "../../Errors.js"
import type * as RateLimiter from "../../RateLimiter.js"
import * as RateLimiterRedis from "../../RateLimiterRedis.js"

export type SharedStoreError = InvalidConfig | RedisService.RedisError

export const sharedStores = (
  redis: NonNullable<Config.FoundationConfig["redis"]>,
  rules: RateLimiter.Options["rules"],
  breakerOptions: CircuitBreaker.Options
): {
  readonly limiter: Layer.Layer<RateLimiter.RateLimiter, SharedStoreError>
  readonly breakers: Layer.Layer<CircuitBreaker.CircuitBreaker, SharedStoreError>
} => {
  // one layer value: built once per Foundation, so both stores share the connection
  const client = RateLimiterRedis.layerClient({ url: redis.url })
  return {
    limiter: RateLimiterRedis.layer({ ...redis.rateLimiter, rules }).pipe(Layer.provide(client)),
    breakers: CircuitBreakerRedis.layer({ ...breakerOptions, ...redis.circuitBreaker }).pipe(Layer.provide(client))
  }
}
