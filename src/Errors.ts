/**
 * Every typed failure of effect-foundation.
 *
 * Each error is a `Schema.TaggedError`: it can be yielded in `Effect.gen`, matched with
 * `Effect.catchTag`, and encoded to JSON. Each carries a stable machine-readable `code`
 * (`circuit_breaker_open`, `rate_limited`, ...), used as the `error.type` telemetry attribute,
 * and a `message` a person can act on: it names the breaker, rule or pool and, where it
 * applies, when to retry.
 *
 * **Example** (Handling a rejection by tag)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, Errors } from "effect-foundation"
 *
 * const call = Effect.succeed("ok").pipe(
 *   CircuitBreaker.protect("payments"),
 *   Effect.catchTag("CircuitBreakerOpen", (error: Errors.CircuitBreakerOpen) =>
 *     Effect.succeed(`fallback: ${error.message}`))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Duration, Schema } from "effect"
import { formatDuration } from "./internal/runtime/errors.js"

/**
 * A circuit breaker rejected the call without running it: it is `Open` (the dependency is
 * considered down) or `HalfOpen` with all its probe slots taken.
 *
 * **Example**
 *
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const charge = Effect.succeed(1).pipe(
 *   CircuitBreaker.protect("payments"),
 *   Effect.catchTag("CircuitBreakerOpen", (e) => Effect.succeed(`retry in ${Duration.format(e.retryAfter)}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitBreakerOpen extends Schema.TaggedError<CircuitBreakerOpen>()("CircuitBreakerOpen", {
  code: Schema.tag("circuit_breaker_open"),
  breaker: Schema.String,
  state: Schema.Literals(["Open", "HalfOpen"]),
  retryAfter: Schema.Duration
}) {
  override get message(): string {
    // an isolated breaker (forced open by an operator) has no retry time: it opens until released
    return this.state === "Open"
      ? Duration.isFinite(this.retryAfter)
        ? `circuit breaker "${this.breaker}" is open; retry after ${formatDuration(this.retryAfter)}`
        : `circuit breaker "${this.breaker}" is isolated (forced open until released)`
      : `circuit breaker "${this.breaker}" is half-open and all its probe slots are taken; retry after ${formatDuration(this.retryAfter)}`
  }
}

/**
 * A rate limit rule denied the call for this key. `retryAfter` is the earliest time the same
 * call would be admitted if nothing else arrived; it is infinite when the call's cost can never
 * fit the rule.
 *
 * **Example**
 *
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const call = Effect.succeed(1).pipe(
 *   RateLimiter.limit("api", "client-7"),
 *   Effect.catchTag("RateLimited", (e) => Effect.fail(`429, Retry-After: ${Math.ceil(Duration.toSeconds(e.retryAfter))}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  code: Schema.tag("rate_limited"),
  rule: Schema.String,
  key: Schema.String,
  limit: Schema.Number,
  remaining: Schema.Number,
  retryAfter: Schema.Duration
}) {
  override get message(): string {
    return Duration.isFinite(this.retryAfter)
      ? `rate limit "${this.rule}" exceeded for key "${this.key}" (limit ${this.limit}, ${this.remaining} remaining); retry after ${formatDuration(
          this.retryAfter
        )}`
      : this.limit === 0
        ? `rate limit "${this.rule}" denies every call (limit 0), key "${this.key}" included`
        : `rate limit "${this.rule}" can never admit this call for key "${this.key}": its cost exceeds the rule's capacity of ${this.limit}, or the key is blocked with no end`
  }
}

/**
 * No resource of the pool became available within the checkout timeout.
 *
 * **Example**
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * class Db extends Context.Service<Db, Pool.Pool<{ readonly query: (sql: string) => Effect.Effect<number> }>>()("app/Db") {}
 *
 * const count = Pool.use(Db, (connection) => connection.query("select count(*) from orders")).pipe(
 *   Effect.catchTag("PoolCheckoutTimeout", (e) => Effect.fail(`busy: ${e.waiting} waiting`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class PoolCheckoutTimeout extends Schema.TaggedError<PoolCheckoutTimeout>()("PoolCheckoutTimeout", {
  code: Schema.tag("pool_checkout_timeout"),
  pool: Schema.String,
  timeout: Schema.Duration,
  waiting: Schema.Number
}) {
  override get message(): string {
    return `pool "${this.pool}" had no resource available within ${formatDuration(this.timeout)} (${this.waiting} callers waiting)`
  }
}

/**
 * The pool refused the checkout at once: `maxWaiting` callers were already queued for a
 * resource. Failing fast keeps a saturated pool from building a queue nobody will be
 * served from in time.
 *
 * @since 0.3.0
 * @category errors
 */
