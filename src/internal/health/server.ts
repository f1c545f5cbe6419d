/**
 * The Node server behind `HealthHttp.layer`: timeouts for a probe endpoint, the announced
 * address, and the lazy load of `@effect/platform-node`.
 */
import { Effect } from "effect"
import { HttpServer } from "effect/http"
import { createServer } from "node:http"

const KEEP_ALIVE_TIMEOUT_MILLIS = 5_000

/**
 * `http://host:port` of the bound server. A server bound to every interface (`::`,
 * `0.0.0.0`) is announced as `localhost`, an address one can actually open.
 */
export const baseUrl = (address: HttpServer.HttpServer["Service"]["address"], host: string | undefined): string => {
  try {
    return HttpServer.formatAddress(address).replace(/^http:\/\/(\[::\]|0\.0\.0\.0)(?=:)/, "http://localhost")
  } catch {
    // formatAddress rejects scoped IPv6 addresses (fe80::1%eth0): say what was asked for
    return `http://${host ?? "localhost"}:${"port" in address ? address.port : 0}`
  }
}

/** Whether a host means every interface (absent, `0.0.0.0`, `::`). */
export const isEveryInterface = (host: string | undefined): boolean =>
  host === undefined || host === "0.0.0.0" || host === "::" || host === "[::]"

// Loaded on first use: `@effect/platform-node` is an optional peer needed only for this layer.
export const loadNodeHttpServer = Effect.promise(() =>
  import("@effect/platform-node/NodeHttpServer").catch((cause: unknown) => {
    throw new Error("HealthHttp.layer needs @effect/platform-node: npm install @effect/platform-node", { cause })
  })
)

/**
 * A Node server with timeouts for a probe endpoint rather than Node's defaults (60 s for
 * headers, 5 minutes for a request): a client that has not sent its request within
 * `requestTimeoutMillis` is disconnected, and so is an idle keep-alive connection after 5 s.
 */
export const probeServer = (requestTimeoutMillis: number) => {
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
