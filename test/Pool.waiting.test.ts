/**
 * Waiting for a resource: the queue's bound (`maxWaiting`), per-call checkout timeouts and
 * waiter priority. Each behaviour taken from a peer names the peer test it translates.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Metric, References } from "effect"
import { TestClock } from "effect/testing"
import * as Errors from "../src/Errors.js"
import * as Pool from "../src/Pool.js"

/** Lets forked fibers run until `condition` holds (bounded), per the primer's §12b. */
const settle = (condition: () => boolean = () => false) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !condition(); i++) yield* Effect.yieldNow
  })

describe("Pool waiting", () => {
  describe("hand-off", () => {
    it.effect("callers that yield between queuing and parking each resume into their own use; none leaks", () =>
      Effect.gen(function* () {
        // a waiter queues in one step and parks in the next; with a tight op budget the
        // scheduler yields in between, so other callers queue (and resources come back) before
        // it parks: each must still be resumed into its own function, interrupted ones included
        for (const budget of [3, 4, 5, 6, 7]) {
          for (const interruptAfter of [0, 1, 2, 5]) {
            const pool = yield* Pool.make({ acquire: Effect.succeed("r"), size: 2, name: "handoff" })
            const callers = yield* Effect.forEach(
              Array.from({ length: 12 }, (_, id) => id),
              (id) =>
                Effect.forkChild(
                  Effect.gen(function* () {
                    const got: Array<number> = []
                    for (let i = 0; i < 3; i++) got.push(yield* pool.use(() => Effect.as(Effect.yieldNow, id)))
                    return got
                  }).pipe(Effect.provideService(References.MaxOpsBeforeYield, budget))
                )
            )
            for (let i = 0; i < interruptAfter; i++) yield* Effect.yieldNow
            for (let id = 0; id < callers.length; id += 3) yield* Fiber.interrupt(callers[id]!)
            for (let id = 0; id < callers.length; id++) {
              const exit = yield* Fiber.await(callers[id]!)
              if (id % 3 === 0 && Exit.isFailure(exit)) continue
              expect(exit).toStrictEqual(Exit.succeed([id, id, id]))
            }
            expect(pool.statusUnsafe()).toMatchObject({ inUse: 0, waiting: 0, idle: 2, created: 2, destroyed: 0 })
          }
        }
      }).pipe(Effect.scoped)
    )
  })

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
          expect((error as Errors.InvalidConfig).path).toBe("maxWaiting")
        }
      })
    )
  })

  describe("per-call checkout timeout", () => {
    // generic-pool test/generic-pool-acquiretimeout-test.js "acquireTimeout handles timed out acquire",
    // with the timeout given per call: the pool's own is 1 minute, the call's 100 ms
    it.effect("a checkout's own checkoutTimeout replaces the pool's and is named in the error", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 1, checkoutTimeout: "1 minute" })
        const holder = yield* Effect.forkChild(pool.use(() => Effect.never))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const long = yield* Effect.forkChild(Effect.flip(pool.use(Effect.succeed)))
        yield* settle(() => pool.statusUnsafe().waiting === 1)
        // queued behind a waiter with a later deadline: the timer wakes earlier for it
        const short = yield* Effect.forkChild(Effect.flip(pool.use(Effect.succeed, { checkoutTimeout: "100 millis" })))
        yield* settle(() => pool.statusUnsafe().waiting === 2)
        yield* TestClock.adjust("99 millis")
        expect(short.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("1 millis")
        const error = yield* Fiber.join(short)
        expect(error._tag).toBe("PoolCheckoutTimeout")
        expect(Duration.toMillis((error as Errors.PoolCheckoutTimeout).timeout)).toBe(100)
        expect(long.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("1 minute")
        expect((yield* Fiber.join(long))._tag).toBe("PoolCheckoutTimeout")
        expect(pool.statusUnsafe()).toMatchObject({ timeouts: 2, waiting: 0 })
        yield* Fiber.interrupt(holder)
      })
    )

    it.effect("Pool.use takes the options in both forms", () =>
      Effect.gen(function* () {
        class Workers extends Context.Service<Workers, Pool.Pool<number>>()("test/Workers") {}
        const layer = Pool.layer(Workers, { acquire: Effect.succeed(2), size: 1 })
        const options = { checkoutTimeout: 50, priority: 1 }
        const a = yield* Pool.use(Workers, (n: number) => Effect.succeed(n * 2), options).pipe(Effect.provide(layer))
        const b = yield* Workers.pipe(
          Pool.use((n: number) => Effect.succeed(n * 3), options),
          Effect.provide(layer)
        )
        expect([a, b]).toEqual([4, 6])
      })
    )

    it.effect("bad checkout options fail InvalidConfig naming the option, with a suggestion for a typo", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 1, name: "db" })
        const zero = yield* Effect.flip(pool.use(Effect.succeed, { checkoutTimeout: 0 }))
        expect(zero).toMatchObject({ _tag: "InvalidConfig", path: "checkoutTimeout" })
        expect(zero.message).toContain('pool "db"')
        const negative = yield* Effect.flip(pool.use(Effect.succeed, { priority: -1 }))
        expect(negative).toMatchObject({ _tag: "InvalidConfig", path: "priority" })
        const typo = yield* Effect.flip(pool.use(Effect.succeed, { checkoutTimout: 5 } as Pool.CheckoutOptions))
        expect(typo.message).toContain('did you mean "checkoutTimeout"')
        expect(pool.statusUnsafe()).toMatchObject({ checkouts: 0, inUse: 0 })
      })
    )
  })

  describe("priority", () => {
    // generic-pool test/generic-pool-test.js "supports priority on borrow": max 1, ten acquires at
    // priority 1, then ten at priority 0; every priority-0 borrower is served before any priority-1 one
    it.effect("waiters are served by priority, 0 first, and first come, first served within one", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 1 })
        const holder = yield* Effect.forkChild(pool.use(() => Effect.sleep("1 millis")))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const order: Array<string> = []
        const fibers = []
        for (const [label, priority] of [
          ["low-0", 1],
          ["low-1", 1],
          ["high-0", 0],
          ["last-0", 2],
          ["high-1", 0],
          ["low-2", 1]
        ] as const) {
          fibers.push(yield* Effect.forkChild(pool.use(() => Effect.sync(() => order.push(label)), { priority })))
          yield* settle(() => pool.statusUnsafe().waiting === fibers.length)
        }
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(holder)
        for (const fiber of fibers) yield* Fiber.join(fiber)
        expect(order).toEqual(["high-0", "high-1", "low-0", "low-1", "low-2", "last-0"])
      })
    )

    it.effect("a timed-out waiter of any priority leaves the queue; the others keep their order", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 1, checkoutTimeout: "1 second" })
        const holder = yield* Effect.forkChild(pool.use(() => Effect.sleep("2 seconds")))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const order: Array<string> = []
        const low = yield* Effect.forkChild(
          pool.use(() => Effect.sync(() => order.push("low")), { priority: 3, checkoutTimeout: "1 minute" })
        )
        yield* settle(() => pool.statusUnsafe().waiting === 1)
        const high = yield* Effect.forkChild(Effect.exit(pool.use(() => Effect.sync(() => order.push("high")))))
        const urgent = yield* Effect.forkChild(pool.use(() => Effect.sync(() => order.push("urgent")), { checkoutTimeout: "1 minute" }))
        yield* settle(() => pool.statusUnsafe().waiting === 3)
        yield* TestClock.adjust("1 second")
        expect((yield* Fiber.join(high))._tag).toBe("Failure")
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(holder)
        yield* Fiber.join(urgent)
        yield* Fiber.join(low)
        expect(order).toEqual(["urgent", "low"])
        expect(pool.statusUnsafe()).toMatchObject({ timeouts: 1, waiting: 0, idle: 1 })
      })
    )
  })
})