export class PoolExhausted extends Schema.TaggedError<PoolExhausted>()("PoolExhausted", {
  code: Schema.tag("pool_exhausted"),
  pool: Schema.String,
  maxWaiting: Schema.Number
}) {
  override get message(): string {
    return `pool "${this.pool}" is exhausted: ${this.maxWaiting} callers are already waiting`
  }
}

/**
 * A bulkhead refused the call: `maxConcurrent` calls were running and `maxWaiting` more were
 * queued (`waited` absent), or the call waited `waitTimeout` without a slot (`waited` set).
 *
 * @since 0.3.0
 * @category errors
 */
export class BulkheadFull extends Schema.TaggedError<BulkheadFull>()("BulkheadFull", {
  code: Schema.tag("bulkhead_full"),
  bulkhead: Schema.String,
  maxConcurrent: Schema.Number,
  /** how long the call waited for a slot before giving up; absent when the queue was full */
  waited: Schema.optionalKey(Schema.Duration)
}) {
  override get message(): string {
    return this.waited === undefined
      ? `bulkhead "${this.bulkhead}" is full: ${this.maxConcurrent} calls running and its queue is full`
      : `bulkhead "${this.bulkhead}" had no free slot within ${formatDuration(this.waited)} (${this.maxConcurrent} calls running)`
  }
}

/**
 * The memory manager shed the call. One error for both of its reasons, told apart by
 * `trigger`, so one `catchTag("MemoryPressure", ...)` handles all load shedding:
 *
 * - `"memory"` (also when absent): the pressure `level` is at or above the manager's
 *   `rejectAt`.
 * - `"event_loop"`: the event loop fell behind. `eventLoopDelay` is the longest delay since
 *   the check before, `maxEventLoopDelay` the manager's `eventLoop.maxDelay`; `level` and
 *   `heapUsedRatio` are still there, but memory is not why.
 *
 * `retryAfter` is when the manager's next reading is due (its `checkInterval`): the earliest
 * the shedding can lift. After a single stall it does lift then; under a lasting overload the
 * next attempt is shed again, with a fresh `retryAfter`. The manager always sets `trigger`
 * and `retryAfter`.
 *
 * **Example** (Answering 503 with a retry time)
 *
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { MemoryManager } from "effect-foundation"
 *
 * const handler = Effect.succeed("200 ok")
 * const shedding = handler.pipe(
 *   MemoryManager.guard,
 *   Effect.catchTag("MemoryPressure", (e) =>
 *     Effect.succeed(`503 busy (${e.trigger ?? "memory"}), Retry-After: ${Math.ceil(Duration.toSeconds(e.retryAfter ?? Duration.seconds(1)))}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class MemoryPressure extends Schema.TaggedError<MemoryPressure>()("MemoryPressure", {
  code: Schema.tag("memory_pressure"),
  /** why the guard shed (@since 0.3.0): absent means "memory" */
  trigger: Schema.optionalKey(Schema.Literals(["memory", "event_loop"])),
  level: Schema.Literals(["low", "medium", "high", "critical"]),
  heapUsedRatio: Schema.Number,
  /** when the next reading is due: the earliest the shedding can lift (@since 0.3.0) */
  retryAfter: Schema.optionalKey(Schema.Duration),
  /** trigger "event_loop": the longest event-loop delay since the check before (@since 0.3.0) */
  eventLoopDelay: Schema.optionalKey(Schema.Duration),
  /** trigger "event_loop": the limit it exceeded, `eventLoop.maxDelay` (@since 0.3.0) */
  maxEventLoopDelay: Schema.optionalKey(Schema.Duration),
  /** free text appended to the message */
  reason: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const cause =
      this.trigger === "event_loop"
        ? `load shed: the event loop fell behind${
            this.eventLoopDelay === undefined ? "" : ` by ${Duration.toMillis(this.eventLoopDelay).toFixed(1)} ms`
          }${this.maxEventLoopDelay === undefined ? "" : ` (limit ${Duration.toMillis(this.maxEventLoopDelay)} ms)`}`
        : `load shed at memory pressure "${this.level}" (heap ${(this.heapUsedRatio * 100).toFixed(1)}% used)`
    return `${cause}${this.reason === undefined ? "" : `: ${this.reason}`}${
      this.retryAfter === undefined ? "" : `; retry after ${formatDuration(this.retryAfter)}`
    }`
  }
}

