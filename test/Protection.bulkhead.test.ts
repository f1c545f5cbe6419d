import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Bulkhead, CircuitBreaker, Pool, Protection } from "../src/index.js"

class Db extends Context.Service<Db, Pool.Pool<number>>()("test/bulkhead/Db") {}

const Live = Layer.mergeAll(
  CircuitBreaker.layer({ breakers: { db: { failureThreshold: 1, resetTimeout: "1 minute" } } }),
  Bulkhead.layer({ limits: { db: { maxConcurrent: 1 } } }),
  Pool.layer(Db, { acquire: Effect.succeed(1), size: 1, checkoutTimeout: "1 minute" })
)

describe("Protection: bulkhead stage and per-call checkout timeout", () => {
  it.effect("a full bulkhead rejects the call and is not a breaker failure", () =>
    Effect.gen(function* () {
      const slow = yield* Effect.forkChild(
        Protection.protectWith(Db, { circuitBreaker: "db", bulkhead: "db" }, () => Effect.sleep("1 second")),
        { startImmediately: true }
      )
      const error = yield* Effect.flip(Protection.protectWith(Db, { circuitBreaker: "db", bulkhead: "db" }, () => Effect.void))
      expect(error._tag).toBe("BulkheadFull")
      const status = yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))
      expect(status.state).toBe("Closed")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(slow)
      // with the slot back, the bulkhead admits again
      expect(yield* Effect.exit(Protection.protect(Effect.succeed(1), { bulkhead: "db" }))).toEqual(Exit.succeed(1))
    }).pipe(Effect.provide(Live))
  )

  it.effect("checkoutTimeout bounds this call's wait for a pool resource, and is not a breaker failure", () =>
    Effect.gen(function* () {
      const holder = yield* Effect.forkChild(
        Pool.use(Db, () => Effect.sleep("10 seconds")),
        { startImmediately: true }
      )
      const waiting = yield* Effect.forkChild(
        Protection.protectWith(Db, { circuitBreaker: "db", checkoutTimeout: "100 millis" }, () => Effect.void),
        { startImmediately: true }
      )
      yield* TestClock.adjust("100 millis")
      const error = yield* Effect.flip(Fiber.join(waiting))
      expect(error._tag).toBe("PoolCheckoutTimeout")
      expect((yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))).state).toBe("Closed")
      yield* Fiber.interrupt(holder)
    }).pipe(Effect.provide(Live))
  )

  it.effect("protect has no pool: a checkoutTimeout there is InvalidConfig", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Protection.protect(Effect.succeed(1), { checkoutTimeout: "1 second" }))
      expect(error._tag).toBe("InvalidConfig")
      expect((error as { path: string }).path).toBe("checkoutTimeout")
    })
  )
})
