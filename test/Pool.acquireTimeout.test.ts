import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Metric, References, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Errors from "../src/Errors.js"
import { type HealthComponent, HealthComponents } from "../src/internal/runtime/healthComponents.js"
import * as Pool from "../src/Pool.js"

/** Lets forked fibers run until `condition` holds (bounded), per the primer's §12b. */
const settle = (condition: () => boolean = () => false) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !condition(); i++) yield* Effect.yieldNow
  })

/**
 * An acquire whose n-th call (from 0) behaves as `plan[n]` (the last entry repeats):
 * "ok" succeeds at once, "never" never returns (but can be interrupted), a number returns after
 * that many millis ignoring interruption. Records what it created and what was released.
 */
const makeFactory = (plan: ReadonlyArray<"ok" | "never" | number>) => {
  let calls = 0
  let next = 0
  const live = new Set<number>()
  const released: Array<number> = []
  const create = Effect.sync(() => {
    const id = next++
    live.add(id)
    return id
  })
  return {
    live,
    released,
    get created() {
      return next
    },
    acquire: Effect.suspend(() => {
      const step = plan[Math.min(calls++, plan.length - 1)]!
      if (step === "ok") return create
      if (step === "never") return Effect.never
      return Effect.uninterruptible(Effect.andThen(Effect.sleep(step), create))
    }),
    release: (id: number) =>
      Effect.sync(() => {
        if (!live.delete(id)) throw new Error(`resource ${id} released twice or unknown`)
        released.push(id)
      })
  }
}

