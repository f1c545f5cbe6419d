import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { TestClock } from "effect/testing"
import { createServer } from "node:http"
import { CircuitBreakerOpen, MemoryPressure } from "../src/Errors.js"
import * as RateLimitHttp from "../src/RateLimitHttp.js"
import * as RateLimiter from "../src/RateLimiter.js"

const rules = {
  api: { algorithm: "fixed-window", limit: 3, window: "1 minute" },
  wide: { algorithm: "fixed-window", limit: 100, window: "1 minute" }
} as const

const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello")),
  HttpRouter.add(
    "GET",
    "/breaker",
    Effect.fail(new CircuitBreakerOpen({ breaker: "payments-db", state: "Open", retryAfter: Duration.millis(2_500) }))
  ),
  HttpRouter.add("GET", "/shed", Effect.fail(new MemoryPressure({ level: "critical", heapUsedRatio: 0.97 }))),
  HttpRouter.add("GET", "/boom", Effect.die("boom"))
)

/** A server on a free loopback port with `middleware` on every route, for one test. */
const served = <A, E>(
  protection: Layer.Layer<never, any, any>,
  body: (get: (path: string, headers?: Record<string, string>) => Effect.Effect<Answer>) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const base = yield* HttpServer.addressFormattedWith((address) => Effect.succeed(address))
    return yield* body((path, headers) => fetchAnswer(`${base}${path}`, headers))
  }).pipe(
    Effect.provide(
      HttpRouter.serve(Layer.mergeAll(Routes, protection), { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
        Layer.provide(RateLimiter.layer({ rules }))
      )
    )
  )

interface Answer {
  readonly status: number
  readonly contentType: string | null
  readonly retryAfter: string | null
  readonly policy: string | null
  readonly limit: string | null
  readonly body: any
}

const fetchAnswer = (url: string, headers?: Record<string, string>) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(url, headers === undefined ? {} : { headers })
    const text = await response.text()
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      retryAfter: response.headers.get("retry-after"),
      policy: response.headers.get("ratelimit-policy"),
      limit: response.headers.get("ratelimit"),
      body: text.startsWith("{") ? JSON.parse(text) : text
    }
  })

const remainingOf = (answer: Answer): number => Number(/;r=(\d+)/.exec(answer.limit ?? "")?.[1])

const times = <A, E, R>(n: number, effect: Effect.Effect<A, E, R>) => Effect.forEach(Array.from({ length: n }), () => effect)

