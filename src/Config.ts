/**
 * One Schema for the whole configuration of effect-foundation: circuit breakers, rate limits,
 * pools' sizes, the memory manager, health, and named protection profiles.
 *
 * **Details**
 *
 * Durations accept a string (`"30 seconds"`) or milliseconds (`250`). Decoding checks types,
 * ranges and cross references (a profile naming a breaker, rule or pool that is not
 * configured); every failure becomes `InvalidConfig` whose `path` names where, e.g.
 * `protections.checkout.circuitBreaker`. The services validate their own options again when
 * built (`CircuitBreaker.layer` and friends), so both entry points are safe.
 *
 * **Example** (Decoding a configuration)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Config } from "effect-foundation"
 *
 * const config = Config.decode({
 *   circuitBreaker: { breakers: { payments: { failureThreshold: 5, resetTimeout: "30 seconds" } } },
 *   rateLimiter: { rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } } },
 *   protections: { checkout: { rateLimit: { rule: "api" }, circuitBreaker: "payments", timeout: 2000 } }
 * })
 * // Effect<FoundationConfig, InvalidConfig>
 * ```
 *
 * @since 0.1.0
 */
import { type Effect, Schema } from "effect"
import { InvalidConfig } from "./Errors.js"
import { OptionsSchema as BulkheadOptions } from "./internal/bulkhead/options.js"
import { OptionsSchema as CircuitBreakerOptions } from "./internal/circuitBreaker/options.js"
import { PolicySchema } from "./internal/circuitBreaker/policy.js"
import { MemoryOptions } from "./internal/memory/config.js"
import { OptionsSchema as RateLimiterOptions, RuleSchema } from "./internal/rateLimiter/config.js"
import { AggregatorOptions, HttpOptions } from "./internal/health/options.js"
import { MonitorOptions } from "./internal/performance/config.js"
import { OptionsSchema as PoolOptions } from "./internal/pool/config.js"
import { SharedOptions } from "./internal/circuitBreaker/redis/options.js"
import { RedisStoreOptionsSchema } from "./internal/rateLimiter/redis/storePolicy.js"
import { dangling } from "./internal/protection/references.js"
import { decode as decodeOptions, invalidConfig, violationsOf } from "./internal/runtime/options.js"
import * as Schemas from "./internal/runtime/schemas.js"
import { MAX_TIMER_MILLIS } from "./internal/runtime/validate.js"

/**
 * A duration: a `Duration`, a string effect can parse (`"5 seconds"`) or milliseconds; positive
 * and finite. The building block every module's Schema uses.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DurationInput = Schemas.DurationInput

/**
 * A duration that arms a timer (a timeout, an interval): like `DurationInput`, and at most
 * 2^31 - 1 milliseconds (about 24.8 days), the longest a Node timer can wait. A longer one
 * would fire after 1 ms, so it is rejected rather than clamped.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TimerDurationInput = Schemas.TimerDuration

/**
 * The longest duration `TimerDurationInput` accepts, in milliseconds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const maxTimerMillis: number = MAX_TIMER_MILLIS

const PositiveInt = Schemas.PositiveInt
const optional = Schema.optionalKey

/**
 * A circuit breaker policy: exactly `CircuitBreaker.PolicySchema` (`isFailure` is code, not
 * configuration, so it is not in it).
 *
 * @since 0.1.0
 * @category schemas
 */
export const BreakerPolicy = PolicySchema

/**
 * The circuit breakers' options: exactly `CircuitBreaker.OptionsSchema` (`defaults`,
 * `breakers`, `maxBreakers`), so the `circuitBreaker` section takes the same names,
 * constraints and defaults as `CircuitBreaker.layer`, and a mistake reads the same.
 *
 * @since 0.2.0
 * @category schemas
 */
export const CircuitBreaker = CircuitBreakerOptions

