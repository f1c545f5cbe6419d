/**
 * One HTTP service on effect/http with the library at its edge, calling itself:
 *
 * - `/hello` and `/pay` are rate limited per client IP (5 requests a minute): every response
 *   carries `RateLimit-Policy` and `RateLimit`, and the sixth is a 429 with `Retry-After`;
 * - `/pay` calls a payment provider through `CircuitBreaker.protect("payments")`; once the breaker
 *   is open, `ProtectionHttp.catchRejections` answers 503 with `Retry-After` and a body that does
 *   not name the breaker;
 * - `/health`, `/health/ready` and `/health/live` are mounted on the same router (one port) and
 *   are not rate limited; the public body says how the service is, not what it is made of.
 *
 * Run: npx tsx examples/http-service.ts
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"

import { CircuitBreaker, HealthAggregator, HealthHttp, ProtectionHttp, RateLimiter, RateLimitHttp } from "effect-foundation"

// the payment provider is down
const charge = Effect.fail("payment provider unreachable" as const)

const pay = charge.pipe(
  CircuitBreaker.protect("payments"),
  Effect.map(() => HttpServerResponse.text("paid")),
  // the breaker's rejection becomes 503 + Retry-After; what is left is the provider's own failure
  ProtectionHttp.catchRejections(),
  // (ProtectionNotFound, a breaker name that is not configured, would be our own bug: a defect)
  Effect.catch((failure) =>
    typeof failure === "string" ? Effect.succeed(HttpServerResponse.text(failure, { status: 502 })) : Effect.die(failure)
  )
)

// limited per client IP (the socket's address: no proxy is trusted)
const Limited = Layer.mergeAll(HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello")), HttpRouter.add("GET", "/pay", pay)).pipe(
  Layer.provide(RateLimitHttp.middleware({ rule: "api", window: "1 minute" }).layer)
)

const App = Layer.mergeAll(Limited, HealthHttp.routes())

const Services = Layer.mergeAll(
  RateLimiter.layer({ rules: { api: { algorithm: "sliding-window", limit: 5, window: "1 minute" } } }),
  CircuitBreaker.layer({ breakers: { payments: { failureThreshold: 2, resetTimeout: "20 seconds" } } })
).pipe(Layer.provideMerge(HealthAggregator.layer()))

const Server = HttpRouter.serve(App, { disableListenLog: true, disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(Services)
)

const call = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    return {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      policy: response.headers.get("ratelimit-policy"),
      limit: response.headers.get("ratelimit"),
      body: await response.text()
    }
  })

const program = Effect.gen(function* () {
  const base = yield* HttpServer.addressFormattedWith((address) => Effect.succeed(address))
  console.log(`serving on ${base}`)
  // two failures open the breaker; the third call is rejected without reaching the provider
  for (let attempt = 1; attempt <= 3; attempt++) {
    const answer = yield* call(`${base}/pay`)
    console.log(
      `GET /pay #${attempt}: ${answer.status}  RateLimit: ${answer.limit}${answer.retryAfter === null ? "" : `  Retry-After: ${answer.retryAfter}`}`
    )
    if (answer.status === 503) console.log(`  body: ${answer.body}`)
  }
  const health = yield* call(`${base}/health`)
  console.log(`GET /health: ${health.status}  ${health.body}  (not rate limited: RateLimit ${health.limit})`)
  for (let attempt = 1; attempt <= 10; attempt++) {
    const answer = yield* call(`${base}/hello`)
    console.log(
      `GET /hello #${attempt}: ${answer.status}  RateLimit: ${answer.limit}${
        answer.retryAfter === null ? "" : `  Retry-After: ${answer.retryAfter}`
      }`
    )
    if (answer.status === 429) {
      console.log(`  RateLimit-Policy: ${answer.policy}`)
      console.log(`  body: ${answer.body}`)
      break
    }
  }
})

// the server lives as long as the program: it closes, and the process exits, when it is done
Effect.runPromise(program.pipe(Effect.provide(Server))).catch((error) => {
  console.error(error)
  process.exit(1)
})
