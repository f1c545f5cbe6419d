import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as HealthAggregator from "../src/HealthAggregator.js"

describe("HealthAggregator with real protections", () => {
  const App = CircuitBreaker.layer({
    breakers: { payments: { failureThreshold: 2, critical: true }, search: { failureThreshold: 1 } }
  }).pipe(Layer.provideMerge(HealthAggregator.layer()))

  it.effect("circuit breakers built on top of the aggregator report themselves; an open critical breaker fails the system", () =>
    Effect.gen(function* () {
      const health = yield* HealthAggregator.HealthAggregator
      const before = yield* health.systemHealth
      expect(before.status).toBe("healthy")
      expect(before.components["circuit_breaker:payments"]).toMatchObject({ kind: "circuit_breaker", critical: true, status: "healthy" })

      yield* Effect.ignore(Effect.fail("down").pipe(CircuitBreaker.protect("search")))
      const degraded = yield* health.systemHealth
      expect(degraded.components["circuit_breaker:search"]?.status).toBe("degraded")
      expect(degraded.status).toBe("degraded")

      for (let i = 0; i < 2; i++) yield* Effect.ignore(Effect.fail("down").pipe(CircuitBreaker.protect("payments")))
      const unhealthy = yield* health.systemHealth
      expect(unhealthy.components["circuit_breaker:payments"]?.status).toBe("unhealthy")
      expect(unhealthy.status).toBe("unhealthy")
    }).pipe(Effect.provide(App))
  )

  it.effect("without the aggregator beneath, the breakers work and report nothing", () =>
    Effect.gen(function* () {
      const health = yield* HealthAggregator.HealthAggregator
      expect((yield* Effect.result(Effect.succeed(1).pipe(CircuitBreaker.protect("payments"))))._tag).toBe("Success")
      expect(yield* health.names).toEqual([])
    }).pipe(Effect.provide(Layer.merge(CircuitBreaker.layer({ breakers: { payments: {} } }), HealthAggregator.layer())))
  )
})