/**
 * The rate limiter's options: exactly `RateLimiter.OptionsSchema` (`{ rules }`, each rule by
 * `RateLimiter.RuleSchema`), so the `rateLimiter` section takes the same names, constraints
 * and defaults as `RateLimiter.layer`, and a mistake reads the same.
 *
 * @since 0.2.0
 * @category schemas
 */
export const RateLimiter = RateLimiterOptions

/**
 * A rate limit rule: exactly `RateLimiter.RuleSchema`.
 *
 * @deprecated Use `RateLimiter.RuleSchema` (or `Config.RateLimiter` for the whole section).
 * @since 0.1.0
 * @category schemas
 */
export const RateRule = RuleSchema

/**
 * A pool's sizes and timings: exactly `Pool.OptionsSchema` (every option but the code part,
 * `lifetimeJitter` and `name` included), so a `pools.<name>` section takes the same names,
 * constraints and defaults as `Pool.layer`, and a mistake reads the same. The `acquire`,
 * `release` and `validate` effects are code: pass them to `Pool.layer` along with
 * `Foundation.poolOptions(config, name)`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PoolSizing = PoolOptions

/**
 * The memory manager's options: exactly `MemoryManager.OptionsSchema`, so the `memory` section
 * takes the same names, constraints and defaults as `MemoryManager.layer`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Memory = MemoryOptions

/**
 * The performance monitor's options: exactly `PerformanceMonitor.OptionsSchema`, so the
 * `performance` section takes the same names, constraints and defaults as
 * `PerformanceMonitor.layer` (`window`, `slots`, `maxOperations`, `minSamples`, `baseline`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const Performance = MonitorOptions

/**
 * The bulkheads' limits: exactly `Bulkhead.OptionsSchema` (`{ limits }`, each by
 * `Bulkhead.LimitsSchema`), so the `bulkhead` section takes the same names, constraints and
 * defaults as `Bulkhead.layer`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Bulkhead = BulkheadOptions

/**
 * Limits and breaker state shared through Redis: with this section `Foundation` builds the
 * rate limiter as `RateLimiterRedis.layer` and the breakers as `CircuitBreakerRedis.layer`, both
 * on one client for `url` (`RateLimiterRedis.layerClient`'s settings). `rateLimiter` holds the
 * Redis store's own options (`prefix`, `onRedisError` for every rule, `commandTimeout`,
 * `recheckAfter`, `maxPending`), `circuitBreaker` the shared breakers' (`prefix`,
 * `commandTimeout`); the rules and policies stay in their own sections.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Redis = Schema.Struct({
  url: Schema.NonEmptyString,
  rateLimiter: optional(RedisStoreOptionsSchema),
  circuitBreaker: optional(SharedOptions)
})

/**
 * The health aggregator's options and, under `http`, its HTTP endpoint's: composed from
 * `HealthAggregator.OptionsSchema` (`defaultTimeout`, `cacheTtl`) and `HealthHttp.OptionsSchema`
 * (`port`, `host`, `path`, `details`, `requestTimeout`), so the section takes the same names,
 * constraints and defaults as the layers.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Health = Schema.Struct({
  ...AggregatorOptions.fields,
  http: optional(HttpOptions)
})

/**
 * A named protection profile: the stages `Protection.execute(profile, ...)` applies.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Profile = Schema.Struct({
  rateLimit: optional(Schema.Struct({ rule: Schema.NonEmptyString, cost: optional(PositiveInt) })),
  memory: optional(Schema.Boolean),
  circuitBreaker: optional(Schema.NonEmptyString),
  /** a bulkhead of the `bulkhead` section, between the breaker and the pool (@since 0.3.0) */
  bulkhead: optional(Schema.NonEmptyString),
  pool: optional(Schema.NonEmptyString),
  /** the longest wait for the pool's resource, instead of the pool's own `checkoutTimeout` (@since 0.3.0) */
  checkoutTimeout: optional(TimerDurationInput),
  timeout: optional(TimerDurationInput),
  monitor: optional(Schema.Struct({ service: Schema.NonEmptyString, operation: Schema.NonEmptyString })),
  poolTimeoutIsFailure: optional(Schema.Boolean)
}).pipe(
  // both tune the pool stage: without a pool they would be accepted and do nothing
  Schema.check(
    Schema.makeFilter((profile: { readonly pool?: string; readonly checkoutTimeout?: unknown; readonly poolTimeoutIsFailure?: boolean }) =>
      profile.pool !== undefined
        ? undefined
        : (["checkoutTimeout", "poolTimeoutIsFailure"] as const)
            .filter((field) => profile[field] !== undefined)
            .map((field): Schema.FilterIssue => ({ path: [field], issue: `applies to the pool stage: name a pool, or leave ${field} out` }))
    )
  )
)

