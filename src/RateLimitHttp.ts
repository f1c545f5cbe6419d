/**
 * A request-level rate limit for `effect/http`: each request is keyed (the client's IP, honouring
 * `trustProxy` only; a header such as an API key; the authenticated user; any function), checked
 * against a `RateLimiter` rule and answered 429 with `Retry-After` when limited. Every response
 * carries the IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers),
 * and a handler's protection rejections are answered as `ProtectionHttp` maps them (503 for an
 * open breaker or shed load).
 *
 * **Details**
 *
 * - `layer(options)` limits every route of an `HttpRouter`; `middleware(options).layer` some
 *   routes; `rateLimit(options)` wraps a plain app.
 *
 * **Example** (A rate-limited API)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 * import { RateLimiter, RateLimitHttp } from "effect-foundation"
 *
 * const Routes = HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello"))
 * const App = Layer.mergeAll(Routes, RateLimitHttp.layer({ rule: "api", window: "1 minute" }))
 * const Limits = RateLimiter.layer({ rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } } })
 * const Server = HttpRouter.serve(App).pipe(Layer.provide(Limits))
 * // GET /hello => 200, RateLimit-Policy: "api";q=100;w=60, RateLimit: "api";r=99;t=1
 * ```
 *
 * @since 0.2.0
 */
import type { Effect, Layer } from "effect"
import type { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type * as Errors from "./Errors.js"
import type { Rejection } from "./ProtectionHttp.js"
import type { RateLimiter } from "./RateLimiter.js"
import type * as keys from "./internal/http/keys.js"
import { clientIp as clientIpStrategy, header as headerStrategy, user as userStrategy } from "./internal/http/keys.js"
import * as internal from "./internal/http/middleware.js"
import type * as options from "./internal/http/options.js"

/**
 * How a request becomes a rate-limit key. Build one with `clientIp`, `header` or `user`, or
 * write any function of the request (returning an Effect, or a string through the `key`
 * option).
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimitHttp } from "effect-foundation"
 *
 * const byTenant: RateLimitHttp.KeyStrategy = (request) => Effect.succeed(request.headers["x-tenant"] ?? "none")
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
 * import { RateLimitHttp } from "effect-foundation"
 *
 * const options: RateLimitHttp.ClientIpOptions = { trustProxy: ["10.0.0.0/8", "fd00::/8"] }
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
 * import { RateLimitHttp } from "effect-foundation"
 *
 * const behindLb = RateLimitHttp.clientIp({ trustProxy: 1 }) // one proxy hop; clientIp(): the socket only
 * const byRange = RateLimitHttp.clientIp({ trustProxy: ["10.0.0.0/8", "::1"] })
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
 * import { RateLimitHttp } from "effect-foundation"
 *
 * const options = { rule: "api", key: RateLimitHttp.header("x-api-key") }
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
 * import { RateLimitHttp } from "effect-foundation"
 *
 * const key = RateLimitHttp.user((request) => Effect.succeed(request.headers["x-user-id"])) // verify a token here
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
 * import { RateLimitHttp } from "effect-foundation"
 *
 * const options: RateLimitHttp.RateLimitOptions = { rule: "api", window: "1 minute", cost: 1, policy: "public" }
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
 * import { RateLimitHttp } from "effect-foundation"
 *
 * const app = Effect.succeed(HttpServerResponse.text("ok")).pipe(RateLimitHttp.rateLimit({ rule: "api" }))
 * // HttpServer.serve(app), with RateLimiter provided
 * ```
 *
 * @since 0.1.0
 * @category middleware
 */
export const rateLimit = <KE = never, KR = never>(
  options: RateLimitOptions<KE, KR>
): (<E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  Exclude<E, Rejection> | KE,
  R | KR | HttpServerRequest.HttpServerRequest | RateLimiter
>) => internal.rateLimit(options) as any

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
 * import { RateLimitHttp } from "effect-foundation"
 *
 * const a = HttpServerResponse.text("a")
 * const b = HttpServerResponse.text("b")
 * const free = HttpServerResponse.text("free")
 * const PerKey = RateLimitHttp.middleware({ rule: "api", key: RateLimitHttp.header("x-api-key") }).layer
 * const Limited = Layer.mergeAll(HttpRouter.add("GET", "/a", a), HttpRouter.add("GET", "/b", b))
 * const App = Layer.mergeAll(Limited.pipe(Layer.provide(PerKey)), HttpRouter.add("GET", "/free", free))
 * ```
 *
 * @since 0.1.0
 * @category middleware
 */
export const middleware = <KE = never, KR = never>(
  options: RateLimitOptions<KE, KR>
): HttpRouter.Middleware<{
  provides: never
  handles: Rejection
  error: KE
  requires: Exclude<KR, HttpRouter.Provided>
  layerError: Errors.InvalidConfig | Errors.ProtectionNotFound
  layerRequires: RateLimiter
}> => internal.middleware(options) as any

/**
 * `rateLimit` on every route of the `HttpRouter` it is merged with (a global router
 * middleware): `Layer.mergeAll(Routes, RateLimitHttp.layer(options))`, then `serve`. Needs
 * the `RateLimiter` when built; fails `InvalidConfig` (bad options) or `ProtectionNotFound`.
 *
 * **Example** (Every route, keyed by client IP behind one proxy)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 * import { RateLimitHttp, RateLimiter } from "effect-foundation"
 *
 * const App = Layer.mergeAll(
 *   HttpRouter.add("GET", "/", HttpServerResponse.text("home")),
 *   RateLimitHttp.layer({ rule: "api", window: "1 minute", key: RateLimitHttp.clientIp({ trustProxy: 1 }) })
 * )
 * const Limits = RateLimiter.layer({ rules: { api: { algorithm: "sliding-window", limit: 60, window: "1 minute" } } })
 * const Server = HttpRouter.serve(App).pipe(Layer.provide(Limits))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <KE = never, KR = never>(
  options: RateLimitOptions<KE, KR>
): Layer.Layer<
  never,
  Errors.InvalidConfig | Errors.ProtectionNotFound,
  | HttpRouter.HttpRouter
  | RateLimiter
  | HttpRouter.Request.From<"GlobalRequires", Exclude<KR, HttpRouter.GlobalProvided>>
  | HttpRouter.Request.From<"GlobalError", KE>
> => internal.layer(options) as any
