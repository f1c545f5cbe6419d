/**
 * effect-foundation: resilience infrastructure for Effect 4.
 *
 * Each public module is exported as a namespace: `CircuitBreaker.protect`,
 * `RateLimiter.limit`, `Pool.use`, ...
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Errors from "./Errors.js"

/** @since 0.1.0 */
export * as Telemetry from "./Telemetry.js"

/** @since 0.1.0 */
export * as RateLimiter from "./RateLimiter.js"

/** @since 0.1.0 */
export * as CircuitBreaker from "./CircuitBreaker.js"

/** @since 0.1.0 */
export * as Pool from "./Pool.js"

/**
 * A limit on how many calls run at once, per name (`Bulkhead.limit("search")`).
 *
 * @since 0.2.0
 */
export * as Bulkhead from "./Bulkhead.js"

/** @since 0.1.0 */
export * as HealthAggregator from "./HealthAggregator.js"

/** @since 0.1.0 */
export * as HealthHttp from "./HealthHttp.js"

/** @since 0.1.0 */
export * as Config from "./Config.js"

/**
 * Every protection stage in order around one call (`protect`, `protectWith`), and named profiles
 * (`execute`). Was `Infrastructure`.
 *
 * @since 0.2.0
 */
export * as Protection from "./Protection.js"

/**
 * The former name of `Protection`.
 *
 * @deprecated use `Protection` (same members; the service is `Protection.Protection`)
 * @since 0.1.0
 */
export * as Infrastructure from "./Protection.js"

/** @since 0.1.0 */
export * as Foundation from "./Foundation.js"

/** @since 0.1.0 */
export * as MemoryManager from "./MemoryManager.js"

/** @since 0.1.0 */
export * as PerformanceMonitor from "./PerformanceMonitor.js"

/**
 * Loads neither `redis` nor `@effect/platform-node`: they are imported when its layer is built.
 *
 * @since 0.1.0
 */
export * as CircuitBreakerRedis from "./CircuitBreakerRedis.js"

/**
 * Loads neither `redis` nor `@effect/platform-node`: they are imported when its layers are
 * built.
 *
 * @since 0.1.0
 */
export * as RateLimiterRedis from "./RateLimiterRedis.js"

/**
 * Protection errors as HTTP answers and a request-level rate limit for `effect/http`.
 *
 * @since 0.2.0
 */
export * as ProtectionHttp from "./ProtectionHttp.js"

/**
 * A request-level rate limit for `effect/http`, with the IETF `RateLimit` header fields.
 *
 * @since 0.2.0
 */
export * as RateLimitHttp from "./RateLimitHttp.js"
