/**
 * A pool's readiness, idle eviction, background validation, acquire retries and resizing.
 * Each behaviour taken from a peer names the peer test it translates.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Pool from "../src/Pool.js"

/** Lets forked fibers run until `condition` holds (bounded), per the primer's §12b. */
const settle = (condition: () => boolean = () => false) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !condition(); i++) yield* Effect.yieldNow
  })

/** a use that holds its resource across a yield, so concurrent uses each take one */
const holdOnce = <A>(pool: Pool.Pool<A>) => pool.use((resource) => Effect.as(Effect.yieldNow, resource))

describe("Pool lifecycle", () => {
  describe("ready", () => {
    // generic-pool test/generic-pool-test.js "should provide a way to wait until the pool is ready":
    // min 2, max 4; ready() resolves once at least min resources are available
    it.effect("ready waits until minIdle resources exist", () =>
      Effect.gen(function* () {
        let created = 0
        const pool = yield* Pool.make({
          acquire: Effect.delay(
            Effect.sync(() => created++),
            "10 millis"
          ),
          size: 4,
          minIdle: 2
        })
        const ready = yield* Effect.forkChild(pool.ready)
        yield* settle()
        expect(ready.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("10 millis")
        yield* Fiber.join(ready)
        expect(pool.statusUnsafe().idle).toBeGreaterThanOrEqual(2)
      })
    )

    it.effect("ready is immediate with minIdle 0", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 2 })
        yield* pool.ready
        expect(pool.statusUnsafe().created).toBe(0)
      })
    )

    it.effect("ready is bounded by readyTimeout and fails OperationTimeout naming the pool", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.never, size: 2, minIdle: 1, name: "db", readyTimeout: "2 seconds" })
        const ready = yield* Effect.forkChild(Effect.flip(pool.ready))
        yield* settle()
        yield* TestClock.adjust("2 seconds")
        const error = yield* Fiber.join(ready)
        expect(error).toMatchObject({ _tag: "OperationTimeout", operation: 'pool "db" ready' })
        expect(Duration.toMillis(error.timeout)).toBe(2000)
      })
    )

    it.effect("with awaitReady the layer is built once minIdle resources exist, or fails OperationTimeout", () =>
      Effect.gen(function* () {
        class Db extends Context.Service<Db, Pool.Pool<number>>()("test/Db") {}
        const warm = Pool.layer(Db, { acquire: Effect.delay(Effect.succeed(1), "5 millis"), size: 2, minIdle: 2, awaitReady: true })
        const built = yield* Effect.forkChild(Pool.status(Db).pipe(Effect.provide(warm)))
        yield* settle()
        yield* TestClock.adjust("5 millis")
        expect((yield* Fiber.join(built)).idle).toBe(2)

        const cold = Pool.layer(Db, { acquire: Effect.die("down"), size: 2, minIdle: 2, awaitReady: true, readyTimeout: "1 second" })
        const failed = yield* Effect.forkChild(Effect.exit(Pool.status(Db).pipe(Effect.provide(cold))))
        yield* settle()
        yield* TestClock.adjust("1 second")
        const exit = yield* Fiber.join(failed)
        expect(Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail" && exit.cause.reasons[0].error).toMatchObject({
          _tag: "OperationTimeout"
        })
      })
    )
  })

  describe("idle eviction, background validation, acquire retries", () => {
    // generic-pool test/generic-pool-test.js "evictor removes instances on idletimeout": min 2, max 2,
    // idleTimeoutMillis 50; after 120 ms the pool hands out a new resource (id > 1). Here with
    // minIdle 0, as tarn/HikariCP evict: base resources go once idle past idleTimeout
    it.effect('idleEviction "minIdle" destroys idle base resources past idleTimeout, down to minIdle', () =>
      Effect.gen(function* () {
        let next = 0
        const released: Array<number> = []
        const pool = yield* Pool.make({
          acquire: Effect.sync(() => next++),
          release: (id) => Effect.sync(() => released.push(id)),
          size: 3,
          minIdle: 1,
          idleTimeout: "50 millis",
          idleEviction: "minIdle"
        })
        yield* Effect.all([holdOnce(pool), holdOnce(pool), holdOnce(pool)], { concurrency: 3 })
        expect(pool.statusUnsafe().idle).toBe(3)
        yield* TestClock.adjust("100 millis")
        yield* settle(() => released.length === 2)
        expect(pool.statusUnsafe()).toMatchObject({ idle: 1, destroyed: 2 })
      })
    )

    it.effect('without idleEviction "minIdle", base resources are kept however long idle', () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 2, idleTimeout: "50 millis" })
        yield* Effect.all([holdOnce(pool), holdOnce(pool)], { concurrency: 2 })
        yield* TestClock.adjust("1 second")
        expect(pool.statusUnsafe()).toMatchObject({ idle: 2, destroyed: 0 })
      })
    )

    // HikariCP keepaliveTime: idle connections are checked in the background; a dead one is
    // removed and the pool refilled to minimumIdle
    it.effect("validateInterval checks idle resources; a failing one is destroyed and replaced up to minIdle", () =>
      Effect.gen(function* () {
        let next = 0
        const dead = new Set<number>()
        const pool = yield* Pool.make({
          acquire: Effect.sync(() => next++),
          validate: (id) => Effect.succeed(!dead.has(id)),
          size: 2,
          minIdle: 2,
          validateInterval: "1 second"
        })
        yield* settle(() => pool.statusUnsafe().idle === 2)
        dead.add(0)
        yield* TestClock.adjust("1 second")
        yield* settle(() => pool.statusUnsafe().created === 3 && pool.statusUnsafe().idle === 2)
        expect(pool.statusUnsafe()).toMatchObject({ idle: 2, destroyed: 1, created: 3, inUse: 0 })
        const ids = yield* Effect.all([holdOnce(pool), holdOnce(pool)], { concurrency: 2 })
        expect(ids.sort()).toEqual([1, 2])
      })
    )

    it.effect("validateInterval without validate fails InvalidConfig", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Pool.make({ acquire: Effect.succeed(1), size: 1, validateInterval: "1 second" }))
        expect(error).toMatchObject({ _tag: "InvalidConfig", path: "validateInterval" })
      })
    )

    // generic-pool test/generic-pool-test.js "handle creation errors": the factory fails, then
    // succeeds; here the failure is retried on acquireRetry's schedule instead of reaching the caller
    it.effect("acquireRetry retries a failed acquire on its schedule; the caller sees only the result", () =>
      Effect.gen(function* () {
        let attempts = 0
        const pool = yield* Pool.make({
          acquire: Effect.suspend(() => (++attempts < 3 ? Effect.fail("refused" as const) : Effect.succeed(attempts))),
          size: 1,
          acquireRetry: { times: 3, delay: "100 millis", backoff: "exponential" },
          checkoutTimeout: "10 seconds"
        })
        const caller = yield* Effect.forkChild(pool.use(Effect.succeed))
        yield* settle(() => attempts === 1)
        yield* TestClock.adjust("100 millis")
        yield* settle(() => attempts === 2)
        expect(attempts).toBe(2)
        yield* TestClock.adjust("199 millis")
        expect(attempts).toBe(2)
        yield* TestClock.adjust("1 millis")
        expect(yield* Fiber.join(caller)).toBe(3)
        expect(pool.statusUnsafe()).toMatchObject({ acquireFailures: 2, created: 1, creating: 0 })
      })
    )

    it.effect("when acquireRetry runs out, the waiter gets the last failure and the slot is free", () =>
      Effect.gen(function* () {
        let attempts = 0
        const pool = yield* Pool.make({
          acquire: Effect.suspend(() => Effect.fail(`refused ${++attempts}` as const)),
          size: 1,
          acquireRetry: { times: 2, delay: "10 millis", backoff: "fixed" }
        })
        const caller = yield* Effect.forkChild(Effect.flip(pool.use(Effect.succeed)))
        yield* settle()
        yield* TestClock.adjust("10 millis")
        yield* settle()
        yield* TestClock.adjust("10 millis")
        expect(yield* Fiber.join(caller)).toBe("refused 3")
        expect(pool.statusUnsafe()).toMatchObject({ acquireFailures: 3, creating: 0, waiting: 0 })
      })
    )
  })

  describe("resize", () => {
    it.effect("growing serves the waiters at once with new acquisitions", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 1 })
        const holder = yield* Effect.forkChild(pool.use(() => Effect.never))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const waiter = yield* Effect.forkChild(pool.use(Effect.succeed))
        yield* settle(() => pool.statusUnsafe().waiting === 1)
        yield* pool.resize({ size: 2 })
        expect(yield* Fiber.join(waiter)).toBe(1)
        expect(pool.statusUnsafe()).toMatchObject({ size: 2, created: 2, waiting: 0 })
        yield* Fiber.interrupt(holder)
      })
    )

    it.effect("shrinking destroys idle resources over the new maximum; in-use ones are destroyed when returned", () =>
      Effect.gen(function* () {
        let next = 0
        const released: Array<number> = []
        const pool = yield* Pool.make({
          acquire: Effect.sync(() => next++),
          release: (id) => Effect.sync(() => released.push(id)),
          size: 4,
          minIdle: 4
        })
        yield* settle(() => pool.statusUnsafe().idle === 4)
        const latch = yield* Effect.forkChild(
          Effect.all([pool.use(() => Effect.sleep("1 second")), pool.use(() => Effect.sleep("1 second"))], { concurrency: 2 })
        )
        yield* settle(() => pool.statusUnsafe().inUse === 2)
        yield* pool.resize({ size: 1, minIdle: 0 })
        yield* settle(() => released.length === 2)
        // both idle ones went at once; the two in use were not interrupted
        expect(pool.statusUnsafe()).toMatchObject({ size: 1, idle: 0, inUse: 2, destroyed: 2 })
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(latch)
        yield* settle(() => released.length === 3)
        // one returned resource was over the maximum and destroyed; the other is kept
        expect(pool.statusUnsafe()).toMatchObject({ idle: 1, inUse: 0, destroyed: 3 })
      })
    )

    it.effect("waiters keep their place through a shrink and are served within the new maximum", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 2, checkoutTimeout: "10 seconds" })
        const holders = yield* Effect.forkChild(
          Effect.all([pool.use(() => Effect.sleep("1 second")), pool.use(() => Effect.sleep("1 second"))], { concurrency: 2 })
        )
        yield* settle(() => pool.statusUnsafe().inUse === 2)
        const waiter = yield* Effect.forkChild(pool.use(Effect.succeed))
        yield* settle(() => pool.statusUnsafe().waiting === 1)
        yield* pool.resize({ size: 1 })
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(holders)
        expect(yield* Fiber.join(waiter)).toBe(1)
        yield* settle()
        const status = pool.statusUnsafe()
        expect(status.idle + status.inUse + status.creating).toBeLessThanOrEqual(1)
      })
    )

    it.effect("a bad resize fails InvalidConfig and changes nothing", () =>
      Effect.gen(function* () {
        class Db extends Context.Service<Db, Pool.Pool<number>>()("test/DbResize") {}
        const layer = Pool.layer(Db, { acquire: Effect.succeed(1), size: 2, minIdle: 1 })
        const errors = yield* Effect.gen(function* () {
          const zero = yield* Effect.flip(Pool.resize(Db, { size: 0 }))
          const belowMinIdle = yield* Effect.flip(Pool.resize(Db, { size: 1, minIdle: 2 }))
          const typo = yield* Effect.flip(Pool.resize(Db, { sise: 3 } as Pool.Resize))
          return { zero, belowMinIdle, typo, status: yield* Pool.status(Db) }
        }).pipe(Effect.provide(layer))
        expect(errors.zero).toMatchObject({ _tag: "InvalidConfig", path: "size" })
        expect(errors.belowMinIdle).toMatchObject({ _tag: "InvalidConfig", path: "minIdle" })
        expect(errors.typo.message).toContain("sise")
        expect(errors.status).toMatchObject({ size: 2, maxOverflow: 0 })
      })
    )
  })
})
