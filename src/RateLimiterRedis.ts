/**
 * The Redis store of the rate limiter: the same `RateLimiter` service, rules and algorithms as
 * the memory store, with the counters in Redis so every process and host shares one limit.
 *
 * Loading this module does not load `redis` or `@effect/platform-node`: they are imported
 * when a layer is built (both are optional for an application that keeps its limits in
 * memory).
 *
 * **When to use**
 *
 * When a service runs as several processes or hosts: with the memory store each process has
 * its own allowance, so N processes admit N times the limit.
 *
 * **Details**
 *
 * - Each decision is one atomic round trip: a Lua script (loaded once with `SCRIPT LOAD`,
 *   called by SHA, reloaded after `NOSCRIPT`) running the memory store's algorithms line by
 *   line, with Redis's `TIME` as the clock, so hosts with skewed clocks agree.
 * - Keys are `<prefix>:<rule>:<key>`, with a TTL equal to the time until the key is back to a
 *   fresh state: idle keys vanish by themselves.
 * - Redis down, unreachable or slower than `commandTimeout` (default 500 ms): the rule's
 *   `onRedisError` decides. `"failOpen"` (default) admits and reports (a warning log per
 *   outage, the `foundation.rate_limiter.store_fallbacks` counter); `"failClosed"` fails with
 *   `StoreUnavailable` (not `RateLimited`); `{ policy, insurance: 0.25 }` lets a local
 *   in-memory limiter with 25% of the limit decide meanwhile. After a failure Redis is not
 *   asked again for `recheckAfter` (default 1 second, counted from the failure), then one
 *   decision rechecks it while the others keep following the policy: an outage costs one
 *   timeout per interval, not one per call, and sends Redis nothing meanwhile. Recovery is
 *   automatic.
 * - At most `maxPending` (default 1,000) commands are sent and unanswered at once; past that,
 *   decisions follow the policy at once without writing. A command that timed out still waits
 *   in the client for Redis's reply; while any does, a Redis known to be down is not written
 *   to (it answers one connection in order, so a newer command could not be answered first).
 *   The count is the `foundation.rate_limiter.store_pending` gauge.
 *
 * **Gotchas**
 *
 * - Give the Redis client `disableOfflineQueue: true` (see the example): otherwise node-redis
 *   queues commands while disconnected, and they run, using allowance, when it reconnects.
 * - A Redis that hangs with its socket open (frozen process, lost peer) is only detected by
 *   the client: give it `socket.socketTimeout` and `pingInterval`, with a `reconnectStrategy`
 *   that reconnects after a socket timeout (docs/distributed.md, "Client settings").
 * - An interrupted `"delay"` waiter keeps its slot (the memory store hands it back): the
 *   Redis store never over-admits but may under-admit after interruptions.
 * - `maxKeys` is not used for Redis state (TTLs bound it); it bounds the insurance table.
 *
 * **Example** (Sharing a limit through Redis)
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { RateLimiter, RateLimiterRedis } from "effect-foundation"
 *
 * const Limits = RateLimiterRedis.layer({
 *   rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute", onRedisError: "failClosed" } }
 * }).pipe(Layer.provide(RateLimiterRedis.layerClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" })))
 * const handle = (ip: string) => Effect.succeed("ok").pipe(RateLimiter.limit("api", ip))
 * // with Redis running: Effect.runPromise(handle("10.0.0.1").pipe(Effect.provide(Limits))) // => "ok"
 * ```
 *
 * @since 0.1.0
 */
import type * as NodeRedis from "@effect/platform-node/NodeRedis"
import type { Scope } from "effect"
import { Effect, Layer } from "effect"
import { Redis } from "effect/persistence"
import type { InvalidConfig } from "./Errors.js"
import { makeRedisStore, RedisRule } from "./internal/rateLimiter/redis/store.js"
import type { FailurePolicy as FailurePolicyInternal } from "./internal/rateLimiter/redis/storePolicy.js"
import {
  OnRedisErrorSchema,
  RedisOptionsSchema,
  RedisRuleSchema,
  resolveRedisRule,
  wholeMillis
} from "./internal/rateLimiter/redis/storePolicy.js"
import { build } from "./internal/rateLimiter/service.js"
import { registerCounter, registerGauge } from "./internal/runtime/observableMetric.js"
import { decode } from "./internal/runtime/options.js"
import type { ClientOptions } from "./internal/runtime/redisClient.js"
import { stripPrefix } from "./internal/runtime/redisOptions.js"
import { clientLayer, nodeRedisClient } from "./internal/runtime/redisClient.js"
import { renamedOption } from "./internal/runtime/redisOptions.js"
import { RedisOutage } from "./internal/runtime/redisOutage.js"
import { RateLimiter } from "./RateLimiter.js"
import * as Telemetry from "./Telemetry.js"

/**
 * `"failOpen"` admits (and reports), `"failClosed"` rejects with `StoreUnavailable`.
 *
 * @since 0.1.0
 * @category models
 */
export type FailurePolicy = FailurePolicyInternal

