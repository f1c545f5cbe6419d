import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schema } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as Errors from "../src/Errors.js"
import { fastConstructor } from "../src/internal/runtime/errors.js"

const samples = [
  new Errors.CircuitBreakerOpen({ breaker: "payments", state: "Open", retryAfter: Duration.seconds(5) }),
  new Errors.CircuitBreakerOpen({ breaker: "payments", state: "HalfOpen", retryAfter: Duration.millis(250) }),
  new Errors.RateLimited({ rule: "api", key: "10.0.0.1", limit: 100, remaining: 0, retryAfter: Duration.millis(1500) }),
  new Errors.RateLimited({ rule: "api", key: "10.0.0.1", limit: 10, remaining: 10, retryAfter: Duration.infinity }),
  new Errors.PoolCheckoutTimeout({ pool: "db", timeout: Duration.seconds(2), waiting: 7 }),
  new Errors.PoolExhausted({ pool: "db", maxWaiting: 50 }),
  new Errors.BulkheadFull({ bulkhead: "search", maxConcurrent: 8 }),
  new Errors.BulkheadFull({ bulkhead: "search", maxConcurrent: 8, waited: Duration.millis(250) }),
  new Errors.MemoryPressure({ level: "critical", heapUsedRatio: 0.93 }),
  new Errors.MemoryPressure({ level: "high", heapUsedRatio: 0.5, reason: "event-loop delay 250ms above 100ms" }),
  new Errors.OperationTimeout({ operation: "payments", timeout: Duration.seconds(1) }),
  new Errors.InvalidConfig({ path: "breakers.payments.failureThreshold", message: "must be a positive integer, got -1" }),
  new Errors.ProtectionNotFound({ kind: "rate_limit_rule", protection: "unknown-rule" }),
  new Errors.StoreUnavailable({ store: "redis", protection: "api", reason: "command timed out after 50ms" }),
  new Errors.CircuitBreakerOpen({ breaker: "payments", state: "Open", retryAfter: Duration.infinity })
] as const

const expectedFragments: Record<string, ReadonlyArray<string>> = {
  CircuitBreakerOpen: ["payments"],
  RateLimited: ["api", "10.0.0.1"],
  PoolCheckoutTimeout: ["db", "2s", "7"],
  PoolExhausted: ["db", "50"],
  BulkheadFull: ["search", "8"],
  MemoryPressure: ["%"],
  OperationTimeout: ["payments", "1s"],
  InvalidConfig: ["positive integer"],
  ProtectionNotFound: ["rate limit rule", "unknown-rule"],
  StoreUnavailable: ["redis", "api", "timed out"]
}

describe("Errors", () => {
  it("covers every error class with a sample", () => {
    expect(new Set(samples.map((e) => e._tag))).toEqual(new Set(Object.keys(Errors.all)))
  })

  it.each(samples.map((e) => [e._tag + ": " + e.message, e] as const))("message names what failed: %s", (_, error) => {
    expect(error.message.length).toBeGreaterThan(15)
    for (const fragment of expectedFragments[error._tag]!) expect(error.message).toContain(fragment)
  })

  it("retry times appear in messages of retryable errors", () => {
    expect(samples[0].message).toContain("5s")
    expect(samples[2].message).toContain("1s 500ms")
    expect(samples[3].message).toContain("never admit")
    expect(samples.at(-1)!.message).toBe('circuit breaker "payments" is isolated (forced open until released)')
  })

  it.each(samples.map((e) => [e._tag, e] as const))("%s encodes to JSON with its code", (_, error) => {
    const Class = Errors.all[error._tag] as unknown as Schema.Codec<unknown, unknown>
    const json = Schema.encodeSync(Schema.toCodecJson(Class))(error) as Record<string, unknown>
    expect(json._tag).toBe(error._tag)
    expect(json.code).toBe(error.code)
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
    const decoded = Schema.decodeUnknownSync(Schema.toCodecJson(Class))(json) as typeof error
    expect(decoded.message).toBe(error.message)
  })

  it("codes follow the seed vocabulary", () => {
    expect(samples.map((e) => e.code)).toEqual([
      "circuit_breaker_open",
      "circuit_breaker_open",
      "rate_limited",
      "rate_limited",
      "pool_checkout_timeout",
      "pool_exhausted",
      "bulkhead_full",
      "bulkhead_full",
      "memory_pressure",
      "memory_pressure",
      "operation_timeout",
      "invalid_config",
      "protection_not_found",
      "store_unavailable",
      "circuit_breaker_open"
    ])
  })

  it("fast-constructed rejections are real, catchable instances without a stack walk", () =>
    Effect.gen(function* () {
      const make = fastConstructor(Errors.CircuitBreakerOpen, "CircuitBreakerOpen", "circuit_breaker_open")
      const error = make({ breaker: "db", state: "Open", retryAfter: Duration.seconds(1) })
      expect(error).toBeInstanceOf(Errors.CircuitBreakerOpen)
      expect(error.message).toBe(samples[0].message.replace("payments", "db").replace("5s", "1s"))
      const caught = yield* Effect.fail(error).pipe(Effect.catchTag("CircuitBreakerOpen", (e) => Effect.succeed(e.breaker)))
      expect(caught).toBe("db")
      const json = Schema.encodeSync(Schema.toCodecJson(Errors.CircuitBreakerOpen))(error)
      expect(json).toMatchObject({ _tag: "CircuitBreakerOpen", code: "circuit_breaker_open", breaker: "db" })
    }).pipe(Effect.runPromise))

  it("an open breaker's rejection is the same error as one made by the constructor", () =>
    Effect.gen(function* () {
      const service = yield* CircuitBreaker.CircuitBreaker
      yield* service.trip("db")
      const error = yield* Effect.flip(Effect.succeed(1).pipe(CircuitBreaker.protect("db")))
      expect(error).toBeInstanceOf(Errors.CircuitBreakerOpen)
      if (!(error instanceof Errors.CircuitBreakerOpen)) return
      const made = new Errors.CircuitBreakerOpen({ breaker: "db", state: "Open", retryAfter: error.retryAfter })
      expect(Object.keys(error).sort()).toEqual(Object.keys(made).sort())
      expect(error.message).toBe(made.message)
      const encode = Schema.encodeSync(Schema.toCodecJson(Errors.CircuitBreakerOpen))
      expect(encode(error)).toEqual(encode(made))
    }).pipe(Effect.provide(CircuitBreaker.layer({ breakers: { db: { resetTimeout: "1 minute" } } })), Effect.runPromise))
})
