/**
 * The pieces both ways of serving health share: `HealthHttp.routes` (mounted on the
 * application's `HttpRouter`) and `HealthHttp.layer` (its own port). One set of handlers, so
 * the two answer with the same bodies, statuses and headers.
 */
import { Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import type { HealthAggregator, SystemHealth } from "../../HealthAggregator.js"
import { httpStatusOf, liveBody, render } from "./json.js"

/** The media type of the draft. */
export const contentType = "application/health+json"
// Probes and proxies must never answer from a cache: the point is the state now.
const headers = { "cache-control": "no-store" }

export interface Paths {
  readonly full: `/${string}`
  readonly ready: `/${string}`
  readonly live: `/${string}`
}

/** The three paths under a base path ("" for "/", so the probes are "/live", not "//live"). */
export const pathsOf = (basePath: string): Paths => ({
  full: basePath === "" ? "/" : (basePath as `/${string}`),
  ready: `${basePath}/ready` as `/${string}`,
  live: `${basePath}/live` as `/${string}`
})

export interface Handlers {
  readonly full: Effect.Effect<HttpServerResponse.HttpServerResponse>
  readonly ready: Effect.Effect<HttpServerResponse.HttpServerResponse>
  readonly live: Effect.Effect<HttpServerResponse.HttpServerResponse>
}

/** Built once: every request reuses these effects. */
export const makeHandlers = (health: HealthAggregator["Service"], details: boolean): Handlers => {
  const respond = (report: SystemHealth) =>
    HttpServerResponse.text(render(report, details), { status: httpStatusOf(report.status), contentType, headers })
  return {
    full: Effect.map(health.systemHealth, respond),
    ready: Effect.map(health.readiness, respond),
    live: Effect.succeed(HttpServerResponse.text(liveBody, { status: 200, contentType, headers }))
  }
}

/**
 * The whole application of a port of its own: the three paths, 405 (with `Allow`) for other
 * methods on them, 404 elsewhere. A plain comparison rather than a router: this is all the
 * port serves, and a probe's path is matched exactly (no trailing slash, case as written).
 */
export const makeApp = (
  handlers: Handlers,
  paths: Paths
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> => {
  const notFound = Effect.succeed(HttpServerResponse.text("not found", { status: 404, headers }))
  const notAllowed = Effect.succeed(
    HttpServerResponse.text("method not allowed", { status: 405, headers: { ...headers, allow: "GET, HEAD" } })
  )
  return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const query = request.url.indexOf("?")
    const path = query === -1 ? request.url : request.url.slice(0, query)
    const route =
      path === paths.full ? handlers.full : path === paths.ready ? handlers.ready : path === paths.live ? handlers.live : undefined
    if (route === undefined) return notFound
    // Node's server sends no body for HEAD, so the same response serves both
    return request.method === "GET" || request.method === "HEAD" ? route : notAllowed
  })
}