/**
 * What a rule does while Redis cannot answer: a `FailurePolicy`, or `{ policy, insurance }`
 * where `insurance` (in (0, 1]) is the share of the rule's limit and burst a local in-memory
 * limiter enforces meanwhile (it then decides, and the policy is not consulted).
 *
 * @since 0.1.0
 * @category models
 */
export type OnRedisError = typeof OnRedisErrorSchema.Encoded

/**
 * A rule's Schema for the Redis store: `RateLimiter.RuleSchema`'s fields and checks, plus
 * `onRedisError` (default: the store's `onRedisError`). An invalid rule reads exactly as it
 * does through `RateLimiter.layer`.
 *
 * **Example** (Decoding a rule)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { RateLimiterRedis } from "effect-foundation"
 *
 * const rule = Schema.decodeUnknownSync(RateLimiterRedis.RuleSchema)({
 *   algorithm: "gcra", limit: 5, window: 1000, onRedisError: "failClosed"
 * })
 * // rule.onRedisError => "failClosed"
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const RuleSchema = RedisRuleSchema

/**
 * A rule of the Redis store as written: a `RateLimiter.RateRule` plus `onRedisError`.
 *
 * @since 0.1.0
 * @category models
 */
export type RedisRateRule = typeof RuleSchema.Encoded

/**
 * The options' Schema: the rules (each by `RuleSchema`) and the store's own settings, each
 * with its constraint and default. `layer` decodes through it; an unknown key fails with its
 * path and the nearest option's name.
 *
 * **Example** (The defaults)
 *
 * ```ts
 * import { Duration, Schema } from "effect"
 * import { RateLimiterRedis } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(RateLimiterRedis.OptionsSchema)({ rules: {} })
 * // Duration.toMillis(options.commandTimeout) => 500, options.maxPending => 1000
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionsSchema = RedisOptionsSchema

/**
 * Options of `layer` (`OptionsSchema`'s encoded form).
 *
 * - `prefix` (default `"effect-foundation:rl"`): keys are `<prefix>:<rule>:<key>` (one
 *   trailing `:` is ignored, so `"shop:"` names the same keys as `"shop"`).
 * - `onRedisError` (default `"failOpen"`) applies to rules without their own.
 * - `commandTimeout` (default 500 ms): the longest one decision waits for Redis. Tighter than
 *   the shared breaker's (1 s) because every limited call waits for it, on the request path;
 *   the breaker's commands happen once per transition or probe.
 * - `recheckAfter` (default 1 second): after a failure, how long decisions skip Redis,
 *   counted from the failure (the error or the timeout).
 * - `maxPending` (default 1,000): the most commands sent to Redis and not answered yet; a
 *   decision past it follows the rule's `onRedisError` at once, without writing.
 *
 * `commandTimeout` and `recheckAfter` are at most 2,147,483,647 ms (about 24.8 days, the longest
 * timer Node can arm).
 *
 * **Example** (A tighter bound on what may wait for Redis)
 *
 * ```ts
 * import { RateLimiterRedis } from "effect-foundation"
 *
 * const Limits = RateLimiterRedis.layer({
 *   commandTimeout: "100 millis",
 *   recheckAfter: "2 seconds",
 *   maxPending: 200,
 *   rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type RedisOptions = typeof OptionsSchema.Encoded

/**
 * The rate limiter with its state in Redis; needs effect's `Redis` service (`layerClient`,
 * or `NodeRedis.layer` from `@effect/platform-node`, or any other implementation). The options
 * are decoded by `OptionsSchema`: invalid ones fail the layer with `InvalidConfig` listing
 * every violation as `path: message`, its `path` the first one's, e.g.
 * `rules.api.onRedisError.insurance`; the former `timeout` option fails it too (renamed to
 * `commandTimeout`).
 *
 * **Example** (Failing closed for logins, with insurance for the API)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { RateLimiterRedis } from "effect-foundation"
 *
 * const Limits = RateLimiterRedis.layer({
 *   prefix: "shop",
 *   rules: {
 *     api: { algorithm: "token-bucket", limit: 100, window: "1 minute", onRedisError: { policy: "failOpen", insurance: 0.25 } },
 *     login: { algorithm: "sliding-window", limit: 5, window: "15 minutes", onRedisError: "failClosed" }
 *   }
 * }).pipe(Layer.provide(RateLimiterRedis.layerClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RedisOptions): Layer.Layer<RateLimiter, InvalidConfig, Redis.Redis> =>
  Layer.effect(RateLimiter, make(options, "redis"))

/**
 * The former name of `layer` (and of `RateLimiter.layerRedis`).
 *
 * @deprecated Use `RateLimiterRedis.layer`.
 * @since 0.1.0
 * @category layers
 */
export const layerRedis: (options: RedisOptions) => Layer.Layer<RateLimiter, InvalidConfig, Redis.Redis> = layer

/**
 * Options of `layerClient`: node-redis client options, as `NodeRedis.layer` takes them.
 *
 * @since 0.1.0
 * @category models
 */
export type { ClientOptions } from "./internal/runtime/redisClient.js"