/**
 * The protected operation did not complete within its timeout and was interrupted.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Protection } from "effect-foundation"
 *
 * const slowCall = Effect.sleep("5 seconds").pipe(Effect.as("done"))
 * const bounded = slowCall.pipe(
 *   Protection.protect({ timeout: "2 seconds" }),
 *   Effect.catchTag("OperationTimeout", (e) => Effect.succeed(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationTimeout extends Schema.TaggedError<OperationTimeout>()("OperationTimeout", {
  code: Schema.tag("operation_timeout"),
  operation: Schema.String,
  timeout: Schema.Duration
}) {
  override get message(): string {
    return `operation "${this.operation}" timed out after ${formatDuration(this.timeout)}`
  }
}

/**
 * A configuration value is invalid. `path` names where (for example
 * `breakers.payments.failureThreshold`) and `message` says why.
 *
 * **Example**
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const path = Layer.build(CircuitBreaker.layer({ breakers: { db: { failureThreshold: 0 } } })).pipe(
 *   Effect.scoped,
 *   Effect.map(() => "valid"),
 *   Effect.catchTag("InvalidConfig", (e) => Effect.succeed(e.path)) // "breakers.db.failureThreshold"
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  code: Schema.tag("invalid_config"),
  path: Schema.String,
  message: Schema.String
}) {}

/**
 * A breaker, rule, pool or profile was looked up by a name that is not configured.
 *
 * The field is `protection` rather than `name`: a field called `name` would shadow
 * `Error.name` and garble printed causes.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const kind = CircuitBreaker.CircuitBreaker.use((breakers) => breakers.status("unknown")).pipe(
 *   Effect.map((status) => status.state),
 *   Effect.catchTag("ProtectionNotFound", (e) => Effect.succeed(e.kind))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtectionNotFound extends Schema.TaggedError<ProtectionNotFound>()("ProtectionNotFound", {
  code: Schema.tag("protection_not_found"),
  kind: Schema.Literals(["circuit_breaker", "rate_limit_rule", "pool", "profile", "health_check", "bulkhead"]),
  protection: Schema.String,
  /** what is configured instead: the nearest name, the names, or that none is */
  hint: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const missing = `no ${this.kind.replace(/_/g, " ")} named "${this.protection}" is configured`
    return this.hint === undefined ? missing : `${missing}; ${this.hint}`
  }
}

/**
 * A shared state store (Redis) could not answer in time and the rule's policy is to fail
 * closed. This is not `RateLimited`: the call was not counted against the limit.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const limited = Effect.succeed("ok").pipe(RateLimiter.limit("api", "client-7"))
 * const degraded = limited.pipe(Effect.catchTag("StoreUnavailable", () => Effect.succeed("limiter store down: degrade")))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  code: Schema.tag("store_unavailable"),
  store: Schema.String,
  protection: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.store} is unavailable for "${this.protection}" and its policy is to fail closed: ${this.reason}`
  }
}

/**
 * Any rejection a protection stage can produce: the seven stage rejections and
 * `StoreUnavailable` (a shared rate limit store that could not answer for a fail-closed rule).
 *
 * @since 0.1.0
 * @category errors
 */
export type ProtectionError =
  | CircuitBreakerOpen
  | RateLimited
  | PoolCheckoutTimeout
  | PoolExhausted
  | BulkheadFull
  | MemoryPressure
  | OperationTimeout
  | StoreUnavailable

/**
 * Every error class, keyed by tag; handy for exhaustive tests and JSON encoders.
 *
 * @since 0.1.0
 * @category errors
 */
export const all = {
  CircuitBreakerOpen,
  RateLimited,
  PoolCheckoutTimeout,
  PoolExhausted,
  BulkheadFull,
  MemoryPressure,
  OperationTimeout,
  InvalidConfig,
  ProtectionNotFound,
  StoreUnavailable
} as const
