/**
 * A rate-limited HTTP service on effect/http, calling itself until it is limited.
 *
 * The service has a `/hello` route, rate limited per client IP (5 requests a minute), and a
 * `/pay` route whose circuit breaker is open. Every response carries the `RateLimit-Policy`
 * and `RateLimit` fields; the sixth `/hello` is a 429 with `Retry-After`, and `/pay` is a 503
 * whose body does not name the breaker.
 *
 * Run: npx tsx examples/http-service.ts
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"

import { Errors, RateLimiter, RateLimitHttp } from "effect-foundation"

const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello")),
  // stands for a handler behind `CircuitBreaker.protect("payments")` while the breaker is open
  HttpRouter.add(
    "GET",
    "/pay",
    Effect.fail(new Errors.CircuitBreakerOpen({ breaker: "payments", state: "Open", retryAfter: Duration.seconds(20) }))
  )
)

// Every route of the router: limited per client IP (the socket's address: no proxy is trusted)
const App = Layer.mergeAll(Routes, RateLimitHttp.layer({ rule: "api", window: "1 minute" }))

const Limits = RateLimiter.layer({
  rules: { api: { algorithm: "sliding-window", limit: 5, window: "1 minute" } }
})

const Server = HttpRouter.serve(App, { disableListenLog: true, disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provide(Limits)
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
  // a handler's rejection: 503, Retry-After from the breaker, a body that does not name it
  const pay = yield* call(`${base}/pay`)
  console.log(`GET /pay: ${pay.status}  Retry-After: ${pay.retryAfter}  RateLimit: ${pay.limit}`)
  console.log(`  body: ${pay.body}`)
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