/**
 * `NodeRedis.layer` (`Redis` and `NodeRedis`) with settings under which a Redis that stops
 * answering is noticed and left, instead of holding commands forever. Your own values win.
 * It serves both Redis stores: `RateLimiterRedis.layer` and `CircuitBreakerRedis.layer` (one
 * client can serve both). `@effect/platform-node` and `redis` are loaded when it is built.
 *
 * - `disableOfflineQueue: true`: while disconnected commands fail at once, instead of waiting
 *   and running (using allowance) after reconnection.
 * - `socket.socketTimeout` (default 3 s): a connection silent for that long (no reply, no
 *   PONG) is closed, which fails its pending commands and reconnects. This is what detects a
 *   frozen server or a peer lost without a reset; TCP keepalive alone takes minutes or never
 *   fires (a frozen process's kernel still answers it).
 * - `pingInterval` (default 1 s, below `socketTimeout`): an idle, healthy connection gets a
 *   PONG often enough not to time out.
 * - `socket.reconnectStrategy`: exponential backoff (50 ms doubling, at most 2 s, plus up to
 *   200 ms of jitter) for every cause, socket timeouts included; `NodeRedis.layer`'s own
 *   strategy stops reconnecting after a socket timeout, which would leave the client closed
 *   for good. As with `NodeRedis.layer`, the first connection fails the layer at once.
 * - Closing waits for pending replies at most `socketTimeout`, then destroys the client:
 *   `NodeRedis.layer`'s close waits for every pending reply, forever when Redis hangs.
 *
 * **Gotchas**
 *
 * - The store stops writing to a Redis known to be down while commands are still unanswered,
 *   so the socket goes silent and `socketTimeout` fires: keep `socketTimeout` shorter than the
 *   outages you want recovered from by reconnecting rather than by waiting for Redis.
 * - `pingInterval` must be below `socketTimeout`, and `socketTimeout` above 0 and at most
 *   2,147,483,647 ms, or the layer fails with `InvalidConfig`.
 *
 * **Example** (The store's Redis client)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { CircuitBreakerRedis, RateLimiterRedis } from "effect-foundation"
 *
 * const Client = RateLimiterRedis.layerClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", socket: { socketTimeout: 5_000 } })
 * const Shared = Layer.mergeAll(
 *   RateLimiterRedis.layer({ rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } } }),
 *   CircuitBreakerRedis.layer({ breakers: { payments: {} } })
 * ).pipe(Layer.provide(Client))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient: (options?: ClientOptions) => Layer.Layer<Redis.Redis | NodeRedis.NodeRedis, Redis.RedisError | InvalidConfig> =
  clientLayer

// ---------------------------------------------------------------------------------------------

/**
 * Builds the service. `clockSource` is `"redis"` in production; the shared test vectors use
 * `"caller"` so Redis decides on `TestClock` time, exactly like the memory store.
 * @internal
 */
export const make = (
  options: RedisOptions,
  clockSource: "redis" | "caller"
): Effect.Effect<RateLimiter["Service"], InvalidConfig, Redis.Redis | Scope.Scope> =>
  Effect.gen(function* () {
    const renamed = typeof options === "object" && options !== null ? renamedOption(options, "timeout", "commandTimeout") : undefined
    if (renamed !== undefined) return yield* renamed
    const decoded = yield* decode(OptionsSchema, options)
    const prefix = stripPrefix(decoded.prefix)
    const commandTimeout = wholeMillis(decoded.commandTimeout)
    const recheck = wholeMillis(decoded.recheckAfter)
    const maxPending = decoded.maxPending
    const rules = new Map<string, RedisRule>()
    for (const [name, rule] of Object.entries(decoded.rules)) {
      rules.set(name, new RedisRule(name, prefix, resolveRedisRule(name, rule, decoded.onRedisError)))
    }
    const redis = yield* Redis.Redis
    const client = yield* nodeRedisClient
    const outage = new RedisOutage(recheck, maxPending, {
      down: (reason) => `RateLimiter: Redis unavailable (${reason}); rules follow onRedisError`,
      up: "RateLimiter: Redis answers again, decisions are shared again"
    })
    const context = yield* Effect.context<never>()
    const removals: Array<() => void> = []
    removals.push(
      registerGauge(
        context,
        STORE_PENDING,
        "commands sent to Redis and not answered yet (timed-out ones included until Redis answers or the socket closes)",
        { prefix },
        () => outage.count
      )
    )
    for (const [name, rule] of rules) {
      removals.push(
        registerCounter(
          context,
          STORE_FALLBACKS,
          "decisions made without Redis (unavailable or too slow), by the rule's policy",
          { rule: name, policy: rule.insurance === undefined ? rule.policy : "insurance" },
          () => rule.fallbacks
        )
      )
    }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const remove of removals) remove()
      })
    )
    return yield* build(
      makeRedisStore(redis, client, rules, outage, { commandTimeout, clockSource, prefix, onRedisError: decoded.onRedisError })
    )
  })

/** Counter of decisions taken by a failure policy. */
const STORE_FALLBACKS = Telemetry.metrics.rateLimiterStoreFallbacks

/** Gauge {prefix} of the store's commands sent and not answered yet. */
const STORE_PENDING = "foundation.rate_limiter.store_pending"
