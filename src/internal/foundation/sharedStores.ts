/**
 * The configuration file's `redis` section as layers: the rate limiter and the circuit breakers
 * on one Redis client (`RateLimiterRedis.layerClient`'s settings), with the rules and policies
 * of their own sections and the stores' options of `redis.rateLimiter` / `redis.circuitBreaker`.
 * The Redis modules load `redis` and `@effect/platform-node` only when these layers are built.
 */
import { Effect, Layer } from "effect"
import type { Redis as RedisService } from "effect/persistence"
import type * as CircuitBreaker from "../../CircuitBreaker.js"
import * as CircuitBreakerRedis from "../../CircuitBreakerRedis.js"
import type * as Config from "../../Config.js"
import { InvalidConfig } from "../../Errors.js"
import type * as RateLimiter from "../../RateLimiter.js"
import * as RateLimiterRedis from "../../RateLimiterRedis.js"

export type SharedStoreError = InvalidConfig | RedisService.RedisError

export const sharedStores = (
  redis: NonNullable<Config.FoundationConfig["redis"]>,
  rules: RateLimiter.Options["rules"],
  breakerOptions: CircuitBreaker.Options,
  /** which stores `Foundation` was also given a builder for: the section would be ignored for them */
  built: { readonly rateLimiter: boolean; readonly circuitBreaker: boolean }
): {
  readonly limiter: Layer.Layer<RateLimiter.RateLimiter, SharedStoreError>
  readonly breakers: Layer.Layer<CircuitBreaker.CircuitBreaker, SharedStoreError>
} => {
  // one layer value: built once per Foundation, so both stores share the connection
  const client = RateLimiterRedis.layerClient({ url: redis.url })
  return {
    limiter: built.rateLimiter
      ? twice<RateLimiter.RateLimiter>("rateLimiter")
      : RateLimiterRedis.layer({ ...redis.rateLimiter, rules }).pipe(Layer.provide(client)),
    breakers: built.circuitBreaker
      ? twice<CircuitBreaker.CircuitBreaker>("circuitBreaker")
      : CircuitBreakerRedis.layer({ ...breakerOptions, ...redis.circuitBreaker }).pipe(Layer.provide(client))
  }
}

// a store configured both by the section and by a builder: one of them would be ignored
const twice = <S>(store: "rateLimiter" | "circuitBreaker"): Layer.Layer<S, InvalidConfig> => {
  const error = new InvalidConfig({
    path: "redis",
    message: `Foundation was also given a ${store} builder: configure that store in one place, the redis section or the builder`
  })
  // a layer that never builds: its service type is whichever store it stands in for
  return Layer.unwrap(Effect.fail(error) as Effect.Effect<Layer.Layer<S>, InvalidConfig>)
}
