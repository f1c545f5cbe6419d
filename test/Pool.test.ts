import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer, Logger, Metric, Option, References, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Errors from "../src/Errors.js"
import { HealthComponents, type HealthComponent } from "../src/internal/runtime/healthComponents.js"
import * as Pool from "../src/Pool.js"

/** A fake resource factory that records every acquire and release. */
const makeFactory = (options: { acquireDelay?: Duration.Input; failAcquire?: () => boolean } = {}) => {
  let next = 0
  const live = new Set<number>()
  const released: Array<number> = []
  const factory = {
    live,
    released,
    get created() {
      return next
    },
    acquire: Effect.suspend(() => {
      if (options.failAcquire?.()) return Effect.fail("connect refused" as const)
      const id = next++
      live.add(id)
      return Effect.succeed(id)
    }).pipe(options.acquireDelay === undefined ? (e) => e : Effect.delay(options.acquireDelay)),
    release: (id: number) =>
      Effect.sync(() => {
        if (!live.delete(id)) throw new Error(`resource ${id} released twice`)
        released.push(id)
      })
  }
  return factory
}

/** Lets forked fibers run until `condition` holds (bounded), per the primer's §12b. */
const settle = (condition: () => boolean = () => false) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !condition(); i++) yield* Effect.yieldNow
  })