describe("ProtectionHttp middleware on a real server", () => {
  it.live("allowed responses carry RateLimit-Policy and RateLimit with a decreasing r", () =>
    served(RateLimitHttp.layer({ rule: "api", window: "1 minute" }), (get) =>
      Effect.gen(function* () {
        const answers = yield* times(3, get("/hello"))
        expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200])
        expect(answers.map((answer) => answer.body)).toEqual(["hello", "hello", "hello"])
        expect(answers.map((answer) => answer.policy)).toEqual(Array(3).fill(`"api";q=3;w=60`))
        expect(answers.map(remainingOf)).toEqual([2, 1, 0])
        for (const answer of answers) expect(answer.limit).toMatch(/^"api";r=\d+;t=\d+$/)
      })
    )
  )

  it.live("the limited request is 429 with Retry-After, both fields and a problem body", () =>
    served(RateLimitHttp.layer({ rule: "api", window: "1 minute", policy: "public" }), (get) =>
      Effect.gen(function* () {
        yield* times(3, get("/hello"))
        const limited = yield* get("/hello")
        expect(limited.status).toBe(429)
        expect(Number(limited.retryAfter)).toBeGreaterThan(0)
        expect(Number(limited.retryAfter)).toBeLessThanOrEqual(60)
        expect(limited.policy).toBe(`"public";q=3;w=60`)
        expect(limited.limit).toBe(`"public";r=0;t=${limited.retryAfter}`)
        expect(limited.contentType).toBe("application/problem+json")
        expect(limited.body).toEqual({
          type: "about:blank",
          title: "Too Many Requests",
          status: 429,
          code: "rate_limited",
          detail: `Too many requests; retry after ${limited.retryAfter} seconds.`
        })
        // the rule's and the key's names stay inside
        expect(JSON.stringify(limited.body)).not.toMatch(/api|127\.0\.0\.1/)
      })
    )
  )

  it.live("without trustProxy a spoofed X-Forwarded-For does not change the key", () =>
    served(RateLimitHttp.layer({ rule: "api" }), (get) =>
      Effect.gen(function* () {
        const answers = yield* Effect.forEach(["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"], (spoofed) =>
          get("/hello", { "x-forwarded-for": spoofed })
        )
        expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429])
        // without `window` the policy has no `w`
        expect(answers[0]!.policy).toBe(`"api";q=3`)
      })
    )
  )

  it.live("with trustProxy: 1 the last X-Forwarded-For entry is the key", () =>
    served(RateLimitHttp.layer({ rule: "api", key: RateLimitHttp.clientIp({ trustProxy: 1 }) }), (get) =>
      Effect.gen(function* () {
        const first = yield* times(4, get("/hello", { "x-forwarded-for": "6.6.6.6, 203.0.113.7" }))
        expect(first.map((answer) => answer.status)).toEqual([200, 200, 200, 429])
        // another client behind the same proxy has its own allowance; the spoofed left entry is ignored
        const other = yield* get("/hello", { "x-forwarded-for": "6.6.6.6, 203.0.113.8" })
        expect([other.status, remainingOf(other)]).toEqual([200, 2])
        // no header: the proxy itself (the socket) is the client
        expect((yield* get("/hello")).status).toBe(200)
      })
    )
  )

  it.live("with a trusted proxy list, the first untrusted address from the right is the key", () =>
    served(RateLimitHttp.layer({ rule: "api", key: RateLimitHttp.clientIp({ trustProxy: ["127.0.0.0/8", "10.0.0.0/8"] }) }), (get) =>
      Effect.gen(function* () {
        const viaTwo = yield* times(3, get("/hello", { "x-forwarded-for": "203.0.113.9, 10.1.2.3" }))
        expect(viaTwo.map(remainingOf)).toEqual([2, 1, 0])
        const direct = yield* get("/hello", { "x-forwarded-for": "203.0.113.9" })
        expect(direct.status).toBe(429)
      })
    )
  )

  it.live("keys by header, falling back to the client IP without it", () =>
    served(RateLimitHttp.layer({ rule: "api", key: RateLimitHttp.header("X-Api-Key") }), (get) =>
      Effect.gen(function* () {
        const alice = yield* times(4, get("/hello", { "x-api-key": "alice" }))
        expect(alice.map((answer) => answer.status)).toEqual([200, 200, 200, 429])
        expect(remainingOf(yield* get("/hello", { "x-api-key": "bob" }))).toBe(2)
        expect(remainingOf(yield* get("/hello"))).toBe(2)
      })
    )
  )

  it.live("keys by any function, with its cost", () =>
    served(
      RateLimitHttp.layer({
        rule: "wide",
        key: (request) => request.url.split("?")[1] ?? "none",
        cost: (request) => (request.url.includes("heavy") ? 40 : 1)
      }),
      (get) =>
        Effect.gen(function* () {
          expect(remainingOf(yield* get("/hello?heavy"))).toBe(60)
          expect(remainingOf(yield* get("/hello?heavy"))).toBe(20)
          expect((yield* get("/hello?heavy")).status).toBe(429)
          expect(remainingOf(yield* get("/hello?light"))).toBe(99)
        })
    )
  )

  it.live("keys by the authenticated user, an Effect of the request", () =>
    served(
      RateLimitHttp.layer({
        rule: "api",
        key: RateLimitHttp.user((request) => Effect.succeed(request.headers["x-user"]))
      }),
      (get) =>
        Effect.gen(function* () {
          yield* times(3, get("/hello", { "x-user": "u1" }))
          expect((yield* get("/hello", { "x-user": "u1" })).status).toBe(429)
          expect((yield* get("/hello", { "x-user": "u2" })).status).toBe(200)
        })
    )
  )

  it.live("a handler failing CircuitBreakerOpen answers 503 with Retry-After and no breaker name", () =>
    served(RateLimitHttp.layer({ rule: "wide" }), (get) =>
      Effect.gen(function* () {
        const answer = yield* get("/breaker")
        expect(answer.status).toBe(503)
        expect(answer.retryAfter).toBe("3")
        expect(answer.contentType).toBe("application/problem+json")
        expect(answer.body).toEqual({
          type: "about:blank",
          title: "Service Unavailable",
          status: 503,
          code: "circuit_breaker_open",
          detail: "A dependency is temporarily unavailable; retry after 3 seconds."
        })
        expect(JSON.stringify(answer.body)).not.toContain("payments")
        expect(remainingOf(answer)).toBe(99)
      })
    )
  )

  it.live("shed load from the handler is 503, with defaultRetryAfter when the error has no hint", () =>
    served(RateLimitHttp.layer({ rule: "wide", defaultRetryAfter: "5 seconds" }), (get) =>
      Effect.gen(function* () {
        const answer = yield* get("/shed")
        expect([answer.status, answer.retryAfter, answer.body.code]).toEqual([503, "5", "memory_pressure"])
      })
    )
  )

  it.live("details: true exposes the names for internal callers", () =>
    served(RateLimitHttp.layer({ rule: "wide", details: true }), (get) =>
      Effect.gen(function* () {
        const answer = yield* get("/breaker")
        expect(answer.body).toMatchObject({ breaker: "payments-db", state: "Open" })
        expect(answer.body.detail).toContain("payments-db")
      })
    )
  )

  it.live("a failure the middleware does not map still carries the fields (500)", () =>
    served(RateLimitHttp.layer({ rule: "wide" }), (get) =>
      Effect.gen(function* () {
        const answer = yield* get("/boom")
        expect(answer.status).toBe(500)
        expect(answer.policy).toBe(`"wide";q=100`)
        expect(remainingOf(answer)).toBe(99)
      })
    )
  )

  it.live("route-scoped: middleware(...).layer limits only the routes it is provided to", () =>
    Effect.gen(function* () {
      const base = yield* HttpServer.addressFormattedWith((address) => Effect.succeed(address))
      const limited = yield* fetchAnswer(`${base}/limited`)
      const free = yield* fetchAnswer(`${base}/free`)
      expect([limited.policy, free.policy]).toEqual([`"api";q=3`, null])
    }).pipe(
      Effect.provide(
        HttpRouter.serve(
          Layer.mergeAll(
            HttpRouter.add("GET", "/limited", HttpServerResponse.text("l")).pipe(
              Layer.provide(RateLimitHttp.middleware({ rule: "api" }).layer)
            ),
            HttpRouter.add("GET", "/free", HttpServerResponse.text("f"))
          ),
          { disableListenLog: true, disableLogger: true }
        ).pipe(
          Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
          Layer.provide(RateLimiter.layer({ rules }))
        )
      )
    )
  )

  it.effect("layer fails with ProtectionNotFound for a rule the limiter does not have", () =>
    Effect.gen(function* () {
      const exit = yield* Layer.build(RateLimitHttp.layer({ rule: "nope" })).pipe(
        Effect.provide(Layer.mergeAll(HttpRouter.layer, RateLimiter.layer({ rules }))),
        Effect.exit
      )
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("ProtectionNotFound")
    })
  )
})

