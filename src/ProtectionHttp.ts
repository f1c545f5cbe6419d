/**
 * The library's protections at the HTTP edge, for `effect/http`: protection errors as HTTP
 * answers, and a request-level rate limit that tells clients where they stand.
 *
 * **Details**
 *
 * - `describe(error)` is the mapping, pure: `RateLimited` is 429; `CircuitBreakerOpen`,
 *   `MemoryPressure`, `PoolCheckoutTimeout` and `StoreUnavailable` are 503;
 *   `OperationTimeout` is 504. `Retry-After` is the error's hint in whole seconds, rounded
 *   up, and absent when there is none. The body is `application/problem+json` (RFC 9457)
 *   that names no breaker, rule, pool or key unless `details: true`.
 * - `toResponse(error)` is that as an `HttpServerResponse`; `catchRejections` answers the
 *   rejections of a handler with it.
 * - The request-level rate limit: `layer(options)` on every route of an `HttpRouter`,
 *   `middleware(options).layer` on some routes, `rateLimit(options)` around a plain app. A
 *   request is keyed (client IP, honouring `trustProxy` only; a header; the user; any
 *   function), checked against a `RateLimiter` rule and answered 429 when limited. Every
 *   response gets `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
 *
 * **Example** (A rate-limited API)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 * import { ProtectionHttp, RateLimiter } from "effect-foundation"
 *
 * const Routes = HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello"))
 * const App = Layer.mergeAll(Routes, ProtectionHttp.layer({ rule: "api", window: "1 minute" }))
 * const Limits = RateLimiter.layer({ rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } } })
 * const Server = HttpRouter.serve(App).pipe(Layer.provide(Limits))
 * // GET /hello => 200, RateLimit-Policy: "api";q=100;w=60, RateLimit: "api";r=99;t=1
 * ```
 *
 * @since 0.1.0
 */
