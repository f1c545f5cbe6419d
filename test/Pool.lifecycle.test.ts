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
})
