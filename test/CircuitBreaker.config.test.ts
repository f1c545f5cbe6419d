import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer, Schema } from "effect"
import { Redis } from "effect/persistence"
import * as CircuitBreakerRedis from "../src/CircuitBreakerRedis.js"
import { MAX_TIMER_MILLIS } from "../src/internal/runtime/validate.js"
import { CircuitBreaker, Config } from "../src/index.js"

const buildError = (options: CircuitBreaker.Options) => Effect.flip(Layer.build(CircuitBreaker.layer(options)))

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
  ["isFailure not a function", { isFailure: true as never }, "isFailure"],
  [
    "both a count and a time window",
    { failureRateThreshold: 0.5, slidingWindowSize: 20, slidingWindowDuration: "1 minute" },
    "slidingWindowDuration"
  ],
  ["a time window without a rate rule", { slidingWindowDuration: "1 minute" }, "slidingWindowDuration"],
  ["buckets without a time window", { failureRateThreshold: 0.5, slidingWindowBuckets: 5 }, "slidingWindowBuckets"],
  ["zero buckets", { failureRateThreshold: 0.5, slidingWindowDuration: "1 minute", slidingWindowBuckets: 0 }, "slidingWindowBuckets"],
  ["too many buckets", { failureRateThreshold: 0.5, slidingWindowDuration: "1 hour", slidingWindowBuckets: 5_000 }, "slidingWindowBuckets"],
  ["less than 1 ms per bucket", { failureRateThreshold: 0.5, slidingWindowDuration: 5, slidingWindowBuckets: 10 }, "slidingWindowDuration"],
  ["zero slidingWindowDuration", { failureRateThreshold: 0.5, slidingWindowDuration: 0 }, "slidingWindowDuration"]
]

