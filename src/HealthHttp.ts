/**
 * The health endpoint over HTTP, in the formats operators already use: an
 * `application/health+json` body (the IETF "Health Check Response Format for HTTP APIs"
 * draft) and Kubernetes-style liveness and readiness probes.
 *
 * **Details**
 *
 * - `GET {path}` (default `/health`): every check and component. `healthy` / `degraded` /
 *   `unhealthy` map to `pass` / `warn` / `fail`; HTTP 200 for pass and warn, 503 for fail.
 * - `GET {path}/live`: 200 `{"status":"pass"}` while the process serves requests; it never
 *   runs a dependency check (a restart does not cure a database outage).
 * - `GET {path}/ready`: critical checks and components only.
 * - `HEAD` on any of them: the same status and headers without a body (some probes use it).
 * - Other methods: 405 (with `Allow: GET, HEAD`); other paths: 404.
 * - A client gets `requestTimeout` (default 5 seconds) to send its request; an idle
 *   keep-alive connection is closed after 5 seconds. A probe that takes longer is broken,
 *   and a slow client must not hold a socket for Node's defaults (minutes).
 * - Error messages and check details are left out unless `details: true`: a public probe must
 *   not leak hosts or internals.
 * - Built with effect's HTTP server and `@effect/platform-node`'s `NodeHttpServer`; the server
 *   lives as long as the layer. `@effect/platform-node` is loaded when the layer is built, not
 *   when this module is imported, so applications that only mount the routes need not install it.
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
import { HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import type { InvalidConfig } from "./Errors.js"
import { HealthAggregator } from "./HealthAggregator.js"
import type { SystemHealth } from "./HealthAggregator.js"
import { httpStatusOf, liveBody, makeCachedRenderer, render } from "./internal/health/json.js"
import { HttpOptions, parseHttpOptions } from "./internal/health/options.js"

const KEEP_ALIVE_TIMEOUT_MILLIS = 5_000

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
 * Options. `port` (required, an integer from 0 to 65535; 0 picks a free port, read it back
 * from `HealthHttp.url`). `host` defaults to every interface (what a Kubernetes probe needs;
 * the URL then says `localhost`). `path` (default `/health`) must start with `/`, not end with
 * `/` and hold no query. `details` (default `false`) adds error messages, check details, score
 * and timings. `requestTimeout` (default 5 seconds; positive, at most 2^31 - 1 ms) bounds how
 * long a client may take to send its request before the connection is closed.
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
export class HealthHttp extends Context.Service<HealthHttp, {
  readonly url: string
  readonly liveUrl: string
  readonly readyUrl: string
}>()("effect-foundation/HealthHttp") {}

/** The media type of the draft. */
const contentType = "application/health+json"
// Probes and proxies must never answer from a cache: the point is the state now.
const headers = { "cache-control": "no-store" }

