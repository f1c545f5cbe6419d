import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { Redis } from "effect/persistence"
import * as CircuitBreakerRedis from "../src/CircuitBreakerRedis.js"
import { MAX_TIMER_MILLIS } from "../src/internal/runtime/validate.js"
import { CircuitBreaker } from "../src/index.js"

const buildError = (options: CircuitBreaker.Options) =>
  Effect.flip(Layer.build(CircuitBreaker.layer(options)))

const invalid: ReadonlyArray<readonly [string, CircuitBreaker.BreakerPolicy, string]> = [
  ["zero failureThreshold", { failureThreshold: 0 }, "failureThreshold"],
  ["negative failureThreshold", { failureThreshold: -3 }, "failureThreshold"],
  ["fractional failureThreshold", { failureThreshold: 2.5 }, "failureThreshold"],
  ["NaN failureThreshold", { failureThreshold: Number.NaN }, "failureThreshold"],
  ["zero monitorWindow", { failureThreshold: 3, monitorWindow: 0 }, "monitorWindow"],
  ["monitorWindow without threshold", { monitorWindow: "1 minute", failureRateThreshold: 0.5 }, "monitorWindow"],
  ["failure rate above 1", { failureRateThreshold: 1.5 }, "failureRateThreshold"],
  ["failure rate of 0", { failureRateThreshold: 0 }, "failureRateThreshold"],
  ["NaN failure rate", { failureRateThreshold: Number.NaN }, "failureRateThreshold"],
  ["minimumCalls 0", { failureRateThreshold: 0.5, minimumCalls: 0 }, "minimumCalls"],
  ["window smaller than minimumCalls", { failureRateThreshold: 0.5, minimumCalls: 10, slidingWindowSize: 5 }, "slidingWindowSize"],
  ["slow rate above 1", { slowCallDuration: "1 second", slowCallRateThreshold: 2 }, "slowCallRateThreshold"],
  ["slow rate without duration", { slowCallRateThreshold: 0.5 }, "slowCallDuration"],
  ["slow duration without rate", { slowCallDuration: "1 second" }, "slowCallRateThreshold"],
  ["negative slowCallDuration", { slowCallDuration: -5, slowCallRateThreshold: 0.5 }, "slowCallDuration"],
  ["zero resetTimeout", { resetTimeout: 0 }, "resetTimeout"],
  ["negative resetTimeout", { resetTimeout: -1000 }, "resetTimeout"],
  ["infinite resetTimeout", { resetTimeout: "Infinity" as never }, "resetTimeout"],
  ["unparseable resetTimeout", { resetTimeout: "soon" as never }, "resetTimeout"],
  ["backoff factor below 1", { backoff: { factor: 0.5, max: "1 minute" } }, "backoff.factor"],
  ["backoff max below resetTimeout", { resetTimeout: "1 minute", backoff: { factor: 2, max: "1 second" } }, "backoff.max"],
  ["halfOpenMaxCalls 0", { halfOpenMaxCalls: 0 }, "halfOpenMaxCalls"],
  ["zero callTimeout", { callTimeout: 0 }, "callTimeout"],
  ["callTimeout beyond what a timer can wait", { callTimeout: "30 days" }, "callTimeout"],
  ["zero maxWaitInHalfOpen", { maxWaitInHalfOpen: 0 }, "maxWaitInHalfOpen"],
  ["maxWaitInHalfOpen beyond what a timer can wait", { maxWaitInHalfOpen: 2_147_483_648 }, "maxWaitInHalfOpen"],
  ["maxWaitInHalfOpen shorter than callTimeout", { callTimeout: "10 seconds", maxWaitInHalfOpen: "5 seconds" }, "maxWaitInHalfOpen"],
  ["isFailure not a function", { isFailure: true as never }, "isFailure"]
]

describe("CircuitBreaker configuration", () => {
  it.effect.each(invalid)("rejects %s with InvalidConfig naming breaker and field", ([, policy, field]) =>
    Effect.gen(function*() {
      const error = yield* buildError({ breakers: { payments: policy } })
      expect(error._tag).toBe("InvalidConfig")
      expect(error.path).toBe(`breakers.payments.${field}`)
      expect(error.message).toContain(`breakers.payments.${field}`)
      const fromDefaults = yield* buildError({ defaults: policy })
      expect(fromDefaults.path).toBe(`defaults.${field}`)
    }))

  it.effect("reports every violation at once, the first as the path", () =>
    Effect.gen(function*() {
      const error = yield* buildError({
        breakers: { a: { failureThreshold: 0 }, b: { resetTimeout: -1, halfOpenMaxCalls: 0 } },
        maxBreakers: -1
      })
      expect(error.path).toBe("breakers.a.failureThreshold")
      for (const path of ["breakers.b.resetTimeout", "breakers.b.halfOpenMaxCalls", "maxBreakers"]) {
        expect(error.message).toContain(path)
      }
    }))

  it.effect("accepts durations as strings, millis and Duration values", () =>
    Effect.gen(function*() {
      const service = yield* CircuitBreaker.CircuitBreaker
      expect(yield* service.names).toEqual(["a", "b"])
    }).pipe(Effect.provide(CircuitBreaker.layer({
      breakers: { a: { resetTimeout: "5 seconds", callTimeout: 250 }, b: { monitorWindow: "1 minute", failureThreshold: 2 } }
    }))))

  it.effect("resetTimeout arms no timer: a reset timeout longer than a timer can wait is accepted", () =>
    Effect.gen(function*() {
      const service = yield* CircuitBreaker.CircuitBreaker
      expect(yield* service.names).toEqual(["a"])
    }).pipe(Effect.provide(CircuitBreaker.layer({ breakers: { a: { resetTimeout: "30 days" } } }))))

  it.effect("the shared layer's commandTimeout is bounded like any timer", () =>
    Effect.gen(function*() {
      const redis = Layer.succeed(Redis.Redis, {} as Redis.Redis["Service"])
      for (const commandTimeout of ["30 days", MAX_TIMER_MILLIS + 1, 0] as const) {
        const exit = yield* Effect.exit(Layer.build(CircuitBreakerRedis.layerRedis({ commandTimeout }).pipe(Layer.provide(redis))))
        expect(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined).toMatchObject({
          _tag: "InvalidConfig",
          path: "commandTimeout"
        })
      }
    }))

  it.effect("nothing throws: a policy that is not an object is a typed error", () =>
    Effect.gen(function*() {
      const error = yield* buildError({ breakers: { a: 42 as never } })
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "breakers.a" })
    }))
})
