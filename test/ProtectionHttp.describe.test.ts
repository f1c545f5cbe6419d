import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import * as Errors from "../src/Errors.js"
import * as ProtectionHttp from "../src/ProtectionHttp.js"

const problem = "application/problem+json"

/** One instance of every error class, with internal names a client must not see. */
const samples = {
  RateLimited: new Errors.RateLimited({
    rule: "secret-rule",
    key: "10.9.8.7",
    limit: 10,
    remaining: 0,
    retryAfter: Duration.millis(1_200)
  }),
  CircuitBreakerOpen: new Errors.CircuitBreakerOpen({
    breaker: "secret-breaker",
    state: "Open",
    retryAfter: Duration.seconds(30)
  }),
  MemoryPressure: new Errors.MemoryPressure({ level: "critical", heapUsedRatio: 0.95, reason: "secret-reason" }),
  PoolCheckoutTimeout: new Errors.PoolCheckoutTimeout({ pool: "secret-pool", timeout: Duration.seconds(2), waiting: 7 }),
  PoolExhausted: new Errors.PoolExhausted({ pool: "secret-pool", maxWaiting: 50 }),
  BulkheadFull: new Errors.BulkheadFull({ bulkhead: "secret-bulkhead", maxConcurrent: 4 }),
  StoreUnavailable: new Errors.StoreUnavailable({ store: "redis", protection: "secret-rule", reason: "timeout" }),
  OperationTimeout: new Errors.OperationTimeout({ operation: "secret-operation", timeout: Duration.seconds(5) }),
  InvalidConfig: new Errors.InvalidConfig({ path: "breakers.secret", message: "bad" }),
  ProtectionNotFound: new Errors.ProtectionNotFound({ kind: "pool", protection: "secret-pool" })
} satisfies { [K in keyof typeof Errors.all]: InstanceType<(typeof Errors.all)[K]> }

const expected: Record<keyof typeof samples, { status: number; title: string; retryAfter?: string }> = {
  RateLimited: { status: 429, title: "Too Many Requests", retryAfter: "2" },
  CircuitBreakerOpen: { status: 503, title: "Service Unavailable", retryAfter: "30" },
  MemoryPressure: { status: 503, title: "Service Unavailable" },
  PoolCheckoutTimeout: { status: 503, title: "Service Unavailable" },
  PoolExhausted: { status: 503, title: "Service Unavailable" },
  BulkheadFull: { status: 503, title: "Service Unavailable" },
  StoreUnavailable: { status: 503, title: "Service Unavailable" },
  OperationTimeout: { status: 504, title: "Gateway Timeout" },
  InvalidConfig: { status: 500, title: "Internal Server Error" },
  ProtectionNotFound: { status: 500, title: "Internal Server Error" }
}