import type { Effect, Layer } from "effect"
import type { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type * as Errors from "./Errors.js"
import type { RateLimiter } from "./RateLimiter.js"
import type * as keys from "./internal/http/keys.js"
import { clientIp as clientIpStrategy, header as headerStrategy, user as userStrategy } from "./internal/http/keys.js"
import * as internal from "./internal/http/middleware.js"
import type * as options from "./internal/http/options.js"
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
 * const status = (error: ProtectionHttp.Describable) => ProtectionHttp.describe(error).status // => 429, 503, ...
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
 * const body: ProtectionHttp.Problem = ProtectionHttp.describe(error).body // => { type: "about:blank", status: 503, ... }
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
 *   (`MemoryPressure`, `PoolCheckoutTimeout`, `StoreUnavailable`); none by default.
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
 * Whether a value is a `Rejection` (one of the six tags, with its `code`).
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
 * ProtectionHttp.toResponse(limited).status // => 429, with Retry-After: 4
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

/**
 * How a request becomes a rate-limit key. Build one with `clientIp`, `header` or `user`, or
 * write any function of the request (returning an Effect, or a string through the `key`
 * option).
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const byTenant: ProtectionHttp.KeyStrategy = (request) => Effect.succeed(request.headers["x-tenant"] ?? "none")
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export type KeyStrategy<E = never, R = never> = (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<string, E, R>

/**
 * `trustProxy`: how far `X-Forwarded-For` is believed. Absent (or 0): not at all, the key is
 * the socket's peer. A number `n`: `n` proxies of ours stand in front of the server, so the
 * client is `n` entries from the right. A list of addresses and CIDR ranges: entries are
 * walked from the right while they are one of these proxies; the first other address is the
 * client.
 *
 * **Example**
 *
 * ```ts
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const options: ProtectionHttp.ClientIpOptions = { trustProxy: ["10.0.0.0/8", "fd00::/8"] }
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export type ClientIpOptions = keys.ClientIpOptions

/**
 * Keys a request by client IP address (IPv4-mapped IPv6 shown as IPv4). Never reads
 * `X-Forwarded-For` unless `trustProxy` says so, because any client can write that header.
 * Throws `InvalidConfig` for a bad `trustProxy`.
 *
 * **Example** (Behind one load balancer)
 *
 * ```ts
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const behindLb = ProtectionHttp.clientIp({ trustProxy: 1 }) // one proxy hop; clientIp(): the socket only
 * const byRange = ProtectionHttp.clientIp({ trustProxy: ["10.0.0.0/8", "::1"] })
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const clientIp: (options?: ClientIpOptions) => KeyStrategy = clientIpStrategy

/**
 * Keys a request by a header, such as an API key. A request without it (or with it empty)
 * is keyed by `fallback`, by default `clientIp()`, so leaving the header out never escapes
 * the limit.
 *
 * **Example** (Per API key)
 *
 * ```ts
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const options = { rule: "api", key: ProtectionHttp.header("x-api-key") }
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const header: <E = never, R = never>(
  name: string,
  options?: { readonly fallback?: KeyStrategy<E, R> | undefined }
) => KeyStrategy<E, R> = headerStrategy

/**
 * Keys a request by its authenticated user: `identify` returns the user's id, or
 * `undefined` for an anonymous request, which is keyed by `fallback` (default `clientIp()`).
 * Its failures (say, a rejected token) fail the request.
 *
 * **Example** (A user id from a session service)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const key = ProtectionHttp.user((request) => Effect.succeed(request.headers["x-user-id"])) // verify a token here
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const user: <E, R, E2 = never, R2 = never>(
  identify: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<string | undefined, E, R>,
  options?: { readonly fallback?: KeyStrategy<E2, R2> | undefined }
) => KeyStrategy<E | E2, R | R2> = userStrategy

/**
 * Options of the rate-limit middleware.
 *
 * - `rule` (required): a rule of the `RateLimiter`. `key` (default `clientIp()`): a
 *   `KeyStrategy` or `(request) => string`. `cost` (default 1): a positive integer or
 *   `(request) => number`. `policy` (default the rule's name): the name in the fields.
 * - `limit`: the quota `q` (default: the rule's, asked of the limiter once). `window`: the
 *   rule's window, advertised as `w` (omitted without it: the service does not expose it).
 * - `details`, `problemType`, `defaultRetryAfter`: as in `describe`.
 *
 * **Example**
 *
 * ```ts
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const options: ProtectionHttp.RateLimitOptions = { rule: "api", window: "1 minute", cost: 1, policy: "public" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type RateLimitOptions<E = never, R = never> = options.RateLimitOptions<E, R>

/**
 * The request-level rate limit as a middleware: checks the request's key against `rule`
 * before the handler runs; answers 429 with `Retry-After` when limited; answers the
 * handler's rejections with `toResponse` (503 for an open breaker or shed load); and puts
 * `RateLimit-Policy` and `RateLimit` on every response, allowed or limited.
 *
 * **Details**
 *
 * The plain `HttpMiddleware` form, reading the `RateLimiter` from each request's context. On
 * an `HttpRouter` use `middleware` or `layer`: router middleware cannot need request
 * services, so those resolve the limiter when built.
 *
 * **Gotchas**
 *
 * Throws `InvalidConfig` for bad options. An unknown rule is a defect at the first request
 * (500), as in `RateLimiter.limit`; `middleware` and `layer` check it when built.
 *
 * **Example** (Around a whole app)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HttpServerResponse } from "effect/http"
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const app = Effect.succeed(HttpServerResponse.text("ok")).pipe(ProtectionHttp.rateLimit({ rule: "api" }))
 * // HttpServer.serve(app), with RateLimiter provided
 * ```
 *
 * @since 0.1.0
 * @category middleware
 */
export const rateLimit = <KE = never, KR = never>(options: RateLimitOptions<KE, KR>): <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  Exclude<E, Rejection> | KE,
  R | KR | HttpServerRequest.HttpServerRequest | RateLimiter
> => internal.rateLimit(options) as any

/**
 * `rateLimit` for the routes it is provided to, as an `HttpRouter.Middleware`: provide its
 * `.layer` to route layers. The `RateLimiter` is resolved when the layer is built; a bad
 * option fails it with `InvalidConfig`, an unknown rule with `ProtectionNotFound`.
 *
 * **Example** (Two routes limited per API key, one free)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 * import { ProtectionHttp } from "effect-foundation"
 *
 * const a = HttpServerResponse.text("a")
 * const b = HttpServerResponse.text("b")
 * const free = HttpServerResponse.text("free")
 * const PerKey = ProtectionHttp.middleware({ rule: "api", key: ProtectionHttp.header("x-api-key") }).layer
 * const Limited = Layer.mergeAll(HttpRouter.add("GET", "/a", a), HttpRouter.add("GET", "/b", b))
 * const App = Layer.mergeAll(Limited.pipe(Layer.provide(PerKey)), HttpRouter.add("GET", "/free", free))
 * ```
 *
 * @since 0.1.0
 * @category middleware
 */
export const middleware = <KE = never, KR = never>(options: RateLimitOptions<KE, KR>): HttpRouter.Middleware<{
  provides: never
  handles: Rejection
  error: KE
  requires: Exclude<KR, HttpRouter.Provided>
  layerError: Errors.InvalidConfig | Errors.ProtectionNotFound
  layerRequires: RateLimiter
}> => internal.middleware(options) as any

/**
 * `rateLimit` on every route of the `HttpRouter` it is merged with (a global router
 * middleware): `Layer.mergeAll(Routes, ProtectionHttp.layer(options))`, then `serve`. Needs
 * the `RateLimiter` when built; fails `InvalidConfig` (bad options) or `ProtectionNotFound`.
 *
 * **Example** (Every route, keyed by client IP behind one proxy)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 * import { ProtectionHttp, RateLimiter } from "effect-foundation"
 *
 * const App = Layer.mergeAll(
 *   HttpRouter.add("GET", "/", HttpServerResponse.text("home")),
 *   ProtectionHttp.layer({ rule: "api", window: "1 minute", key: ProtectionHttp.clientIp({ trustProxy: 1 }) })
 * )
 * const Limits = RateLimiter.layer({ rules: { api: { algorithm: "sliding-window", limit: 60, window: "1 minute" } } })
 * const Server = HttpRouter.serve(App).pipe(Layer.provide(Limits))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <KE = never, KR = never>(options: RateLimitOptions<KE, KR>): Layer.Layer<
  never,
  Errors.InvalidConfig | Errors.ProtectionNotFound,
  | HttpRouter.HttpRouter
  | RateLimiter
  | HttpRouter.Request.From<"GlobalRequires", Exclude<KR, HttpRouter.GlobalProvided>>
  | HttpRouter.Request.From<"GlobalError", KE>
> => internal.layer(options) as any