/**
 * @since 0.1.0
 * @category models
 */
export type Profile = typeof Profile.Type

const references = Schema.makeFilter<{
  readonly circuitBreaker?: { readonly breakers?: Readonly<Record<string, unknown>> | undefined }
  readonly rateLimiter?: { readonly rules: Readonly<Record<string, unknown>> }
  readonly pools?: Readonly<Record<string, unknown>>
  readonly bulkhead?: { readonly limits?: Readonly<Record<string, unknown>> | undefined }
  readonly memory?: unknown
  readonly protections?: Readonly<Record<string, Profile>>
}>((config) => {
  // the same check `Protection.configure` makes against the services: same paths, same messages
  const configured = {
    breakers: Object.keys(config.circuitBreaker?.breakers ?? {}),
    rules: Object.keys(config.rateLimiter?.rules ?? {}),
    pools: Object.keys(config.pools ?? {}),
    bulkheads: Object.keys(config.bulkhead?.limits ?? {}),
    memory: config.memory !== undefined
  }
  return Object.entries(config.protections ?? {}).flatMap(([name, profile]) =>
    dangling(profile, configured).map(({ issue, path }): Schema.FilterIssue => ({ path: ["protections", name, ...path], issue }))
  )
})

/**
 * The whole configuration.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FoundationConfig = Schema.Struct({
  circuitBreaker: optional(CircuitBreaker),
  rateLimiter: optional(RateLimiter),
  pools: optional(Schema.Record(Schema.String, PoolSizing)),
  bulkhead: optional(Bulkhead),
  memory: optional(Memory),
  performance: optional(Performance),
  health: optional(Health),
  redis: optional(Redis),
  protections: optional(Schema.Record(Schema.String, Profile))
}).pipe(Schema.check(references))

/**
 * @since 0.1.0
 * @category models
 */
export type FoundationConfig = typeof FoundationConfig.Type

/**
 * The encoded (JSON) form of the configuration: what a file or environment holds.
 *
 * @since 0.1.0
 * @category models
 */
export type FoundationConfigInput = typeof FoundationConfig.Encoded

/**
 * Turns a Schema failure into `InvalidConfig`: the first issue's path becomes `path`
 * (prefixed by `base`), and the message lists every issue with its path.
 *
 * @since 0.1.0
 * @category decoding
 */
export const toInvalidConfig = (error: Schema.SchemaError, base = ""): InvalidConfig =>
  invalidConfig(violationsOf(error.issue, base)) ?? new InvalidConfig({ path: base, message: error.message })

/**
 * Decodes a configuration from unknown input (parsed JSON, a literal), reporting every issue.
 * Strict: an unknown key at any depth fails with its path and the nearest known key.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input: unknown): Effect.Effect<FoundationConfig, InvalidConfig> => decodeOptions(FoundationConfig, input)

/**
 * Decodes one profile (used by `Protection.configure`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeProfile = (input: unknown, base: string): Effect.Effect<Profile, InvalidConfig> => decodeOptions(Profile, input, base)
