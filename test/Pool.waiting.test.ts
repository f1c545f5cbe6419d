/**
 * Waiting for a resource: the queue's bound (`maxWaiting`), per-call checkout timeouts and
 * waiter priority. Each behaviour taken from a peer names the peer test it translates.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Metric } from "effect"
import { TestClock } from "effect/testing"
import * as Errors from "../src/Errors.js"
import * as Pool from "../src/Pool.js"

/** Lets forked fibers run until `condition` holds (bounded), per the primer's §12b. */
const settle = (condition: () => boolean = () => false) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !condition(); i++) yield* Effect.yieldNow
  })

describe("Pool waiting", () => {
  describe("maxWaiting", () => {
    // generic-pool test/generic-pool-test.js "should respect when maxWaitingClients is set to 0":
    // max 2, two acquires succeed, the third is refused at once
    it.effect("with maxWaiting 0, a checkout at capacity fails PoolExhausted at once", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 2, maxWaiting: 0, name: "db" })
        const a = yield* Effect.forkChild(pool.use(() => Effect.never))
        const b = yield* Effect.forkChild(pool.use(() => Effect.never))
        yield* settle(() => pool.statusUnsafe().inUse === 2)
        const error = yield* Effect.flip(pool.use(Effect.succeed))
        expect(error).toBeInstanceOf(Errors.PoolExhausted)
        expect(error).toMatchObject({ _tag: "PoolExhausted", code: "pool_exhausted", pool: "db", maxWaiting: 0 })
        expect(error.message).toContain("db")
        expect(pool.statusUnsafe()).toMatchObject({ exhausted: 1, waiting: 0, timeouts: 0 })
        yield* Fiber.interrupt(a)
        yield* Fiber.interrupt(b)
      })
    )

    it.effect("callers up to maxWaiting wait; one more is refused and counted in status and the metric", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 1, maxWaiting: 2, name: "db" })
        const holder = yield* Effect.forkChild(pool.use(() => Effect.sleep("1 second")))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const waiters = [yield* Effect.forkChild(pool.use(Effect.succeed)), yield* Effect.forkChild(pool.use(Effect.succeed))]
        yield* settle(() => pool.statusUnsafe().waiting === 2)
        const refused = yield* Effect.flip(pool.use(Effect.succeed))
        expect(refused._tag).toBe("PoolExhausted")
        const snapshots = yield* Metric.snapshot
        const counter = snapshots.find((s) => s.id === "foundation.pool.exhausted" && s.attributes?.pool === "db")
        expect(counter?.state).toMatchObject({ count: 1 })
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(holder)
        for (const waiter of waiters) expect(yield* Fiber.join(waiter)).toBe(1)
        expect(pool.statusUnsafe()).toMatchObject({ exhausted: 1, waiting: 0, inUse: 0, idle: 1 })
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("while a slot is free, a caller waits for the acquisition it starts even at maxWaiting 0", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.delay(Effect.succeed(1), "10 millis"), size: 2, maxWaiting: 0 })
        const a = yield* Effect.forkChild(pool.use(Effect.succeed))
        const b = yield* Effect.forkChild(pool.use(Effect.succeed))
        yield* settle(() => pool.statusUnsafe().creating === 2)
        const c = yield* Effect.flip(pool.use(Effect.succeed))
        expect(c._tag).toBe("PoolExhausted")
        yield* TestClock.adjust("10 millis")
        expect([yield* Fiber.join(a), yield* Fiber.join(b)]).toEqual([1, 1])
      })
    )

    it.effect("rejects a negative or fractional maxWaiting", () =>
      Effect.gen(function* () {
        for (const maxWaiting of [-1, 0.5]) {
          const error = yield* Effect.flip(Pool.make({ acquire: Effect.succeed(1), size: 1, maxWaiting }))
          expect(error.path).toBe("maxWaiting")
        }
      })
    )
  })
})
