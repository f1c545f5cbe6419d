/**
 * The health endpoint over HTTP, in the formats operators already use: an
 * `application/health+json` body (the IETF "Health Check Response Format for HTTP APIs"
 * draft) and Kubernetes-style liveness and readiness probes. Mounted on the application's own
 * `HttpRouter` (`routes`), served on a port of its own (`layer`), or rendered for any other
 * server (`render`): the same bodies, statuses and headers each way.
 *
 * **Details**
 *
 * - `GET {path}` (default `/health`): the system's status. `healthy` / `degraded` /
 *   `unhealthy` map to `pass` / `warn` / `fail`; HTTP 200 for pass and warn, 503 for fail.
 * - `GET {path}/live`: 200 `{"status":"pass"}` while the process serves requests; it never
 *   runs a dependency check (a restart does not cure a database outage).
 * - `GET {path}/ready`: critical checks and components only.
 * - `HEAD` on any of them: the same status and headers without a body (some probes use it).
 * - By default a body is the status alone (`{"status":"warn"}`): what the system is made of
 *   (component names), error messages and details stay in the process. `details: true` adds
 *   every component by name, with its output, details and timings; serve that to operators
 *   only (a loopback or internal port, or behind the application's authentication).
 * - `layer` only: other methods get 405 (with `Allow: GET, HEAD`), other paths 404; a client
 *   gets `requestTimeout` (default 5 seconds) to send its request, and an idle keep-alive
 *   connection is closed after 5 seconds. It listens on every interface unless `host` says
 *   otherwise.
 * - `layer` is built with effect's HTTP server and `@effect/platform-node`'s `NodeHttpServer`;
 *   the package is loaded when the layer is built, not when this module is imported, so
 *   applications that only mount the routes need not install it.
 *
 * **Example** (Serving the endpoint on port 9090)
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { HealthAggregator, HealthHttp } from "effect-foundation"
 *
 * const Health = HealthHttp.layer({ port: 9090 }).pipe(Layer.provideMerge(HealthAggregator.layer()))
 * const program = Effect.gen(function*() {
 *   const http = yield* HealthHttp.HealthHttp
 *   yield* Effect.log(`health at ${http.url}`) // => health at http://localhost:9090/health
 * }).pipe(Effect.provide(Health))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { HttpServerError } from "effect/http"
import { HttpRouter, HttpServer } from "effect/http"
import type { InvalidConfig } from "./Errors.js"
import { HealthAggregator } from "./HealthAggregator.js"
import type { SystemHealth } from "./HealthAggregator.js"
import { contentType, makeApp, makeHandlers, pathsOf } from "./internal/health/handlers.js"
import { httpStatusOf, render as renderBody } from "./internal/health/json.js"
import { HttpOptions, parseHttpOptions, parseRoutesOptions, RoutesOptions as RoutesOptionsStruct } from "./internal/health/options.js"
import { baseUrl, isEveryInterface, loadNodeHttpServer, probeServer } from "./internal/health/server.js"

/**
 * The Schema of the endpoint's options: `layer`, the configuration file's `health.http` section
 * and `Foundation` decode through it; a bad or unknown option fails `InvalidConfig` naming
 * `health.http.<field>` (an unknown key with the nearest option's name).
 *
 * **Example** (Decoding options from JSON)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { HealthHttp } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(HealthHttp.OptionsSchema)({ port: 9090 })
 * // options.path => "/health"
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionsSchema = HttpOptions

/**
 * Options of `layer`. `port` (required, an integer from 0 to 65535; 0 picks a free port, read
 * it back from `HealthHttp.url`). `host` (default: every interface, `::` or `0.0.0.0`, so the
 * kubelet can reach it on the pod's IP; the URL then says `localhost`): give `"127.0.0.1"` for
 * an endpoint only this machine may reach. `path` (default `/health`) must start with `/`, not
 * end with `/` and hold no query. `details` (default `false`) adds component names, error
 * messages, check details, score and timings. `requestTimeout` (default 5 seconds; positive, at
 * most 2^31 - 1 ms) bounds how long a client may take to send its request.
 *
 * **Gotchas**
 *
 * Without `host`, anyone who can reach the machine on `port` can read the endpoint. That is
 * safe with `details` off (the status alone); with `details: true`, bind a loopback or
 * internal address (the layer logs a warning when it serves details on every interface).
 *
 * **Example** (A loopback-only endpoint for tests)
 *
 * ```ts
 * import type { HealthHttp } from "effect-foundation"
 *
 * const options: HealthHttp.Options = { port: 0, host: "127.0.0.1", path: "/status" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Options = typeof OptionsSchema.Encoded

/**
 * The Schema of `routes`' options: `path` and `details`, with the same constraints and
 * defaults as in `OptionsSchema`; a bad or unknown option fails `InvalidConfig` naming
 * `health.http.<field>`.
 *
 * **Example** (The defaults)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { HealthHttp } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(HealthHttp.RoutesOptionsSchema)({})
 * // options => { path: "/health", details: false }
 * ```
 *
 * @since 0.3.0
 * @category schemas
 */