describe("Pool", () => {
  describe("configuration", () => {
    const invalid: Array<[string, Partial<Pool.Options<number, never, never>>, string]> = [
      ["size 0", { size: 0 }, "size"],
      ["size -1", { size: -1 }, "size"],
      ["size 1.5", { size: 1.5 }, "size"],
      ["size NaN", { size: NaN }, "size"],
      ["maxOverflow -1", { size: 1, maxOverflow: -1 }, "maxOverflow"],
      ["maxOverflow 0.5", { size: 1, maxOverflow: 0.5 }, "maxOverflow"],
      ["minIdle above size", { size: 2, minIdle: 3 }, "minIdle"],
      ["checkoutTimeout 0", { size: 1, checkoutTimeout: 0 }, "checkoutTimeout"],
      ["checkoutTimeout negative", { size: 1, checkoutTimeout: "-1 second" }, "checkoutTimeout"],
      ["idleTimeout 0", { size: 1, idleTimeout: Duration.zero }, "idleTimeout"],
      ["maxLifetime NaN", { size: 1, maxLifetime: NaN }, "maxLifetime"],
      ["shutdownTimeout 0", { size: 1, shutdownTimeout: 0 }, "shutdownTimeout"],
      ["leakWarning 0", { size: 1, leakWarning: 0 }, "leakWarning"],
      ["lifetimeJitter 1", { size: 1, lifetimeJitter: 1 }, "lifetimeJitter"],
      ["strategy", { size: 1, strategy: "random" as "fifo" }, "strategy"]
    ]
    it.effect.each(invalid)("rejects %s with InvalidConfig naming the path", ([, options, path]) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Pool.make({ acquire: Effect.succeed(1), size: 1, ...options }))
        expect(error._tag).toBe("InvalidConfig")
        expect((error as Errors.InvalidConfig).path).toBe(path)
        expect(error.message).toContain(path)
      })
    )

    it.effect("lists every problem at once", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          Pool.make({ acquire: Effect.succeed(1), size: 0, maxOverflow: -2, checkoutTimeout: 0, name: "db" })
        )
        expect((error as Errors.InvalidConfig).path).toBe("size")
        for (const part of ["size", "maxOverflow", "checkoutTimeout", '"db"']) expect(error.message).toContain(part)
      })
    )

    it.effect("a layer with bad options fails to build with InvalidConfig", () =>
      Effect.gen(function* () {
        class Bad extends Context.Service<Bad, Pool.Pool<number>>()("test/Bad") {}
        const exit = yield* Effect.exit(Effect.provide(Pool.status(Bad), Pool.layer(Bad, { acquire: Effect.succeed(1), size: 0 })))
        expect(Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail").toBe(true)
      })
    )
  })

  describe("checkout", () => {
    it.effect("creates lazily by default and reuses an idle resource", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const pool = yield* Pool.make({ acquire: factory.acquire, release: factory.release, size: 3 })
        expect(factory.created).toBe(0)
        const first = yield* pool.use(Effect.succeed)
        const second = yield* pool.use(Effect.succeed)
        expect([first, second]).toEqual([0, 0])
        const status = yield* pool.status
        expect(status).toMatchObject({ idle: 1, inUse: 0, created: 1, destroyed: 0, checkouts: 2, reused: 1 })
      })
    )

    it.effect("minIdle creates eagerly at start", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const pool = yield* Pool.make({ acquire: factory.acquire, size: 4, minIdle: 2 })
        yield* settle(() => factory.created === 2)
        expect((yield* pool.status).idle).toBe(2)
      })
    )

    it.effect("a timed-out checkout fails PoolCheckoutTimeout with pool, timeout and waiting", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const pool = yield* Pool.make({ acquire: factory.acquire, size: 1, checkoutTimeout: "1 second", name: "db" })
        const holder = yield* Effect.forkChild(pool.use(() => Effect.never))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const a = yield* Effect.forkChild(Effect.flip(pool.use(Effect.succeed)))
        const b = yield* Effect.forkChild(Effect.flip(pool.use(Effect.succeed)))
        yield* settle(() => pool.statusUnsafe().waiting === 2)
        yield* TestClock.adjust("999 millis")
        expect(a.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("1 millis")
        const error = yield* Fiber.join(a)
        expect(error).toBeInstanceOf(Errors.PoolCheckoutTimeout)
        expect(error).toMatchObject({ _tag: "PoolCheckoutTimeout", code: "pool_checkout_timeout", pool: "db", waiting: 2 })
        expect(Duration.toMillis((error as Errors.PoolCheckoutTimeout).timeout)).toBe(1000)
        expect((error as Errors.PoolCheckoutTimeout).message).toContain("db")
        yield* Fiber.join(b)
        expect(yield* pool.status).toMatchObject({ timeouts: 2, waiting: 0, inUse: 1 })
        yield* Fiber.interrupt(holder)
        expect(yield* pool.status).toMatchObject({ inUse: 0, idle: 1 })
      })
    )

    it.effect("serves waiters first come, first served", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed("r"), size: 1 })
        const order: Array<number> = []
        const gate = yield* Effect.forkChild(pool.use(() => Effect.sleep("10 millis")))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const fibers = []
        for (let i = 0; i < 5; i++) {
          fibers.push(yield* Effect.forkChild(pool.use(() => Effect.sync(() => order.push(i)))))
          yield* settle(() => pool.statusUnsafe().waiting === i + 1)
        }
        yield* TestClock.adjust("10 millis")
        yield* Fiber.join(gate)
        for (const fiber of fibers) yield* Fiber.join(fiber)
        expect(order).toEqual([0, 1, 2, 3, 4])
      })
    )

    it.effect("a newcomer never overtakes a waiter", () =>
      Effect.gen(function* () {
        // a resource is returned while a waiter is queued: it goes to the waiter, not to the idle list
        const pool = yield* Pool.make({ acquire: Effect.succeed("r"), size: 1 })
        const holder = yield* Effect.forkChild(pool.use(() => Effect.sleep("5 millis")))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const waiter = yield* Effect.forkChild(pool.use(() => Effect.sleep("5 millis")))
        yield* settle(() => pool.statusUnsafe().waiting === 1)
        yield* TestClock.adjust("5 millis")
        yield* Fiber.join(holder)
        expect(pool.statusUnsafe()).toMatchObject({ idle: 0, inUse: 1, waiting: 0 })
        yield* TestClock.adjust("5 millis")
        yield* Fiber.join(waiter)
      })
    )

    it.effect("an interruption landing at any step of a checkout never leaks the resource", () =>
      Effect.gen(function* () {
        // the scheduler may yield a fiber between any two steps when its op budget runs out;
        // with a budget of a few ops and the interruption sent after k yields, k sweeps every
        // step of the checkout: idle and waiting paths, with and without validation
        for (const budget of [3, 4, 5, 6]) {
          for (let k = 0; k < 40; k++) {
            for (const [busy, validated] of [
              [false, false],
              [true, false],
              [false, true],
              [true, true]
            ]) {
              const scope = yield* Scope.make()
              const pool = yield* Pool.make({
                acquire: Effect.succeed("r"),
                size: 1,
                ...(validated ? { validate: () => Effect.succeed(true) } : {})
              }).pipe(Scope.provide(scope))
              yield* pool.use(Effect.succeed) // one idle resource
              const holder = busy ? yield* Effect.forkChild(pool.use(() => Effect.yieldNow)) : undefined
              const caller = yield* Effect.forkChild(
                pool.use(() => Effect.never).pipe(Effect.provideService(References.MaxOpsBeforeYield, budget))
              )
              for (let i = 0; i < k; i++) yield* Effect.yieldNow
              yield* Fiber.interrupt(caller)
              if (holder) yield* Fiber.join(holder)
              const status = pool.statusUnsafe()
              expect(status).toMatchObject({ inUse: 0, waiting: 0 })
              // an interrupted validation destroys the resource (its state is unknown): no leak
              // means it is idle or destroyed, never lost
              expect(status.created - status.destroyed).toBe(status.idle)
              if (!validated) expect(status.idle).toBe(1)
              yield* Scope.close(scope, Exit.void)
            }
          }
        }
      })
    )

    it.effect("an interrupted waiter leaves the queue and takes nothing with it", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const pool = yield* Pool.make({ acquire: factory.acquire, release: factory.release, size: 1 })
        const holder = yield* Effect.forkChild(pool.use(() => Effect.sleep("1 second")))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const waiter = yield* Effect.forkChild(pool.use(Effect.succeed))
        yield* settle(() => pool.statusUnsafe().waiting === 1)
        yield* Fiber.interrupt(waiter)
        expect(pool.statusUnsafe().waiting).toBe(0)
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(holder)
        expect(yield* pool.status).toMatchObject({ idle: 1, inUse: 0, waiting: 0, created: 1 })
      })
    )

    it.effect("overflow resources are created under load and destroyed after idleTimeout", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const pool = yield* Pool.make({
          acquire: factory.acquire,
          release: factory.release,
          size: 2,
          maxOverflow: 2,
          idleTimeout: "10 seconds"
        })
        const users = []
        for (let i = 0; i < 5; i++) users.push(yield* Effect.forkChild(pool.use(() => Effect.sleep("1 second"))))
        yield* settle(() => pool.statusUnsafe().inUse === 4)
        expect(pool.statusUnsafe()).toMatchObject({ inUse: 4, overflow: 2, waiting: 1, created: 4 })
        yield* TestClock.adjust("2 seconds")
        for (const user of users) yield* Fiber.join(user)
        expect(pool.statusUnsafe()).toMatchObject({ idle: 4, overflow: 2 })
        yield* TestClock.adjust("9 seconds") // idle for 9s: not yet
        expect(pool.statusUnsafe().idle).toBe(4)
        yield* TestClock.adjust("6 seconds") // idle for 15s: housekeeping ran (at most idleTimeout/2 late)
        yield* settle(() => factory.released.length === 2)
        expect(pool.statusUnsafe()).toMatchObject({ idle: 2, overflow: 0, destroyed: 2 })
        expect(factory.live.size).toBe(2)
      })
    )

    it.effect("lifo hands out the warm resource, fifo spreads use", () =>
      Effect.gen(function* () {
        for (const [strategy, expected] of [
          ["lifo", [0, 0, 0]],
          ["fifo", [1, 0, 1]]
        ] as const) {
          const factory = makeFactory()
          const pool = yield* Pool.make({ acquire: factory.acquire, size: 2, strategy })
          // create two resources: 1 comes back first, then 0 (the most recent)
          yield* pool.use((a) => pool.use((b) => Effect.succeed([a, b])))
          const seen = []
          for (let i = 0; i < 3; i++) seen.push(yield* pool.use(Effect.succeed))
          expect(seen).toEqual(expected)
        }
      })
    )
  })

  describe("failures", () => {
    it.effect("a failing acquire fails its waiter with the typed error and frees the slot", () =>
      Effect.gen(function* () {
        let failing = true
        const factory = makeFactory({ failAcquire: () => failing })
        const pool = yield* Pool.make({ acquire: factory.acquire, size: 1 })
        for (let i = 0; i < 3; i++) expect(yield* Effect.flip(pool.use(Effect.succeed))).toBe("connect refused")
        expect(pool.statusUnsafe()).toMatchObject({ creating: 0, inUse: 0, idle: 0, created: 0 })
        failing = false
        expect(yield* pool.use(Effect.succeed)).toBe(0)
      })
    )

    it.effect("acquire failures with many waiters fail each once and never get stuck", () =>
      Effect.gen(function* () {
        let failures = 3
        const factory = makeFactory({ failAcquire: () => failures-- > 0, acquireDelay: "10 millis" })
        const pool = yield* Pool.make({ acquire: factory.acquire, size: 2, checkoutTimeout: "1 minute" })
        const fibers = []
        for (let i = 0; i < 6; i++) fibers.push(yield* Effect.forkChild(Effect.exit(pool.use(() => Effect.sleep("5 millis")))))
        for (let i = 0; i < 20; i++) yield* TestClock.adjust("5 millis")
        const exits = []
        for (const fiber of fibers) exits.push(yield* Fiber.join(fiber))
        expect(exits.filter(Exit.isFailure).length).toBe(3)
        expect(exits.filter(Exit.isSuccess).length).toBe(3)
        expect(pool.statusUnsafe()).toMatchObject({ waiting: 0, inUse: 0, creating: 0, created: 2, idle: 2 })
      })
    )

    it.effect("a resource whose use died is destroyed and replaced", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const pool = yield* Pool.make({ acquire: factory.acquire, release: factory.release, size: 1 })
        const exit = yield* Effect.exit(pool.use(() => Effect.die("boom")))
        expect(Exit.isFailure(exit)).toBe(true)
        yield* settle(() => factory.released.length === 1)
        expect(factory.released).toEqual([0])
        expect(yield* pool.use(Effect.succeed)).toBe(1)
        // a typed failure or an interruption returns the resource
        yield* Effect.flip(pool.use(() => Effect.fail("nope")))
        const fiber = yield* Effect.forkChild(pool.use(() => Effect.never))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        yield* Fiber.interrupt(fiber)
        expect(yield* pool.use(Effect.succeed)).toBe(1)
        expect(pool.statusUnsafe()).toMatchObject({ created: 2, destroyed: 1, idle: 1 })
      })
    )

    it.effect("a slot freed by a dead resource goes to a waiter even when the pool is below minIdle", () =>
      Effect.gen(function* () {
        // found by the core's model test: the minIdle top-up (bounded by size) used to replace
        // the waiters' claim (bounded by size + maxOverflow), so the waiter got nothing
        const factory = makeFactory()
        const pool = yield* Pool.make({
          acquire: factory.acquire,
          release: factory.release,
          size: 2,
          maxOverflow: 1,
          minIdle: 2,
          checkoutTimeout: "1 second"
        })
        yield* settle(() => pool.statusUnsafe().idle === 2)
        const holders = [yield* Effect.forkChild(pool.use(() => Effect.never)), yield* Effect.forkChild(pool.use(() => Effect.never))]
        yield* Effect.forkChild(Effect.exit(pool.use(() => Effect.andThen(Effect.sleep("10 millis"), Effect.die("boom")))))
        yield* settle(() => pool.statusUnsafe().inUse === 3)
        const waiter = yield* Effect.forkChild(pool.use((id) => Effect.succeed(id)))
        yield* settle(() => pool.statusUnsafe().waiting === 1)
        yield* TestClock.adjust("10 millis")
        yield* settle(() => waiter.pollUnsafe() !== undefined)
        const status = pool.statusUnsafe()
        const served = waiter.pollUnsafe()
        yield* Fiber.interruptAll([...holders, waiter])
        expect(status).toMatchObject({ inUse: 2, waiting: 0, created: 4, destroyed: 1, timeouts: 0 })
        expect(served).toEqual(Exit.succeed(3))
      })
    )

    it.effect("a failed validation destroys and replaces the resource, never handing it out", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const broken = new Set<number>()
        const pool = yield* Pool.make({
          acquire: factory.acquire,
          release: factory.release,
          size: 2,
          validate: (id) => (id === 1 ? Effect.die("validator crashed") : Effect.succeed(!broken.has(id)))
        })
        expect(yield* pool.use(Effect.succeed)).toBe(0)
        broken.add(0)
        expect(yield* pool.use(Effect.succeed)).toBe(1) // 0 fails validation; 1 is fresh (not validated)
        expect(yield* pool.use(Effect.succeed)).toBe(2) // 1's validator dies: replaced too
        yield* settle(() => factory.released.length === 2)
        expect(factory.released).toEqual([0, 1])
        expect(pool.statusUnsafe()).toMatchObject({ created: 3, destroyed: 2, idle: 1 })
      })
    )

    it.effect("release errors are logged, counted destroyed, and never reach the caller", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), release: () => Effect.fail("cannot close"), size: 1 })
        const exit = yield* Effect.exit(pool.use(() => Effect.die("boom")))
        expect(Exit.isFailure(exit) && exit.cause.reasons[0]?._tag).toBe("Die")
        yield* settle()
        expect(pool.statusUnsafe()).toMatchObject({ destroyed: 1, inUse: 0 })
        expect(yield* pool.use(Effect.succeed)).toBe(1)
      })
    )
  })

  describe("lifetimes", () => {
    it.effect("maxLifetime retires a resource when it comes back after its lifetime", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const pool = yield* Pool.make({
          acquire: factory.acquire,
          release: factory.release,
          size: 1,
          maxLifetime: "1 minute",
          lifetimeJitter: 0
        })
        yield* pool.use(() => TestClock.adjust("30 seconds"))
        expect(factory.released).toEqual([])
        yield* pool.use(() => TestClock.adjust("30 seconds")) // comes back at 60s: retired
        yield* settle(() => factory.released.length === 1)
        expect(factory.released).toEqual([0])
        expect(yield* pool.use(Effect.succeed)).toBe(1)
      })
    )

    it.effect("jitter retires each resource within [maxLifetime * (1 - jitter), maxLifetime]", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const pool = yield* Pool.make({
          acquire: factory.acquire,
          release: factory.release,
          size: 1,
          maxLifetime: "100 seconds",
          lifetimeJitter: 0.5
        })
        yield* pool.use(Effect.succeed)
        yield* TestClock.adjust("49 seconds")
        yield* pool.use(Effect.succeed)
        expect(factory.released).toEqual([])
        yield* TestClock.adjust("51 seconds")
        yield* settle(() => factory.released.length === 1) // housekeeping or the checkout retires it
        yield* pool.use(Effect.succeed)
        yield* settle(() => factory.released.length === 1)
        expect(factory.released).toEqual([0])
      })
    )
  })

  describe("shutdown", () => {
    it.effect("closing the scope waits for resources in use and releases each exactly once", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const scope = yield* Scope.make()
        const pool = yield* Pool.make({ acquire: factory.acquire, release: factory.release, size: 2, maxOverflow: 1 }).pipe(
          Scope.provide(scope)
        )
        const long = yield* Effect.forkChild(pool.use(() => Effect.sleep("3 seconds")))
        yield* pool.use(() => pool.use(() => Effect.void)) // two idle resources
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const waiter = yield* Effect.forkChild(Effect.exit(pool.use(Effect.succeed)))
        const waiter2 = yield* Effect.forkChild(Effect.exit(pool.use(Effect.succeed)))
        yield* settle(() => pool.statusUnsafe().inUse === 3 || pool.statusUnsafe().waiting > 0)
        const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
        yield* settle()
        expect(closing.pollUnsafe()).toBeUndefined() // waits for the resource in use
        yield* TestClock.adjust("3 seconds")
        yield* Fiber.join(closing)
        yield* Fiber.join(long)
        yield* Fiber.join(waiter)
        yield* Fiber.join(waiter2)
        expect(factory.live.size).toBe(0)
        expect(new Set(factory.released).size).toBe(factory.created)
        expect(factory.released.length).toBe(factory.created)
        // no checkouts after close
        const after = yield* Effect.exit(pool.use(Effect.succeed))
        expect(Exit.hasInterrupts(after as Exit.Exit<unknown, unknown>)).toBe(true)
      })
    )

    it.effect("shutdown is bounded by shutdownTimeout; a late return is still released", () =>
      Effect.gen(function* () {
        const factory = makeFactory()
        const scope = yield* Scope.make()
        const pool = yield* Pool.make({ acquire: factory.acquire, release: factory.release, size: 1, shutdownTimeout: "1 second" }).pipe(
          Scope.provide(scope)
        )
        const stuck = yield* Effect.forkChild(pool.use(() => Effect.sleep("1 minute")))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(closing)
        expect(factory.released).toEqual([])
        yield* TestClock.adjust("1 minute")
        yield* Fiber.join(stuck)
        yield* settle(() => factory.released.length === 1)
        expect(factory.released).toEqual([0])
      })
    )
  })

  describe("service, health and leaks", () => {
    class Workers extends Context.Service<Workers, Pool.Pool<number, string>>()("test/Workers") {}

    it.effect("layer + use (both forms) + status; the default name is the tag's key", () =>
      Effect.gen(function* () {
        const a = yield* Pool.use(Workers, (n) => Effect.succeed(n + 1))
        const b = yield* Workers.pipe(Pool.use((n: number) => Effect.succeed(n + 2)))
        expect([a, b]).toEqual([1, 2])
        expect(yield* Pool.status(Workers)).toMatchObject({ size: 2, maxOverflow: 1, checkouts: 2 })
        expect((yield* Workers).name).toBe("test/Workers")
      }).pipe(Effect.provide(Pool.layer(Workers, { acquire: Effect.succeed(0), size: 2, maxOverflow: 1 })))
    )

    it.effect("registers a pool component that is degraded when exhausted with waiters", () =>
      Effect.gen(function* () {
        const components: Array<HealthComponent> = []
        const registry = Layer.succeed(HealthComponents, {
          register: (component) => Effect.sync(() => void components.push(component))
        })
        yield* Effect.gen(function* () {
          const pool = yield* Workers
          const component = components[0]!
          expect(component).toMatchObject({ name: "pool:workers", kind: "pool", critical: false })
          expect((yield* component.report).status).toBe("healthy")
          const holder = yield* Effect.forkChild(pool.use(() => Effect.never))
          const waiter = yield* Effect.forkChild(pool.use(() => Effect.never))
          yield* settle(() => pool.statusUnsafe().waiting === 1)
          expect(yield* component.report).toEqual({
            status: "degraded",
            details: { inUse: 1, idle: 0, waiting: 1, creating: 0, acquireFailures: 0, acquireTimeouts: 0, reason: "exhausted" }
          })
          yield* Fiber.interrupt(waiter)
          yield* Fiber.interrupt(holder)
          expect((yield* component.report).status).toBe("healthy")
        }).pipe(Effect.provide(Pool.layer(Workers, { acquire: Effect.succeed(0), size: 1, name: "workers" }).pipe(Layer.provide(registry))))
        expect(components.length).toBe(1)
      })
    )

    it.effect("a resource held past leakWarning is logged once with the pool name and the holder's span", () =>
      Effect.gen(function* () {
        const logs: Array<{ message: string; annotations: Record<string, unknown> }> = []
        const collector = Logger.make((options) => {
          logs.push({
            message: String(options.message),
            annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
          })
        })
        yield* Effect.gen(function* () {
          const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 1, leakWarning: "10 seconds", name: "db" })
          const holder = yield* Effect.forkChild(pool.use(() => Effect.never).pipe(Effect.withSpan("checkout-handler")))
          yield* settle(() => pool.statusUnsafe().inUse === 1)
          yield* TestClock.adjust("9 seconds")
          expect(logs.filter((l) => l.message.includes("held for"))).toEqual([])
          yield* TestClock.adjust("60 seconds")
          const leaks = logs.filter((l) => l.message.includes("held for"))
          expect(leaks.length).toBe(1)
          expect(leaks[0]!.message).toContain('"db"')
          expect(leaks[0]!.annotations).toMatchObject({ pool: "db", holderSpan: "checkout-handler" })
          yield* Fiber.interrupt(holder)
        }).pipe(Effect.provide(Logger.layer([collector])))
      })
    )

    it.effect("reports checkout duration, in use, waiting and timeouts under the design's names", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 1, checkoutTimeout: "1 second", name: "db" })
        yield* pool.use(Effect.succeed)
        const holder = yield* Effect.forkChild(pool.use(() => Effect.never))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const waiter = yield* Effect.forkChild(Effect.exit(pool.use(Effect.succeed)))
        yield* settle(() => pool.statusUnsafe().waiting === 1)
        const find = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>, id: string) =>
          snapshots.find((s) => s.id === id && s.attributes?.pool === "db")?.state
        let snapshots = yield* Metric.snapshot
        expect(find(snapshots, "foundation.pool.in_use")).toEqual({ value: 1 })
        expect(find(snapshots, "foundation.pool.waiting")).toEqual({ value: 1 })
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(waiter)
        snapshots = yield* Metric.snapshot
        expect(find(snapshots, "foundation.pool.timeouts")).toMatchObject({ count: 1 })
        expect(find(snapshots, "foundation.pool.checkout.duration")).toMatchObject({ count: 2 })
        yield* Fiber.interrupt(holder)
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("thousands of waiters with synchronous uses are served without growing the stack", () =>
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), size: 1, checkoutTimeout: "1 hour" })
        const holder = yield* Effect.forkChild(pool.use(() => Effect.sleep(1)))
        yield* settle(() => pool.statusUnsafe().inUse === 1)
        const fibers = []
        for (let i = 0; i < 5000; i++) fibers.push(yield* Effect.forkChild(pool.use(Effect.succeed)))
        yield* TestClock.adjust(1)
        yield* Fiber.join(holder)
        for (const fiber of fibers) expect(yield* Fiber.join(fiber)).toBe(1)
        expect(pool.statusUnsafe()).toMatchObject({ checkouts: 5001, waiting: 0, inUse: 0, created: 1 })
      })
    )

    it.effect("works without the health registry", () =>
      Effect.gen(function* () {
        expect(Option.isNone(yield* Effect.serviceOption(HealthComponents))).toBe(true)
        expect(yield* Pool.use(Workers, Effect.succeed)).toBe(0)
      }).pipe(Effect.provide(Pool.layer(Workers, { acquire: Effect.succeed(0), size: 1 })))
    )
  })
})
