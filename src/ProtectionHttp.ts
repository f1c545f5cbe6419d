/**
 * Protection errors as HTTP answers, for `effect/http` and any other framework.
 *
 * **Details**
 *
 * - `describe(error)` is the mapping, pure: `RateLimited` is 429; `CircuitBreakerOpen`,
 *   `MemoryPressure`, `PoolCheckoutTimeout`, `PoolExhausted`, `BulkheadFull` and `StoreUnavailable` are 503;
 *   `OperationTimeout` is 504. `Retry-After` is the error's hint in whole seconds, rounded
 *   up, and absent when there is none. The body is `application/problem+json` (RFC 9457)
 *   that names no breaker, rule, pool or key unless `details: true`.
 * - `toResponse(error)` is that as an `HttpServerResponse`; `catchRejections` answers the
 *   rejections of a handler with it.
 * - The request-level rate limit that uses the same mapping is `RateLimitHttp`.
 *
 * **Example** (A handler whose rejections become 429 / 503 / 504)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HttpServerResponse } from "effect/http"
 * import { CircuitBreaker, ProtectionHttp } from "effect-foundation"
 *
 * const handler = Effect.succeed(HttpServerResponse.text("paid")).pipe(
 *   CircuitBreaker.protect("payments"),
 *   ProtectionHttp.catchRejections()
 * )
 * ```
 *
 * @since 0.2.0
 */
import type { Effect } from "effect"
import type { HttpServerResponse } from "effect/http"
import type * as Errors from "./Errors.js"
import * as internal from "./internal/http/middleware.js"
import * as problem from "./internal/http/problem.js"

type Answer = HttpServerResponse.HttpServerResponse

/**
 * The errors a client can act on by coming back later, the ones `catchRejections` and the
 * middleware answer: every `Errors.ProtectionError` and `StoreUnavailable`.
 *
 * **Example**
 *
 * ```ts
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const answer = (error: ProtectionHttp.Rejection) => ProtectionHttp.toResponse(error)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Rejection = Errors.ProtectionError | Errors.StoreUnavailable

/**
 * What `describe` maps: the rejections, plus `InvalidConfig` and `ProtectionNotFound`, which
 * are the server's own faults (500, no `Retry-After`).
 *
 * **Example**
 *
 * ```ts
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const status = (error: ProtectionHttp.Describable) => ProtectionHttp.describe(error).status // 429, 503, ...
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Describable = problem.Describable

/**
 * An RFC 9457 problem details body: `type` (`about:blank` unless `problemType` says
 * otherwise), `title` (the status phrase), `status`, the error's `code` (`rate_limited`, ...)
 * and a generic `detail`. With `details: true`, `detail` is the error's message and the
 * error's fields (breaker, rule, key, pool, ...) are added.
 *
 * **Example**
 *
 * ```ts
 * import { ProtectionHttp } from "effect-foundation"
 *
 * declare const error: ProtectionHttp.Describable
 * const body: ProtectionHttp.Problem = ProtectionHttp.describe(error).body // { type: "about:blank", status: 503, ... }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Problem = problem.Problem

/**
 * What `describe` returns: a status, the headers (`content-type`, and `retry-after` when the
 * error has a finite hint) and the problem body, ready for any framework.
 *
 * **Example**
 *
 * ```ts
 * import { ProtectionHttp } from "effect-foundation"
 *
 * declare const error: ProtectionHttp.Describable
 * // any framework: here, an Express-like response
 * declare const expressResponse: { status(code: number): { set(headers: object): { send(body: string): void } } }
 * const { status, headers, body }: ProtectionHttp.Description = ProtectionHttp.describe(error)
 * expressResponse.status(status).set(headers).send(JSON.stringify(body))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Description = problem.Description

/**
 * Options of the mapping.
 *
 * - `details` (default `false`): expose the error's message and fields in the body. For
 *   internal callers only: they name breakers, rules, keys and pools.
 * - `problemType`: the problem `type` URI for an error code (default `about:blank`).
 * - `defaultRetryAfter`: the `Retry-After` for errors that carry no hint of their own
 *   (`MemoryPressure`, `PoolCheckoutTimeout`, `PoolExhausted`, `BulkheadFull`, `StoreUnavailable`); none by default.
 *
 * **Example**
 *
 * ```ts
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const options: ProtectionHttp.DescribeOptions = { defaultRetryAfter: "5 seconds", problemType: (code) => `https://example.com/problems/${code}` }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type DescribeOptions = problem.DescribeOptions

/**
 * Whether a value is a `Rejection` (one of the eight tags, with its `code`).
 *
 * **Example** (Guarding an unknown failure)
 *
 * ```ts
 * import { Duration } from "effect"
 * import { Errors, ProtectionHttp } from "effect-foundation"
 *
 * ProtectionHttp.isRejection(new Errors.OperationTimeout({ operation: "q", timeout: Duration.seconds(1) })) // => true
 * ProtectionHttp.isRejection(new Error("boom")) // => false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isRejection: (u: unknown) => u is Rejection = problem.isRejection as (u: unknown) => u is Rejection

/**
 * The HTTP answer for an error: status, headers and a safe problem body. Pure, for sharing
 * the mapping with another framework.
 *
 * **Example** (An open breaker)
 *
 * ```ts
 * import { Duration } from "effect"
 * import { Errors, ProtectionHttp } from "effect-foundation"
 *
 * ProtectionHttp.describe(new Errors.CircuitBreakerOpen({ breaker: "payments", state: "Open", retryAfter: Duration.millis(2500) }))
 * // => { status: 503, headers: { "content-type": "application/problem+json", "retry-after": "3" },
 * //      body: { type: "about:blank", title: "Service Unavailable", status: 503, code: "circuit_breaker_open",
 * //              detail: "A dependency is temporarily unavailable; retry after 3 seconds." } }
 * ```
 *
 * @since 0.1.0
 * @category mapping
 */
