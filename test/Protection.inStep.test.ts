/**
 * `protect` and `protectWith` run the rate limit, the breaker and an idle pool checkout in one
 * run-loop step, and go the staged way from the stage that cannot answer at once. These tests
 * take each way out of that step (a wait for the call's slot, a probe, no idle resource, a
 * pool that validates, a breaker timeout, services that are not ours) and interrupt the call
 * at every step: no resource is ever kept, no interruption is ever a breaker failure.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Metric } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker, Pool, Protection, RateLimiter, Telemetry } from "../src/index.js"
import { breakerDouble } from "./support/breakerDouble.js"

class Db extends Context.Service<Db, Pool.Pool<number>>()("test/inStep/Db") {}

const layerWith = (pool: Layer.Layer<Db, unknown>, breaker: { readonly callTimeout?: string } = {}) =>
  Layer.mergeAll(
    CircuitBreaker.layer({ breakers: { db: { failureThreshold: 3, resetTimeout: "10 seconds", ...breaker } } }),
    RateLimiter.layer({
      rules: {
        api: { algorithm: "fixed-window", limit: 100, window: "1 second" },
        paced: { algorithm: "fixed-window", limit: 1, window: "1 second", onExceeded: "delay" }
      }
    }),
    pool
  )

const Live = layerWith(Pool.layer(Db, { acquire: Effect.succeed(1), size: 2, minIdle: 2, checkoutTimeout: "1 second" }))

const policy = { rateLimit: { rule: "api", key: "k" }, circuitBreaker: "db", timeout: "5 seconds" } as const
const breakerStatus = CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))
const poolStatus = Db.use((pool) => pool.status)

describe("Protection: the stages in one step", () => {
  it.effect("a failure returns the resource and is the breaker's failure; a defect destroys the resource", () =>
    Effect.gen(function* () {
      expect(yield* Effect.flip(Protection.protectWith(Db, policy, () => Effect.fail("503" as const)))).toBe("503")
      expect(yield* poolStatus).toMatchObject({ inUse: 0, idle: 2, destroyed: 0 })
      const died = yield* Effect.exit(Protection.protectWith(Db, policy, () => Effect.die("boom")))
      expect(Exit.hasDies(died)).toBe(true)
      const thrown = yield* Effect.exit(
        Protection.protectWith(Db, policy, (): Effect.Effect<number> => {
          throw new Error("thrown")
        })
      )
      expect(Exit.hasDies(thrown)).toBe(true)
      expect(yield* poolStatus).toMatchObject({ inUse: 0, destroyed: 2 })
      expect(yield* breakerStatus).toMatchObject({ state: "Open", failures: 3, successes: 0 })
      // open: rejected before any checkout
      const checkouts = (yield* poolStatus).checkouts
      expect((yield* Effect.flip(Protection.protectWith(Db, policy, Effect.succeed)))._tag).toBe("CircuitBreakerOpen")
      expect((yield* poolStatus).checkouts).toBe(checkouts)
    }).pipe(Effect.provide(Live))
  )

  it.effect("a call that waits for its rate-limit slot goes on through the breaker and the pool", () =>
    Effect.gen(function* () {
      const paced = { rateLimit: { rule: "paced", key: "k" }, circuitBreaker: "db" } as const
      expect(yield* Protection.protectWith(Db, paced, (c) => Effect.succeed(c + 1))).toBe(2)
      const second = yield* Effect.forkChild(
        Protection.protectWith(Db, paced, (c) => Effect.succeed(c + 2)),
        { startImmediately: true }
      )
      yield* TestClock.adjust("500 millis")
      expect(second.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("500 millis")
      expect(yield* Fiber.join(second)).toBe(3)
      expect(yield* breakerStatus).toMatchObject({ successes: 2 })
      expect(yield* poolStatus).toMatchObject({ inUse: 0, checkouts: 2 })
    }).pipe(Effect.provide(Live))
  )

  it.effect("a half-open probe is admitted in its own frame and closes the breaker", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 3; i++) yield* Effect.exit(Protection.protectWith(Db, policy, () => Effect.fail("503" as const)))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Protection.protectWith(Db, policy, Effect.succeed)).toBe(1)
      expect(yield* breakerStatus).toMatchObject({ state: "Closed" })
      expect(yield* poolStatus).toMatchObject({ inUse: 0, idle: 2 })
    }).pipe(Effect.provide(Live))
  )

  it.effect("with no idle resource the pool's own checkout waits, inside the breaker's frame", () =>
    Effect.gen(function* () {
      const calls = yield* Effect.forEach(Array.from({ length: 6 }), (_, i) =>
        Effect.forkChild(
          Protection.protectWith(Db, policy, (c) => Effect.as(Effect.sleep("100 millis"), c + i)),
          { startImmediately: true }
        )
      )
      yield* TestClock.adjust("300 millis")
      expect(yield* Fiber.joinAll(calls)).toEqual([1, 2, 3, 4, 5, 6])
      expect(yield* breakerStatus).toMatchObject({ successes: 6, failures: 0 })
      expect(yield* poolStatus).toMatchObject({ inUse: 0, idle: 2, checkouts: 6 })
    }).pipe(Effect.provide(Live))
  )

  it.effect("one protected effect value run by several fibers at once: each run checks out on its own", () =>
    Effect.gen(function* () {
      const call = Protection.protectWith(Db, policy, (c) => Effect.as(Effect.sleep("10 millis"), c))
      const runs = yield* Effect.forEach(Array.from({ length: 6 }), () => Effect.forkChild(call, { startImmediately: true }))
      yield* TestClock.adjust("30 millis")
      expect(yield* Fiber.joinAll(runs)).toEqual([1, 1, 1, 1, 1, 1])
      expect(yield* poolStatus).toMatchObject({ inUse: 0, idle: 2 })
    }).pipe(Effect.provide(Live))
  )

  it.effect("a pool that validates its resources checks them out itself", () => {
    let validated = 0
    const validating = Pool.layer(Db, {
      acquire: Effect.succeed(1),
      size: 1,
      validate: () => Effect.sync(() => ++validated > 0)
    })
    return Effect.gen(function* () {
      for (let i = 0; i < 3; i++) expect(yield* Protection.protectWith(Db, policy, Effect.succeed)).toBe(1)
      // the first checkout of a new resource is not validated
      expect(validated).toBe(2)
      expect(yield* breakerStatus).toMatchObject({ successes: 3 })
    }).pipe(Effect.provide(layerWith(validating)))
  })

  it.effect("a breaker's callTimeout bounds the checkout and the call, and gives the resource back", () =>
    Effect.gen(function* () {
      const slow = yield* Effect.forkChild(Effect.flip(Protection.protectWith(Db, policy, () => Effect.never)), {
        startImmediately: true
      })
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(slow))._tag).toBe("OperationTimeout")
      expect(yield* breakerStatus).toMatchObject({ failures: 1 })
      expect(yield* poolStatus).toMatchObject({ inUse: 0, idle: 2 })
    }).pipe(
      Effect.provide(
        layerWith(Pool.layer(Db, { acquire: Effect.succeed(1), size: 2, minIdle: 2, checkoutTimeout: "1 second" }), {
          callTimeout: "1 second"
        })
      )
    )
  )

  it.effect("a breaker that is not ours receives the calls through its execute", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const double = breakerDouble(seen)
      const layer = Layer.mergeAll(
        double,
        RateLimiter.layer({ rules: { api: { algorithm: "fixed-window", limit: 100, window: "1 second" } } }),
        Pool.layer(Db, { acquire: Effect.succeed(1), size: 1 })
      )
      const result = yield* Protection.protectWith(Db, policy, (c) => Effect.succeed(c + 1)).pipe(Effect.provide(layer))
      const plain = yield* Effect.succeed(7).pipe(Protection.protect(policy), Effect.provide(layer))
      expect([result, plain]).toEqual([2, 7])
      expect(seen).toEqual(["db", "db"])
    })
  )

  it.effect("interrupted at any step: the resource goes back, and the interruption is not a breaker failure", () =>
    Effect.gen(function* () {
      const work = (c: number) => Effect.andThen(Effect.yieldNow, Effect.andThen(Effect.yieldNow, Effect.succeed(c)))
      let completed = 0
      for (let steps = 0; steps < 12; steps++) {
        const call = Protection.protectWith(Db, policy, work).pipe(Effect.tap(() => Effect.sync(() => completed++)))
        const fiber = yield* Effect.forkChild(call, { startImmediately: steps % 2 === 0 })
        for (let i = 0; i < steps; i++) yield* Effect.yieldNow
        yield* Fiber.interrupt(fiber)
        expect(yield* poolStatus).toMatchObject({ inUse: 0, idle: 2, destroyed: 0 })
      }
      const status = yield* breakerStatus
      expect(status).toMatchObject({ state: "Closed", failures: 0 })
      // a run that finished before its interruption counted as a success, and only those
      expect(status.successes).toBeGreaterThanOrEqual(completed)
      expect(status.successes).toBeLessThan(12)
    }).pipe(Effect.provide(Live))
  )

  it.effect("interrupted while waiting for a resource, or just handed one: the resource goes back, no waiter is left", () =>
    Effect.gen(function* () {
      const pool = yield* Db
      for (let steps = 0; steps < 10; steps++) {
        // both resources held outside the facade: the call waits inside its frame
        const release = yield* Deferred.make<void>()
        const holders = yield* Effect.forEach([1, 2], () =>
          Effect.forkChild(
            pool.use(() => Deferred.await(release)),
            { startImmediately: true }
          )
        )
        const waiting = yield* Effect.forkChild(Protection.protectWith(Db, policy, Effect.succeed), { startImmediately: true })
        expect(yield* poolStatus).toMatchObject({ waiting: 1 })
        // the resources come back (one is handed to the waiter), then the waiter is interrupted
        // at one of the next steps: before it resumed, or while it runs its use
        yield* Deferred.succeed(release, undefined)
        for (let i = 0; i < steps; i++) yield* Effect.yieldNow
        yield* Fiber.interrupt(waiting)
        yield* Fiber.joinAll(holders)
        expect(yield* poolStatus).toMatchObject({ inUse: 0, idle: 2, waiting: 0, destroyed: 0 })
      }
      expect(yield* breakerStatus).toMatchObject({ state: "Closed", failures: 0 })
    }).pipe(Effect.provide(Live))
  )

  it.effect("the duration histogram records each call once, under its outcome, from whichever frame ends it", () =>
    Effect.gen(function* () {
      const counted = Effect.map(Metric.snapshot, (all) =>
        Object.fromEntries(
          all
            .filter((m) => m.id === Telemetry.metrics.protectionDuration && m.attributes?.profile === "db")
            .map((m) => [m.attributes?.outcome, m.state as { readonly count: number; readonly sum: number }])
        )
      )
      const slow = (c: number) => Effect.as(Effect.sleep("5 millis"), c)
      // the fused frame: a success that took 5 ms, a failure
      const fiber = yield* Effect.forkChild(Protection.protectWith(Db, policy, slow), { startImmediately: true })
      yield* TestClock.adjust("5 millis")
      yield* Fiber.join(fiber)
      yield* Effect.exit(Protection.protectWith(Db, policy, () => Effect.fail("503" as const)))
      // a call that waited 1 s for its rate-limit slot: measured from its start, recorded once
      const paced = { rateLimit: { rule: "paced", key: "t" }, circuitBreaker: "db" } as const
      yield* Protection.protectWith(Db, paced, Effect.succeed)
      const waited = yield* Effect.forkChild(Protection.protectWith(Db, paced, Effect.succeed), { startImmediately: true })
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(waited)
      const first = yield* counted
      expect(first).toMatchObject({ success: { count: 3 }, failure: { count: 1 } })
      // 5 ms, then the wait to the next window (what is left of the second after the first 5 ms)
      expect(first.success!.sum).toBe(1000)
      // three failures in a row open the breaker; its rejection is recorded by a frame of its own
      for (let i = 0; i < 3; i++) yield* Effect.exit(Protection.protectWith(Db, policy, () => Effect.fail("503" as const)))
      expect((yield* Effect.flip(Protection.protectWith(Db, policy, Effect.succeed)))._tag).toBe("CircuitBreakerOpen")
      expect(yield* counted).toMatchObject({ success: { count: 3 }, failure: { count: 4 }, rejected: { count: 1, sum: 0 } })
    }).pipe(Effect.provide(Live), Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  it.effect("protect: the rate limit and the breaker in one step, a rate-limited call never reaching the breaker", () =>
    Effect.gen(function* () {
      const tight = { rateLimit: { rule: "paced", key: "p" }, circuitBreaker: "db" } as const
      expect(yield* Effect.succeed(1).pipe(Protection.protect(tight))).toBe(1)
      const failing = Effect.fail("503" as const).pipe(Protection.protect({ circuitBreaker: "db", timeout: "1 second" }))
      for (let i = 0; i < 3; i++) expect(yield* Effect.flip(failing)).toBe("503")
      expect((yield* Effect.flip(Effect.succeed(1).pipe(Protection.protect(policy))))._tag).toBe("CircuitBreakerOpen")
      expect(yield* breakerStatus).toMatchObject({ state: "Open", failures: 3, successes: 1 })
    }).pipe(Effect.provide(Live))
  )
})