export const RoutesOptionsSchema = RoutesOptionsStruct

/**
 * Options of `routes` (all optional): `path` (default `/health`; the probes go under it) and
 * `details` (default `false`; `true` adds component names, messages, details and timings).
 *
 * **Example** (Details under an internal prefix)
 *
 * ```ts
 * import type { HealthHttp } from "effect-foundation"
 *
 * const options: HealthHttp.RoutesOptions = { path: "/internal/health", details: true }
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export type RoutesOptions = typeof RoutesOptionsSchema.Encoded

/**
 * The running endpoint: `url` is the full address of `GET /health` (for example
 * `http://127.0.0.1:9090/health`), with the port actually bound.
 *
 * **Example** (Printing where the probes are)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HealthHttp } from "effect-foundation"
 *
 * const announce = HealthHttp.HealthHttp.use((http) =>
 *   Effect.log(`liveness ${http.liveUrl}, readiness ${http.readyUrl}`)
 * )
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class HealthHttp extends Context.Service<
  HealthHttp,
  {
    readonly url: string
    readonly liveUrl: string
    readonly readyUrl: string
  }
>()("effect-foundation/HealthHttp") {}

/**
 * A rendered report: the HTTP `status` (200 for pass and warn, 503 for fail), the
 * `contentType` (`application/health+json`) and the `body` (JSON text).
 *
 * @since 0.3.0
 * @category models
 */
export interface Rendered {
  readonly status: 200 | 503
  readonly contentType: "application/health+json"
  readonly body: string
}

/**
 * Renders a report (`systemHealth` or `readiness`) as the endpoint does, for a server the
 * routes cannot mount on. Pure.
 *
 * **Details**
 *
 * Without `details` (the default) the body is the status alone: `{"status":"pass"}`,
 * `"warn"` or `"fail"`. With `details: true`: `status`, `output` (the components not
 * passing), `score`, `time`, `durationMillis` and `checks`, one entry per component by name
 * with its `componentType`, `status`, `time`, `observedValue` / `observedUnit` (how long the
 * check ran, in `"ms"`), `critical`, `ageMillis`, `output` and `details`.
 * Send `Cache-Control: no-store` with it: a probe must not read a cached state.
 *
 * **Example** (The public body of a degraded system)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HealthAggregator, HealthHttp } from "effect-foundation"
 *
 * const rendered = Effect.gen(function*() {
 *   const health = yield* HealthAggregator.HealthAggregator
 *   yield* health.register("cache", Effect.succeed("degraded"))
 *   return HealthHttp.render(yield* health.systemHealth)
 * }).pipe(Effect.scoped, Effect.provide(HealthAggregator.layer()))
 * // => { status: 200, contentType: "application/health+json", body: '{"status":"warn"}' }
 * ```
 *
 * @since 0.3.0
 * @category rendering
 */
export const render = (report: SystemHealth, options?: { readonly details?: boolean | undefined }): Rendered => ({
  status: httpStatusOf(report.status) as 200 | 503,
  contentType,
  body: renderBody(report, options?.details === true)
})

