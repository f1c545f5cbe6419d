/**
 * A realistic use: an HTTP client calling two upstream hosts through the whole stack, with a
 * breaker and a rate limit *per host* (breakers created on first use from the defaults) in
 * front of a pool of client connections. One upstream answers 503 for a while: its breaker
 * opens and its calls fail fast, while the healthy host is not affected. Both upstreams are
 * real HTTP servers on 127.0.0.1.
 *
 *   npx tsx examples/protected-http-client.ts
 */
import { Context, Effect, Layer } from "effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { CircuitBreaker, Protection, Pool, RateLimiter } from "effect-foundation"

// --- two upstream servers on loopback -------------------------------------------------------
let flakyDown = true
const start = (handler: () => number) =>
  new Promise<Server>((resolve) => {
    const server = createServer((_, res) => {
      const status = handler()
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ status }))
    })
    server.listen(0, "127.0.0.1", () => resolve(server))
  })
const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

// --- a pooled HTTP client ------------------------------------------------------------------
interface HttpClient {
  readonly get: (url: string) => Effect.Effect<unknown, UpstreamError>
}
class UpstreamError extends Error {
  readonly _tag = "UpstreamError"
}
class Http extends Context.Service<Http, Pool.Pool<HttpClient>>()("example/Http") {}

const HttpLive = Pool.layer(Http, {
  size: 4,
  maxOverflow: 4,
  checkoutTimeout: "500 millis",
  acquire: Effect.succeed<HttpClient>({
    get: (url) =>
      Effect.tryPromise({
        try: async (signal) => {
          const response = await fetch(url, { signal })
          if (!response.ok) throw new UpstreamError(`${url} answered ${response.status}`)
          return response.json()
        },
        catch: (error) => (error instanceof UpstreamError ? error : new UpstreamError(String(error)))
      })
  })
})

const Protections = Layer.mergeAll(
  // every host gets its own breaker from these defaults, on first use
  CircuitBreaker.layer({ defaults: { failureThreshold: 3, resetTimeout: "200 millis" }, maxBreakers: 100 }),
  RateLimiter.layer({ rules: { "per-host": { algorithm: "token-bucket", limit: 50, window: "1 second", burst: 20 } } }),
  HttpLive
)

/**
 * One host's policy. `satisfies` keeps the literal's type, so the call's error type stays the
 * stages written here; annotating the result `: Protection.Policy` would widen it to every
 * stage a policy can name (and require every protection service).
 */
const hostPolicy = (host: string) =>
  ({ rateLimit: { rule: "per-host", key: host }, circuitBreaker: `host:${host}`, timeout: "1 second" }) satisfies Protection.Policy

/** GET through the stack, with the breaker and the limit keyed by the URL's host. */
const get = (url: string) => {
  const host = new URL(url).host
  return Protection.protectWith(Http, hostPolicy(host), (client) => client.get(url)).pipe(
    Effect.map(() => "ok"),
    Effect.catchTags({
      CircuitBreakerOpen: (e) => Effect.succeed(`fast-fail (${e.state})`),
      RateLimited: () => Effect.succeed("rate-limited"),
      UpstreamError: () => Effect.succeed("503")
    })
  )
}

const program = Effect.gen(function* () {
  const healthy = yield* Effect.acquireRelease(
    Effect.promise(() => start(() => 200)),
    (s) => Effect.sync(() => s.close())
  )
  const flaky = yield* Effect.acquireRelease(
    Effect.promise(() => start(() => (flakyDown ? 503 : 200))),
    (s) => Effect.sync(() => s.close())
  )
  const round = Effect.gen(function* () {
    const [a, b] = yield* Effect.all([get(`${urlOf(healthy)}/items`), get(`${urlOf(flaky)}/items`)], { concurrency: 2 })
    return `healthy: ${a.padEnd(18)} flaky: ${b}`
  })
  for (let i = 0; i < 5; i++) console.log(yield* round)
  flakyDown = false
  yield* Effect.sleep("250 millis")
  console.log("-- the flaky host recovered; after the reset timeout the next call probes it --")
  for (let i = 0; i < 2; i++) console.log(yield* round)
  // the policy's timeout stage on its own: a call that does not answer in time is interrupted
  // (its finalizers run) and fails OperationTimeout; no timer stays armed once it settled
  const stuck = yield* Effect.never.pipe(
    Protection.timeout("50 millis", { operation: "stuck upstream" }),
    Effect.catchTag("OperationTimeout", (e) => Effect.succeed(e.message))
  )
  console.log(stuck)
  const breakers = yield* CircuitBreaker.CircuitBreaker
  for (const name of yield* breakers.names) {
    const s = yield* breakers.status(name)
    console.log(`${name}: ${s.state}, ${s.successes} ok, ${s.failures} failed, ${s.rejected} rejected`)
  }
}).pipe(Effect.scoped, Effect.provide(Protections))

Effect.runPromise(program)