describe("Pool acquireTimeout", () => {
  it.effect("frees the slot of an acquire that exceeds acquireTimeout", () =>
    Effect.gen(function* () {
      const factory = makeFactory(["never", "ok"])
      const pool = yield* Pool.make({
        acquire: factory.acquire,
        release: factory.release,
        size: 1,
        checkoutTimeout: "10 seconds",
        acquireTimeout: "1 second"
      })
      const caller = yield* Effect.forkChild(pool.use(Effect.succeed))
      yield* settle(() => pool.statusUnsafe().creating === 1)
      yield* TestClock.adjust("999 millis")
      expect(caller.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      yield* settle(() => caller.pollUnsafe() !== undefined)
      // the caller kept its place and got the second attempt's resource
      expect(yield* Fiber.join(caller)).toBe(0)
      expect(pool.statusUnsafe()).toMatchObject({ creating: 0, inUse: 0, idle: 1, waiting: 0, created: 1 })
    })
  )

  it.effect("a pool whose acquire hangs serves again once the default acquireTimeout (30 seconds) passes", () =>
    Effect.gen(function* () {
      const factory = makeFactory(["never", "ok"])
      const pool = yield* Pool.make({ acquire: factory.acquire, release: factory.release, size: 1 })
      const first = yield* Effect.forkChild(Effect.flip(pool.use(Effect.succeed)))
      yield* TestClock.adjust("5 seconds")
      // the waiter is bounded by checkoutTimeout even while its creation hangs
      expect(yield* Fiber.join(first)).toBeInstanceOf(Errors.PoolCheckoutTimeout)
      yield* TestClock.adjust("25 seconds")
      expect(pool.statusUnsafe()).toMatchObject({ creating: 0, waiting: 0 })
      expect(yield* pool.use(Effect.succeed)).toBe(0)
    })
  )

  it.effect("releases a resource whose acquire returns after acquireTimeout and never hands it out", () =>
    Effect.gen(function* () {
      const factory = makeFactory([5000, "ok"])
      const pool = yield* Pool.make({
        acquire: factory.acquire,
        release: factory.release,
        size: 1,
        acquireTimeout: "1 second"
      })
      // served at 1 s by the second attempt; holds its resource for 5 s
      const caller = yield* Effect.forkChild(pool.use((id) => Effect.as(Effect.sleep("5 seconds"), id)))
      yield* TestClock.adjust("1 second")
      yield* settle(() => pool.statusUnsafe().inUse === 1)
      yield* TestClock.adjust("4 seconds") // the first acquire returns, 4 s after it was given up
      yield* settle(() => factory.released.length === 1)
      // ids are given in order of completion: 0 came from the retry, 1 is the late one
      expect(factory.released).toEqual([1])
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(caller)).toBe(0)
      expect(yield* pool.use(Effect.succeed)).toBe(0)
      // the late resource was created and destroyed; it never entered the pool
      expect(pool.statusUnsafe()).toMatchObject({ created: 2, destroyed: 1, idle: 1, inUse: 0, creating: 0 })
      expect([...factory.live]).toEqual([0])
    })
  )

  it.effect("counts timed-out creations as failed ones in the metrics", () =>
    Effect.gen(function* () {
      let calls = 0
      const acquire = Effect.suspend(() => {
        const n = calls++
        return n === 0 ? Effect.never : n === 1 ? Effect.fail("refused") : Effect.succeed(n)
      })
      const pool = yield* Pool.make({ acquire, size: 1, acquireTimeout: "1 second", name: "db" })
      const first = yield* Effect.forkChild(Effect.exit(pool.use(Effect.succeed)))
      yield* TestClock.adjust("1 second")
      // the retry failed: the waiter gets the typed error
      const exit = yield* Fiber.join(first)
      expect(Exit.isFailure(exit)).toBe(true)
      const snapshots = yield* Metric.snapshot
      const count = (reason: string) =>
        snapshots.find((s) => s.id === "foundation.pool.acquire_failures" && s.attributes?.pool === "db" && s.attributes?.reason === reason)
          ?.state
      expect(count("timeout")).toMatchObject({ count: 1 })
      expect(count("failure")).toMatchObject({ count: 1 })
      expect(pool.statusUnsafe()).toMatchObject({ acquireTimeouts: 1, acquireFailures: 2 })
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  it.effect("closing the pool is bounded by shutdownTimeout even while an acquire ignores interruption", () =>
    Effect.gen(function* () {
      const factory = makeFactory([60_000])
      const scope = yield* Scope.make()
      const pool = yield* Pool.make({
        acquire: factory.acquire,
        release: factory.release,
        size: 1,
        shutdownTimeout: "1 second",
        acquireTimeout: "10 minutes"
      }).pipe(Scope.provide(scope))
      const caller = yield* Effect.forkChild(Effect.exit(pool.use(Effect.succeed)))
      yield* settle(() => pool.statusUnsafe().creating === 1)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("1 second")
      yield* settle(() => closing.pollUnsafe() !== undefined)
      expect(closing.pollUnsafe()).toBeDefined()
      expect(Exit.hasInterrupts(yield* Fiber.join(caller))).toBe(true)
      yield* TestClock.adjust("1 minute") // the acquire returns after shutdown: released, once
      yield* settle(() => factory.released.length === 1)
      expect(factory.released).toEqual([0])
    }).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
  )

  it.effect("an acquire that leaves its uninterruptible region and then hangs is still interrupted", () =>
    Effect.gen(function* () {
      let interrupted = 0
      let calls = 0
      const acquire = Effect.suspend(() =>
        calls++ === 0
          ? Effect.uninterruptible(Effect.sleep("2 seconds")).pipe(
              Effect.andThen(Effect.never),
              Effect.onInterrupt(() => Effect.sync(() => interrupted++))
            )
          : Effect.succeed(calls)
      )
      const pool = yield* Pool.make({ acquire, size: 1, acquireTimeout: "1 second" })
      const caller = yield* Effect.forkChild(pool.use(Effect.succeed))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(caller)).toBe(2) // served by the second attempt
      expect(interrupted).toBe(0) // still in its uninterruptible region: interrupting it now would lose its resource
      yield* TestClock.adjust("2 seconds")
      yield* settle(() => interrupted === 1)
      expect(interrupted).toBe(1)
    })
  )

  it.effect("the health component is degraded while acquisitions fail or time out, healthy after a success", () =>
    Effect.gen(function* () {
      const components: Array<HealthComponent> = []
      const registry = Layer.succeed(HealthComponents, {
        register: (component) => Effect.sync(() => void components.push(component))
      })
      let plan: "never" | "fail" | "ok" = "never"
      const acquire = Effect.suspend(() => (plan === "never" ? Effect.never : plan === "fail" ? Effect.fail("refused") : Effect.succeed(1)))
      yield* Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire, size: 1, acquireTimeout: "1 second", checkoutTimeout: "500 millis", name: "db" })
        const component = components[0]!
        expect((yield* component.report).status).toBe("healthy")
        const timedOut = yield* Effect.forkChild(Effect.exit(pool.use(Effect.succeed)))
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(timedOut)
        expect(yield* component.report).toMatchObject({
          status: "degraded",
          details: { reason: "acquire failing", acquireFailures: 1, acquireTimeouts: 1, creating: 0 }
        })
        // a minute without another failure: no longer recent
        yield* TestClock.adjust("60 seconds")
        expect((yield* component.report).status).toBe("healthy")
        plan = "fail"
        yield* Effect.exit(pool.use(Effect.succeed))
        expect(yield* component.report).toMatchObject({ status: "degraded", details: { acquireFailures: 2 } })
        plan = "ok"
        expect(yield* pool.use(Effect.succeed)).toBe(1)
        expect((yield* component.report).status).toBe("healthy")
      }).pipe(Effect.provide(registry))
    }).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
  )
})