describe("ProtectionHttp.describe", () => {
  it("covers every error class of Errors.all", () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(Errors.all).sort())
  })

  for (const tag of Object.keys(samples) as Array<keyof typeof samples>) {
    it(`${tag}: status, Retry-After and a safe problem body`, () => {
      const error = samples[tag]
      const { body, headers, status } = ProtectionHttp.describe(error)
      const want = expected[tag]
      expect(status).toBe(want.status)
      expect(headers).toEqual({
        "content-type": problem,
        ...(want.retryAfter === undefined ? {} : { "retry-after": want.retryAfter })
      })
      expect(body).toEqual({
        type: "about:blank",
        title: want.title,
        status: want.status,
        code: error.code,
        detail: expect.any(String)
      })
      expect(JSON.stringify(body)).not.toMatch(/secret|10\.9\.8\.7|redis/)
    })
  }

  it("rounds Retry-After up to whole seconds, and 0 stays 0", () => {
    const limited = (retryAfter: Duration.Duration) =>
      ProtectionHttp.describe(new Errors.RateLimited({ rule: "r", key: "k", limit: 1, remaining: 0, retryAfter })).headers["retry-after"]
    expect([Duration.millis(1), Duration.millis(1_000), Duration.millis(1_001), Duration.zero].map(limited)).toEqual(["1", "1", "2", "0"])
  })

  it("omits Retry-After when the hint is infinite (a cost that never fits)", () => {
    const never = ProtectionHttp.describe(
      new Errors.RateLimited({ rule: "r", key: "k", limit: 1, remaining: 0, retryAfter: Duration.infinity })
    )
    expect(never.status).toBe(429)
    expect(never.headers["retry-after"]).toBeUndefined()
    expect(never.body.detail).toMatch(/can never be admitted/)
  })

  it("shed load answers with the memory manager's own retryAfter and says what triggered it", () => {
    const shed = new Errors.MemoryPressure({
      level: "low",
      heapUsedRatio: 0.2,
      trigger: "event_loop",
      retryAfter: Duration.seconds(1),
      eventLoopDelay: Duration.millis(300),
      maxEventLoopDelay: Duration.millis(200)
    })
    const answer = ProtectionHttp.describe(shed, { defaultRetryAfter: "10 seconds" })
    expect([answer.status, answer.headers["retry-after"]]).toEqual([503, "1"])
    expect(ProtectionHttp.describe(shed, { details: true }).body).toMatchObject({ trigger: "event_loop", eventLoopDelayMillis: 300 })
  })

  it("defaultRetryAfter fills in for errors without a hint, and only those", () => {
    const options = { defaultRetryAfter: "2500 millis" } as const
    expect(ProtectionHttp.describe(samples.MemoryPressure, options).headers["retry-after"]).toBe("3")
    expect(ProtectionHttp.describe(samples.PoolCheckoutTimeout, options).headers["retry-after"]).toBe("3")
    expect(ProtectionHttp.describe(samples.StoreUnavailable, options).headers["retry-after"]).toBe("3")
    expect(ProtectionHttp.describe(samples.CircuitBreakerOpen, options).headers["retry-after"]).toBe("30")
    expect(ProtectionHttp.describe(samples.OperationTimeout, options).headers["retry-after"]).toBeUndefined()
  })

  it("details: true adds the message and the error's fields", () => {
    const { body } = ProtectionHttp.describe(samples.RateLimited, { details: true })
    expect(body).toMatchObject({ rule: "secret-rule", key: "10.9.8.7", limit: 10, remaining: 0 })
    expect(body.detail).toBe(samples.RateLimited.message)
    expect(ProtectionHttp.describe(samples.PoolCheckoutTimeout, { details: true }).body).toMatchObject({
      pool: "secret-pool",
      waiting: 7,
      timeoutMillis: 2_000
    })
  })

  it("problemType sets the type URI from the code", () => {
    const { body } = ProtectionHttp.describe(samples.OperationTimeout, {
      problemType: (code) => `https://errors.example.com/${code}`
    })
    expect(body.type).toBe("https://errors.example.com/operation_timeout")
  })

  it("isRejection: the eight rejections, not the server's own faults nor other values", () => {
    const rejections = Object.entries(samples)
      .filter(([, error]) => ProtectionHttp.isRejection(error))
      .map(([tag]) => tag)
    expect(rejections.sort()).toEqual([
      "BulkheadFull",
      "CircuitBreakerOpen",
      "MemoryPressure",
      "OperationTimeout",
      "PoolCheckoutTimeout",
      "PoolExhausted",
      "RateLimited",
      "StoreUnavailable"
    ])
    expect([null, "RateLimited", new Error("x"), { _tag: "RateLimited" }].some(ProtectionHttp.isRejection)).toBe(false)
  })
})

describe("ProtectionHttp.toResponse and catchRejections", () => {
  it.effect("toResponse is the description as an HttpServerResponse", () =>
    Effect.gen(function* () {
      const response = ProtectionHttp.toResponse(samples.CircuitBreakerOpen)
      expect(response.status).toBe(503)
      expect(response.headers["retry-after"]).toBe("30")
      const web = HttpServerResponse.toWeb(response)
      expect(web.headers.get("content-type")).toBe(problem)
      expect(yield* Effect.promise(() => web.json())).toEqual(ProtectionHttp.describe(samples.CircuitBreakerOpen).body)
    })
  )

  it.effect("catchRejections answers rejections and lets other failures through, piped or data-first", () =>
    Effect.gen(function* () {
      const breaker: Effect.Effect<HttpServerResponse.HttpServerResponse, Errors.CircuitBreakerOpen | "other"> = Effect.fail(
        samples.CircuitBreakerOpen
      )
      const piped = yield* breaker.pipe(ProtectionHttp.catchRejections())
      expect(piped.status).toBe(503)
      const dataFirst = yield* ProtectionHttp.catchRejections(Effect.fail(samples.OperationTimeout), { details: true })
      expect(dataFirst.status).toBe(504)
      const other: Effect.Effect<HttpServerResponse.HttpServerResponse, "other"> = Effect.fail("other" as const).pipe(
        ProtectionHttp.catchRejections()
      )
      expect(yield* Effect.flip(other)).toBe("other")
      // the server's own faults are not answered here: they stay failures (a 500 from the server)
      const config = yield* Effect.flip(ProtectionHttp.catchRejections(Effect.fail(samples.InvalidConfig)))
      expect(config._tag).toBe("InvalidConfig")
    })
  )
})

describe("ProtectionHttp.catchRejections as router middleware", () => {
  it.live("HttpRouter.middleware(catchRejections()).layer answers a route's rejection", () =>
    Effect.acquireUseRelease(
      Effect.sync(() =>
        HttpRouter.toWebHandler(
          HttpRouter.add("GET", "/pay", Effect.fail(samples.CircuitBreakerOpen)).pipe(
            Layer.provide(HttpRouter.middleware(ProtectionHttp.catchRejections()).layer)
          ),
          { disableLogger: true }
        )
      ),
      ({ handler }) =>
        Effect.gen(function* () {
          const response = yield* Effect.promise(() => handler(new Request("http://app.test/pay")))
          expect([response.status, response.headers.get("retry-after")]).toEqual([503, "30"])
        }),
      ({ dispose }) => Effect.promise(dispose)
    )
  )
})