/**
 * The endpoint's routes, for the application's own `HttpRouter`: `GET {path}`,
 * `GET {path}/ready` and `GET {path}/live` (the router answers `HEAD` with the `GET` route).
 * Needs the `HealthAggregator`; fails `InvalidConfig` on bad options.
 *
 * **Details**
 *
 * The answers are `layer`'s. What the application's router decides: the answer to another
 * method or path (its not-found, 404 by default), trailing slashes and case (matched loosely
 * by default), middleware (logging, authentication) and the listening address.
 *
 * **Gotchas**
 *
 * Provide the `HealthAggregator` outside `HttpRouter.serve` (as in the example): a layer first
 * built inside it is private to the server, so checks registered elsewhere would land in
 * another aggregator.
 *
 * **Example** (Health next to the application's routes, on one port)
 *
 * ```ts
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 * import { HealthAggregator, HealthHttp } from "effect-foundation"
 * import { createServer } from "node:http"
 *
 * const Api = HttpRouter.add("GET", "/users", HttpServerResponse.text("[]"))
 * const Server = HttpRouter.serve(Layer.mergeAll(Api, HealthHttp.routes())).pipe(
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 8080 })),
 *   Layer.provideMerge(HealthAggregator.layer())
 * )
 * // Layer.launch(Server): GET /users and GET /health, /health/ready, /health/live on 8080
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const routes = (options: RoutesOptions = {}): Layer.Layer<never, InvalidConfig, HttpRouter.HttpRouter | HealthAggregator> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const { basePath, details } = yield* parseRoutesOptions(options)
      const handlers = makeHandlers(yield* HealthAggregator, details)
      const paths = pathsOf(basePath)
      const router = yield* HttpRouter.HttpRouter
      yield* router.add("GET", paths.full, handlers.full)
      yield* router.add("GET", paths.ready, handlers.ready)
      yield* router.add("GET", paths.live, handlers.live)
    })
  )

/**
 * Serves the endpoint on a port of its own for the lifetime of the layer. Needs a
 * `HealthAggregator`; fails with `InvalidConfig` on bad options (decoded through
 * `OptionsSchema`, before `@effect/platform-node` is loaded) and with the server's
 * `ServeError` when it cannot listen.
 *
 * **Example** (Details on, on loopback only)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { HealthAggregator, HealthHttp } from "effect-foundation"
 *
 * const Internal = HealthHttp.layer({ port: 9091, host: "127.0.0.1", details: true }).pipe(
 *   Layer.provideMerge(HealthAggregator.layer())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<HealthHttp, InvalidConfig | HttpServerError.ServeError, HealthAggregator> =>
  Layer.unwrap(
    Effect.map(
      // decoded first: bad options fail without loading @effect/platform-node
      Effect.zip(parseHttpOptions(options), loadNodeHttpServer),
      ([{ basePath, details, host, port, requestTimeoutMillis }, NodeHttpServer]) =>
        Layer.effect(
          HealthHttp,
          Effect.gen(function* () {
            const server = yield* HttpServer.HttpServer
            const paths = pathsOf(basePath)
            yield* server.serve(makeApp(makeHandlers(yield* HealthAggregator, details), paths))
            const base = baseUrl(server.address, host)
            if (details && isEveryInterface(host)) {
              yield* Effect.logWarning(
                `HealthHttp: component names and details served on every interface (${base}); ` +
                  `give a host (127.0.0.1) or turn details off`
              )
            }
            return HealthHttp.of({ url: `${base}${paths.full}`, liveUrl: `${base}${paths.live}`, readyUrl: `${base}${paths.ready}` })
          })
        ).pipe(Layer.provide(NodeHttpServer.layer(() => probeServer(requestTimeoutMillis), host === undefined ? { port } : { port, host })))
    )
  )

/**
 * The URL of `GET /health` of the running endpoint.
 *
 * **Example** (Fetching the endpoint)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HealthHttp } from "effect-foundation"
 *
 * // succeeds with 200 when healthy or degraded, 503 when unhealthy
 * const status = Effect.flatMap(HealthHttp.url, (url) => Effect.promise(() => fetch(url).then((r) => r.status)))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const url: Effect.Effect<string, never, HealthHttp> = HealthHttp.useSync((http) => http.url)
