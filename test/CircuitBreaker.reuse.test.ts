/**
 * One protected effect value run at the same moment under two breaker services (two layers
 * built apart: two tenants, two test runtimes): an Effect is a description, so each run
 * records its outcome on the breaker of the service it runs under, never on the other's.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"

const serviceContext = Effect.fnUntraced(function* (scope: Scope.Scope) {
  return yield* Layer.buildWithScope(CircuitBreaker.layer({ breakers: { db: { failureThreshold: 1, resetTimeout: "1 minute" } } }), scope)
})

describe("CircuitBreaker: one protected effect run under two services", () => {
  it.effect("each run's outcome lands on its own service's breaker", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const first = yield* serviceContext(scope)
      const second = yield* serviceContext(scope)
      const gate = yield* Deferred.make<void>()
      // admitted, then waits, then fails: the two runs are in flight together
      const call = Deferred.await(gate).pipe(Effect.andThen(Effect.fail("boom")), CircuitBreaker.protect("db"))
      const underFirst = yield* Effect.forkChild(Effect.provideContext(Effect.exit(call), first))
      yield* Effect.yieldNow
      const underSecond = yield* Effect.forkChild(Effect.provideContext(Effect.exit(call), second))
      yield* Effect.yieldNow
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(underFirst)
      yield* Fiber.join(underSecond)
      const stateIn = (context: typeof first) =>
        CircuitBreaker.CircuitBreaker.use((breakers) => breakers.status("db")).pipe(
          Effect.map((status) => status.state),
          Effect.provideContext(context)
        )
      // each failure opened its own breaker (threshold 1)
      expect(yield* stateIn(first)).toBe("Open")
      expect(yield* stateIn(second)).toBe("Open")
      yield* Scope.close(scope, Exit.void)
    })
  )
})