describe("RateLimitHttp.rateLimit around an app, without a server", () => {
  const request = (headers: Record<string, string> = {}) => HttpServerRequest.fromWeb(new Request("http://app.test/x", { headers }))

  it.effect("under TestClock, the window resets and r comes back", () =>
    Effect.gen(function* () {
      const app = RateLimitHttp.rateLimit({ rule: "api", window: "1 minute", key: () => "k" })(
        Effect.succeed(HttpServerResponse.text("ok"))
      )
      const run = Effect.provideService(app, HttpServerRequest.HttpServerRequest, request())
      const first = yield* times(4, run)
      expect(first.map((response) => response.status)).toEqual([200, 200, 200, 429])
      expect(first[3]!.headers["ratelimit"]).toBe(`"api";r=0;t=60`)
      expect(first[3]!.headers["retry-after"]).toBe("60")
      yield* TestClock.adjust("1 minute")
      const again = yield* run
      expect([again.status, again.headers["ratelimit"]]).toEqual([200, `"api";r=2;t=60`])
    }).pipe(Effect.provide(RateLimiter.layer({ rules })))
  )

  it("throws InvalidConfig for bad options, naming the field", () => {
    expect(() => RateLimitHttp.rateLimit({ rule: "" })).toThrow(/rule/)
    expect(() => RateLimitHttp.rateLimit({ rule: "api", cost: 0 })).toThrow(/cost/)
    expect(() => RateLimitHttp.rateLimit({ rule: "api", policy: "naïve" })).toThrow(/policy/)
    expect(() => RateLimitHttp.rateLimit({ rule: "api", limits: 3 } as any)).toThrow(/did you mean "limit"/)
    expect(() => RateLimitHttp.clientIp({ trustProxy: ["10.0.0.0/33"] })).toThrow(/trustProxy\.0/)
    expect(() => RateLimitHttp.clientIp({ trustProxy: -1 })).toThrow(/trustProxy/)
    expect(() => RateLimitHttp.header("x api key")).toThrow(/header/)
  })
})