export const describe: (error: Describable, options?: DescribeOptions) => Description = problem.describe

/**
 * `describe` as an `HttpServerResponse` (`application/problem+json`).
 *
 * **Example** (Answering a rejection by hand)
 *
 * ```ts
 * import { Duration } from "effect"
 * import { Errors, ProtectionHttp } from "effect-foundation"
 *
 * const limited = new Errors.RateLimited({ rule: "api", key: "k", limit: 10, remaining: 0, retryAfter: Duration.seconds(4) })
 * // a 429 with Retry-After: 4
 * ProtectionHttp.toResponse(limited).status // => 429
 * ```
 *
 * @since 0.1.0
 * @category mapping
 */
export const toResponse: (error: Describable, options?: DescribeOptions) => Answer = internal.toResponse

/**
 * Answers the rejections of a handler (`Rejection`) with `toResponse`; other failures pass
 * through untouched. Data-first or piped; as a middleware it is
 * `HttpRouter.middleware(ProtectionHttp.catchRejections())`.
 *
 * **Example** (A handler behind a breaker)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HttpServerResponse } from "effect/http"
 * import { CircuitBreaker, ProtectionHttp } from "effect-foundation"
 *
 * const pay = Effect.succeed(HttpServerResponse.text("paid"))
 * const handler = pay.pipe(CircuitBreaker.protect("payments"), ProtectionHttp.catchRejections())
 * // open breaker => 503, Retry-After, a problem+json body without "payments"
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const catchRejections: {
  (options?: DescribeOptions): <E, R>(self: Effect.Effect<Answer, E, R>) => Effect.Effect<Answer, Exclude<E, Rejection>, R>
  <E, R>(self: Effect.Effect<Answer, E, R>, options?: DescribeOptions): Effect.Effect<Answer, Exclude<E, Rejection>, R>
} = internal.catchRejectionsDual as any