/**
 * Serves the endpoint for the lifetime of the layer. Needs a `HealthAggregator`; fails with
 * `InvalidConfig` on bad options (decoded through `OptionsSchema`, before
 * `@effect/platform-node` is loaded) and with the server's `ServeError` when it cannot listen.
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
export const layer = (
  options: Options
): Layer.Layer<HealthHttp, InvalidConfig | HttpServerError.ServeError, HealthAggregator> =>
  Layer.unwrap(Effect.map(
    // decoded first: bad options fail without loading @effect/platform-node
    Effect.zip(parseHttpOptions(options), loadNodeHttpServer),
    ([{ basePath, details, host, port, requestTimeoutMillis }, NodeHttpServer]) =>
      Layer.effect(
        HealthHttp,
        Effect.gen(function*() {
          const health = yield* HealthAggregator
          const server = yield* HttpServer.HttpServer
          yield* server.serve(makeApp(health, basePath, details))
          const base = baseUrl(server.address, host)
          return HealthHttp.of({
            url: `${base}${basePath === "" ? "/" : basePath}`,
            liveUrl: `${base}${basePath}/live`,
            readyUrl: `${base}${basePath}/ready`
          })
        })
      ).pipe(
        Layer.provide(
          NodeHttpServer.layer(
            () => probeServer(requestTimeoutMillis),
            host === undefined ? { port } : { port, host }
          )
        )
      )
  ))

/**
 * The URL of `GET /health` of the running endpoint.
 *
 * **Example** (Fetching the endpoint)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HealthHttp } from "effect-foundation"
 *
 * const status = Effect.flatMap(HealthHttp.url, (url) => Effect.promise(() => fetch(url).then((r) => r.status)))
 * // => 200 when healthy or degraded, 503 when unhealthy
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const url: Effect.Effect<string, never, HealthHttp> = HealthHttp.useSync((http) => http.url)

const makeApp = (
  health: HealthAggregator["Service"],
  basePath: string,
  details: boolean
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> => {
  const fullPath = basePath === "" ? "/" : basePath
  const livePath = `${basePath}/live`
  const readyPath = `${basePath}/ready`
  const cached = makeCachedRenderer()
  const respond = (report: SystemHealth) =>
    HttpServerResponse.text(details ? render(report, true) : cached(report), {
      status: httpStatusOf(report.status),
      contentType,
      headers
    })
  // built once: every request reuses these effects
  const full = Effect.map(health.systemHealth, respond)
  const ready = Effect.map(health.readiness, respond)
  const live = Effect.succeed(HttpServerResponse.text(liveBody, { status: 200, contentType, headers }))
  const notFound = Effect.succeed(HttpServerResponse.text("not found", { status: 404, headers }))
  const notAllowed = Effect.succeed(
    HttpServerResponse.text("method not allowed", { status: 405, headers: { ...headers, allow: "GET, HEAD" } })
  )
  return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const query = request.url.indexOf("?")
    const path = query === -1 ? request.url : request.url.slice(0, query)
    const route = path === fullPath ? full : path === readyPath ? ready : path === livePath ? live : undefined
    if (route === undefined) return notFound
    // Node's server sends no body for HEAD, so the same response serves both
    return request.method === "GET" || request.method === "HEAD" ? route : notAllowed
  })
}

/**
 * `http://host:port` of the bound server. A server bound to every interface (`::`,
 * `0.0.0.0`) is announced as `localhost`, an address one can actually open.
 */
const baseUrl = (address: HttpServer.HttpServer["Service"]["address"], host: string | undefined): string => {
  try {
    return HttpServer.formatAddress(address).replace(/^http:\/\/(\[::\]|0\.0\.0\.0)(?=:)/, "http://localhost")
  } catch {
    // formatAddress rejects scoped IPv6 addresses (fe80::1%eth0): say what was asked for
    return `http://${host ?? "localhost"}:${"port" in address ? address.port : 0}`
  }
}

// Loaded on first use: `@effect/platform-node` is an optional peer needed only for this layer.
const loadNodeHttpServer = Effect.promise(() =>
  import("@effect/platform-node/NodeHttpServer").catch((cause: unknown) => {
    throw new Error(
      "HealthHttp.layer needs @effect/platform-node: npm install @effect/platform-node",
      { cause }
    )
  })
)

/**
 * A Node server with timeouts for a probe endpoint rather than Node's defaults (60 s for
 * headers, 5 minutes for a request): a client that has not sent its request within
 * `requestTimeoutMillis` is disconnected, and so is an idle keep-alive connection after 5 s.
 */
const probeServer = (requestTimeoutMillis: number) => {
  const server = createServer({
    headersTimeout: requestTimeoutMillis,
    requestTimeout: requestTimeoutMillis,
    // how often Node looks for expired requests (default 30 s, longer than the timeout itself)
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(requestTimeoutMillis / 4)))
  })
  server.keepAliveTimeout = Math.min(KEEP_ALIVE_TIMEOUT_MILLIS, requestTimeoutMillis)
  // Answer a late or malformed request and close its socket ourselves: without our own
  // listener, whether Node closes it after the 408 depends on who else listens.
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy()
    const status = error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request"
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy())
  })
  return server
}