describe("CircuitBreaker configuration", () => {
  it.effect.each(invalid)("rejects %s with InvalidConfig naming breaker and field", ([, policy, field]) =>
    Effect.gen(function* () {
      const error = yield* buildError({ breakers: { payments: policy } })
      expect(error._tag).toBe("InvalidConfig")
      expect(error.path).toBe(`breakers.payments.${field}`)
      expect(error.message).toContain(`breakers.payments.${field}`)
      const fromDefaults = yield* buildError({ defaults: policy })
      expect(fromDefaults.path).toBe(`defaults.${field}`)
    })
  )

  it.effect("reports every violation at once, the first as the path", () =>
    Effect.gen(function* () {
      const error = yield* buildError({
        breakers: { a: { failureThreshold: 0 }, b: { resetTimeout: -1, halfOpenMaxCalls: 0 } },
        maxBreakers: -1
      })
      expect(error.path).toBe("breakers.a.failureThreshold")
      for (const path of ["breakers.b.resetTimeout", "breakers.b.halfOpenMaxCalls", "maxBreakers"]) {
        expect(error.message).toContain(path)
      }
    })
  )

  it.effect("accepts durations as strings, millis and Duration values", () =>
    Effect.gen(function* () {
      const service = yield* CircuitBreaker.CircuitBreaker
      expect(yield* service.names).toEqual(["a", "b"])
    }).pipe(
      Effect.provide(
        CircuitBreaker.layer({
          breakers: { a: { resetTimeout: "5 seconds", callTimeout: 250 }, b: { monitorWindow: "1 minute", failureThreshold: 2 } }
        })
      )
    )
  )

  it.effect("resetTimeout arms no timer: a reset timeout longer than a timer can wait is accepted", () =>
    Effect.gen(function* () {
      const service = yield* CircuitBreaker.CircuitBreaker
      expect(yield* service.names).toEqual(["a"])
    }).pipe(Effect.provide(CircuitBreaker.layer({ breakers: { a: { resetTimeout: "30 days" } } })))
  )

  it.effect("the shared layer's commandTimeout is bounded like any timer", () =>
    Effect.gen(function* () {
      const redis = Layer.succeed(Redis.Redis, {} as Redis.Redis["Service"])
      for (const commandTimeout of ["30 days", MAX_TIMER_MILLIS + 1, 0] as const) {
        const exit = yield* Effect.exit(Layer.build(CircuitBreakerRedis.layerRedis({ commandTimeout }).pipe(Layer.provide(redis))))
        expect(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined).toMatchObject({
          _tag: "InvalidConfig",
          path: "commandTimeout"
        })
      }
    })
  )

  it.effect("nothing throws: a policy that is not an object is a typed error", () =>
    Effect.gen(function* () {
      const error = yield* buildError({ breakers: { a: 42 as never } })
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "breakers.a" })
    })
  )

  it.effect("an unknown option fails with its path and the nearest option's name, at the top and nested", () =>
    Effect.gen(function* () {
      const top = yield* buildError({ breakerz: {} } as never)
      expect(top).toMatchObject({ _tag: "InvalidConfig", path: "breakerz" })
      expect(top.message).toBe('breakerz: unknown option "breakerz"; did you mean "breakers"?')
      const nested = yield* buildError({ breakers: { db: { failureTreshold: 3 } as never } })
      expect(nested.path).toBe("breakers.db.failureTreshold")
      expect(nested.message).toContain('unknown option "failureTreshold"; did you mean "failureThreshold"?')
      const deeper = yield* buildError({ defaults: { backoff: { factr: 2, max: "1 minute" } as never } })
      expect(deeper.path).toBe("defaults.backoff.factr")
      expect(deeper.message).toContain('did you mean "factor"?')
      const far = yield* buildError({ zzz: 1 } as never)
      expect(far.message).toBe('zzz: unknown option "zzz"; the options here are "defaults", "breakers", "maxBreakers"')
    })
  )

  it.effect("the same mistakes read the same through the layer and the configuration file's circuitBreaker section", () =>
    Effect.gen(function* () {
      const input = {
        defaults: { resetTimeout: "soon", halfOpenMaxCalls: 0 },
        breakers: {
          db: { failureThreshold: 0, slowCallRateThreshold: 0.5, failureTreshold: 3 },
          api: { callTimeout: "10 seconds", maxWaitInHalfOpen: "5 seconds", backoff: { factor: 2, max: "1 second" } }
        },
        maxBreakers: 1.5
      }
      const fromLayer = yield* buildError(input as never)
      const fromConfig = yield* Effect.flip(Config.decode({ circuitBreaker: input }))
      // the file reports each path under its section; nothing else differs
      const underSection = (message: string) => message.replace(/(^|; )(?=(defaults|breakers|maxBreakers)[.:])/g, "$1circuitBreaker.")
      expect(fromConfig.path).toBe(`circuitBreaker.${fromLayer.path}`)
      expect(fromConfig.message).toBe(underSection(fromLayer.message))
      for (const path of ["defaults.resetTimeout", "defaults.halfOpenMaxCalls", "breakers.db.failureThreshold", "maxBreakers"]) {
        expect(fromLayer.message).toContain(`${path}: `)
      }
      expect(fromLayer.message).toContain('breakers.db.failureTreshold: unknown option "failureTreshold"; did you mean "failureThreshold"?')
      // a policy's cross-field rules run once its own fields are valid, whatever the other policies hold
      expect(fromLayer.message).toContain("breakers.api.backoff.max: must be >= resetTimeout (30000ms), got 1000ms")
      expect(fromLayer.message).toContain("breakers.api.maxWaitInHalfOpen: must be >= callTimeout (10000ms), got 5000ms")
    })
  )

  it.effect("isFailure is the code part: checked beside the Schema, its violation listed with the others", () =>
    Effect.gen(function* () {
      const error = yield* buildError({ breakers: { db: { isFailure: "yes" as never, halfOpenMaxCalls: 0 } } })
      expect(error.message).toContain("breakers.db.halfOpenMaxCalls: ")
      expect(error.message).toContain("breakers.db.isFailure: must be a function (cause) => boolean")
    })
  )

  it.effect("maxBreakers 0 is accepted (no breakers from defaults); a negative or fractional one is not", () =>
    Effect.gen(function* () {
      const service = yield* Layer.build(CircuitBreaker.layer({ maxBreakers: 0 }))
      expect(service).toBeDefined()
      for (const maxBreakers of [-1, 1.5]) {
        expect((yield* buildError({ maxBreakers })).path).toBe("maxBreakers")
      }
    })
  )

  it("OptionsSchema and PolicySchema state the defaults", () => {
    expect(Schema.decodeUnknownSync(CircuitBreaker.OptionsSchema)({})).toEqual({ maxBreakers: 1000 })
    const policy = Schema.decodeUnknownSync(CircuitBreaker.PolicySchema)({})
    expect({ ...policy, resetTimeout: Duration.toMillis(policy.resetTimeout) }).toEqual({
      minimumCalls: 10,
      resetTimeout: 30_000,
      halfOpenMaxCalls: 1,
      critical: false
    })
  })
})
