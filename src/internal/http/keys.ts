/**
 * Key strategies: how a request becomes a rate-limit key. Each is a function of the request
 * returning an Effect of the key; the trust setting of `clientIp` is checked once, when the
 * strategy is built.
 */
import { Effect } from "effect"
import type { HttpServerRequest } from "effect/http"
import { InvalidConfig } from "../../Errors.js"
import type { KeyStrategy } from "../../RateLimitHttp.js"
import { clientAddress } from "./clientAddress.js"
import { compileTrust } from "./options.js"

/** Documented on `RateLimitHttp.ClientIpOptions`. */
export interface ClientIpOptions {
  readonly trustProxy?: number | ReadonlyArray<string> | undefined
}

export const clientIp = (options?: ClientIpOptions): KeyStrategy => {
  const trust = compileTrust(options)
  if (trust instanceof InvalidConfig) throw trust
  return (request) => Effect.succeed(clientAddress(request.peerAddress, request.headers["x-forwarded-for"], trust))
}

const byPeer = clientIp()

const headerName = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

export const header = <E = never, R = never>(
  name: string,
  options?: { readonly fallback?: KeyStrategy<E, R> | undefined }
): KeyStrategy<E, R> => {
  const lower = typeof name === "string" ? name.toLowerCase() : ""
  if (!headerName.test(lower)) {
    throw new InvalidConfig({ path: "header", message: `header: must be an HTTP header name, got ${JSON.stringify(name)}` })
  }
  const fallback = (options?.fallback ?? byPeer) as KeyStrategy<E, R>
  return (request: HttpServerRequest.HttpServerRequest) => {
    const value = request.headers[lower]?.trim()
    return value === undefined || value === "" ? fallback(request) : Effect.succeed(value)
  }
}

export const user = <E, R, E2 = never, R2 = never>(
  identify: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<string | undefined, E, R>,
  options?: { readonly fallback?: KeyStrategy<E2, R2> | undefined }
): KeyStrategy<E | E2, R | R2> => {
  if (typeof identify !== "function") {
    throw new InvalidConfig({ path: "user", message: "user: must be a function of the request returning an Effect" })
  }
  const fallback = (options?.fallback ?? byPeer) as KeyStrategy<E2, R2>
  return (request) =>
    Effect.flatMap(
      identify(request),
      (id): Effect.Effect<string, E2, R2> => (id === undefined || id === "" ? fallback(request) : Effect.succeed(id))
    )
}
