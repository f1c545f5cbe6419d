/**
 * Health components of breakers: one per configured breaker, registered when the service is
 * built, and (since `configure` can add breakers at run time) one for a breaker configured
 * later, registered then, for the service's lifetime.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Scope } from "effect"
import { CircuitBreaker } from "../src/index.js"
import { type HealthComponent, HealthComponents } from "../src/internal/runtime/healthComponents.js"

/** a HealthComponents that keeps what is registered, until the registering scope closes */
const recording = () => {
  const registered = new Map<string, HealthComponent>()
  const layer = Layer.succeed(HealthComponents, {
    register: (component) =>
      Effect.flatMap(Effect.scope, (scope) =>
        Effect.sync(() => registered.set(component.name, component)).pipe(
          Effect.andThen(
            Scope.addFinalizer(
              scope,
              Effect.sync(() => registered.delete(component.name))
            )
          )
        )
      )
  })
  return { registered, layer }
}

describe("CircuitBreaker health components", () => {
  it.effect("a breaker configured at run time registers its component, which reports its state", () =>
    Effect.gen(function* () {
      const { registered, layer } = recording()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(CircuitBreaker.layer({ breakers: { db: {} } }).pipe(Layer.provide(layer)), scope)
      const run = <A, E>(effect: Effect.Effect<A, E, CircuitBreaker.CircuitBreaker>) => Effect.provideContext(effect, context)
      expect([...registered.keys()].sort()).toEqual(["circuit_breaker:db", "circuit_breaker:dynamic"])

      yield* run(CircuitBreaker.configure("payments", { failureThreshold: 1, critical: true }))
      const payments = registered.get("circuit_breaker:payments")
      expect(payments).toMatchObject({ kind: "circuit_breaker", critical: true })
      expect(yield* payments!.report).toMatchObject({ status: "healthy" })
      yield* run(Effect.exit(CircuitBreaker.protect(Effect.fail("503"), "payments")))
      expect(yield* payments!.report).toMatchObject({ status: "unhealthy", details: { state: "Open" } })

      // configured again, not critical any more: the component is replaced
      yield* run(CircuitBreaker.configure("payments", { failureThreshold: 1, critical: false }))
      expect(registered.get("circuit_breaker:payments")).toMatchObject({ critical: false })
      expect(yield* registered.get("circuit_breaker:payments")!.report).toMatchObject({ status: "degraded" })

      // gone with the service
      yield* Scope.close(scope, Effect.void as never)
      expect(registered.size).toBe(0)
    })
  )

  it.effect("a breaker created on first use, then configured, gets its own component", () =>
    Effect.gen(function* () {
      const { registered, layer } = recording()
      yield* Effect.gen(function* () {
        yield* CircuitBreaker.protect(Effect.succeed(1), "host:a")
        expect(registered.has("circuit_breaker:host:a")).toBe(false)
        yield* CircuitBreaker.configure("host:a", { failureThreshold: 2 })
        expect(registered.has("circuit_breaker:host:a")).toBe(true)
      }).pipe(Effect.provide(CircuitBreaker.layer({}).pipe(Layer.provide(layer))))
    })
  )

  it.effect("without HealthComponents, configure registers nothing and works", () =>
    Effect.gen(function* () {
      yield* CircuitBreaker.configure("payments", { failureThreshold: 1 })
      const status = yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("payments"))
      expect(status.state).toBe("Closed")
    }).pipe(Effect.provide(CircuitBreaker.layer({})))
  )
})
