import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer } from "effect"
import { Redis } from "effect/persistence"
import { TestClock } from "effect/testing"
import { CircuitBreaker, Protection, Pool, RateLimiter, RateLimiterRedis } from "../src/index.js"

class Db extends Context.Service<Db, Pool.Pool<number>>()("test/Db") {}

let connections = 0
const DbLive = Pool.layer(Db, { acquire: Effect.sync(() => connections++), size: 2, checkoutTimeout: "1 second" })

const Protections = Layer.mergeAll(
  CircuitBreaker.layer({
    breakers: { db: { failureThreshold: 3, resetTimeout: "10 seconds" }, lenient: { failureThreshold: 10 } }
  }),
  RateLimiter.layer({
    rules: {
      api: { algorithm: "fixed-window", limit: 5, window: "1 second" },
      tight: { algorithm: "fixed-window", limit: 2, window: "1 minute" }
    }
  }),
  DbLive
)

describe("Protection.protect", () => {
  it.effect("the error type is the union of the chosen stages: catchTag is checked", () =>
    Effect.gen(function* () {
      const onlyBreaker = Effect.succeed(1).pipe(Protection.protect({ circuitBreaker: "db" }))
      const handled = onlyBreaker.pipe(
        Effect.catchTag("CircuitBreakerOpen", () => Effect.succeed(0)),
        Effect.catchTag("OperationTimeout", () => Effect.succeed(-1))
      )
      // @ts-expect-error a policy without a rate limit cannot fail RateLimited
      onlyBreaker.pipe(Effect.catchTag("RateLimited", () => Effect.succeed(0)))
      expect(yield* handled).toBe(1)
    }).pipe(Effect.provide(Protections))
  )

  it.effect("a rate-limited call never reaches the breaker nor counts as its failure", () =>
    Effect.gen(function* () {
      let calls = 0
      const call = Effect.sync(() => calls++).pipe(
        Effect.andThen(Effect.fail("down" as const)),
        Protection.protect({ rateLimit: { rule: "tight", key: "client-1" }, circuitBreaker: "lenient" })
      )
      const errors = yield* Effect.forEach(Array.from({ length: 6 }), () => Effect.flip(call))
      expect(errors.map((e) => (typeof e === "string" ? e : e._tag))).toEqual([
        "down",
        "down",
        "RateLimited",
        "RateLimited",
        "RateLimited",
        "RateLimited"
      ])
      const breaker = yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("lenient"))
      expect(breaker).toMatchObject({ state: "Closed", failures: 2, rejected: 0, successes: 0 })
      expect(calls).toBe(2)
    }).pipe(Effect.provide(Protections))
  )

  it.effect("seed: a rate limit blocks after its limit and recovers after the window; other keys untouched", () =>
    Effect.gen(function* () {
      const call = (key: string) => Effect.exit(Effect.succeed(key).pipe(Protection.protect({ rateLimit: { rule: "api", key } })))
      const first = yield* Effect.forEach(Array.from({ length: 7 }), () => call("alice"))
      expect(first.map(Exit.isSuccess)).toEqual([true, true, true, true, true, false, false])
      expect(Exit.isSuccess(yield* call("bob"))).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(Exit.isSuccess(yield* call("alice"))).toBe(true)
    }).pipe(Effect.provide(Protections))
  )

  it.effect("cascading failure: the breaker opens, later calls never touch the dependency or the pool", () =>
    Effect.gen(function* () {
      let touched = 0
      const failing = (_: number) => Effect.sync(() => touched++).pipe(Effect.andThen(Effect.fail("503" as const)))
      const call = Protection.protectWith(Db, { circuitBreaker: "db", timeout: "1 second" }, failing)
      for (let i = 0; i < 3; i++) yield* Effect.exit(call)
      const before = yield* Pool.status(Db)
      const rejected = yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.flip(call))
      expect(rejected.every((e) => typeof e !== "string" && e._tag === "CircuitBreakerOpen")).toBe(true)
      expect(touched).toBe(3)
      const after = yield* Pool.status(Db)
      expect(after.checkouts).toBe(before.checkouts) // no checkout while the breaker is open
      expect(after.inUse).toBe(0)
      // recovery: after the reset timeout a probe goes through and closes the circuit
      yield* TestClock.adjust("10 seconds")
      const healthy = Protection.protectWith(Db, { circuitBreaker: "db" }, (connection) => Effect.succeed(connection))
      expect(typeof (yield* healthy)).toBe("number")
      expect((yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))).state).toBe("Closed")
    }).pipe(Effect.provide(Protections))
  )

  it.effect("a pool checkout timeout is not a breaker failure unless the policy says so", () =>
    Effect.gen(function* () {
      const hold = Protection.protectWith(Db, { circuitBreaker: "db" }, () => Effect.never)
      const holders = yield* Effect.forEach([1, 2], () => Effect.forkChild(hold, { startImmediately: true }))
      const waiters = yield* Effect.forEach(Array.from({ length: 5 }), () =>
        Effect.forkChild(Effect.flip(hold), { startImmediately: true })
      )
      yield* TestClock.adjust("1 second")
      const errors = yield* Fiber.joinAll(waiters)
      expect(errors.map((e) => (e as { _tag: string })._tag)).toEqual(Array(5).fill("PoolCheckoutTimeout"))
      expect((yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))).failures).toBe(0)

      const counted = Protection.protectWith(Db, { circuitBreaker: "db", poolTimeoutIsFailure: true }, () => Effect.never)
      const more = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(Effect.flip(counted), { startImmediately: true }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(more)
      expect((yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))).state).toBe("Open")
      yield* Fiber.interruptAll(holders)
    }).pipe(Effect.provide(Protections))
  )

  it.effect("a half-open probe that only hit a busy pool does not close the breaker; it gives its probe slot back", () =>
    Effect.gen(function* () {
      let touched = 0
      const failing = Protection.protectWith(Db, { circuitBreaker: "db" }, () =>
        Effect.sync(() => touched++).pipe(Effect.andThen(Effect.fail("503" as const)))
      )
      for (let i = 0; i < 3; i++) yield* Effect.exit(failing)
      expect((yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))).state).toBe("Open")
      yield* TestClock.adjust("10 seconds")
      // both connections are held outside the breaker: the probe can only time out on checkout
      const pool = yield* Db
      const holders = yield* Effect.forEach([1, 2], () =>
        Effect.forkChild(
          pool.use(() => Effect.never),
          { startImmediately: true }
        )
      )
      const probe = yield* Effect.forkChild(
        Effect.flip(Protection.protectWith(Db, { circuitBreaker: "db" }, (c) => Effect.sync(() => (touched++, c)))),
        { startImmediately: true }
      )
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(probe))._tag).toBe("PoolCheckoutTimeout")
      const status = yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))
      expect(status).toMatchObject({ state: "HalfOpen", successes: 0, failures: 3 })
      expect(touched).toBe(3)
      yield* Fiber.interruptAll(holders)
      // the slot is free again: the next call is a real probe
      const healthy = Protection.protectWith(Db, { circuitBreaker: "db" }, (connection) => Effect.succeed(connection))
      expect(typeof (yield* healthy)).toBe("number")
      expect((yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))).state).toBe("Closed")
    }).pipe(Effect.provide(Protections))
  )

  it.effect("a checkout timeout between failures does not reset the consecutive count", () =>
    Effect.gen(function* () {
      const pool = yield* Db
      const fail = Effect.exit(Protection.protectWith(Db, { circuitBreaker: "db" }, () => Effect.fail("503" as const)))
      yield* fail
      yield* fail
      const holders = yield* Effect.forEach([1, 2], () =>
        Effect.forkChild(
          pool.use(() => Effect.never),
          { startImmediately: true }
        )
      )
      const waiting = yield* Effect.forkChild(Effect.flip(Protection.protectWith(Db, { circuitBreaker: "db" }, () => Effect.void)), {
        startImmediately: true
      })
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(waiting))._tag).toBe("PoolCheckoutTimeout")
      yield* Fiber.interruptAll(holders)
      expect((yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))).consecutiveFailures).toBe(2)
      yield* fail // the third failure in a row: threshold 3
      expect((yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))).state).toBe("Open")
    }).pipe(Effect.provide(Protections))
  )

  it.effect("a burst larger than the pool: every caller gets a resource or PoolCheckoutTimeout in time", () =>
    Effect.gen(function* () {
      const call = Protection.protectWith(Db, { timeout: "5 seconds" }, () => Effect.sleep("600 millis"))
      const fibers = yield* Effect.forEach(Array.from({ length: 10 }), () =>
        Effect.forkChild(Effect.exit(call), { startImmediately: true })
      )
      yield* TestClock.adjust("1 second") // checkout timeout 1s: 2 served at 0, 2 at 600ms, rest time out
      yield* TestClock.adjust("1 second")
      const exits = yield* Fiber.joinAll(fibers)
      const ok = exits.filter(Exit.isSuccess).length
      const timedOut = exits.filter((e) => Exit.isFailure(e) && JSON.stringify(e).includes("PoolCheckoutTimeout")).length
      expect(ok + timedOut).toBe(10)
      expect(ok).toBe(4)
    }).pipe(Effect.provide(Protections))
  )

  it.effect("timeout fails OperationTimeout naming the operation", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        Effect.flip(Effect.never.pipe(Protection.protect({ timeout: "2 seconds", profile: "search" }))),
        { startImmediately: true }
      )
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "OperationTimeout", operation: "search" })
      expect(Duration.toMillis(error.timeout)).toBe(2000)
    })
  )
})

describe("Protection profiles", () => {
  const Live = Protection.layer({
    profiles: {
      checkout: { rateLimit: { rule: "api" }, circuitBreaker: "db", timeout: 1000 },
      query: { rateLimit: { rule: "api" }, circuitBreaker: "db", timeout: 1000, pool: "db" }
    },
    pools: { db: Db }
  }).pipe(Layer.provideMerge(Protections))

  it.effect("execute applies the profile with the caller's key; status shows every stage in one value", () =>
    Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      expect(yield* infrastructure.execute("checkout", Effect.succeed("ok"), { key: "alice" })).toBe("ok")
      const checkouts = (yield* Pool.status(Db)).checkouts
      expect(yield* infrastructure.executeWith("query", Db, (connection) => Effect.succeed(connection + 0.5))).toBeTypeOf("number")
      expect((yield* Pool.status(Db)).checkouts).toBe(checkouts + 1)
      for (let i = 0; i < 5; i++) yield* Effect.exit(infrastructure.execute("checkout", Effect.void, { key: "bob" }))
      const limited = yield* Effect.flip(infrastructure.execute("checkout", Effect.void, { key: "bob" }))
      expect(limited._tag).toBe("RateLimited")
      expect(yield* infrastructure.execute("checkout", Effect.succeed(1), { key: "carol" })).toBe(1)
      const status = yield* infrastructure.status("checkout", { key: "bob" })
      expect(status.circuitBreaker?.state).toBe("Closed")
      expect(status.rateLimit?.remaining).toBe(0)
      expect(status.pool).toBeUndefined()
      expect((yield* infrastructure.status("query")).pool?.size).toBe(2)
      expect(yield* infrastructure.names).toEqual(["checkout", "query"])
    }).pipe(Effect.provide(Live))
  )

  it.effect("a profile's call keeps the caller's scope: what it acquires is released when the caller's scope closes", () =>
    Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      const released: Array<string> = []
      const resource = Effect.acquireRelease(Effect.succeed("connection"), (name) => Effect.sync(() => released.push(name)))
      expect(yield* Effect.scoped(infrastructure.execute("checkout", resource, { key: "scoped" }))).toBe("connection")
      expect(released).toEqual(["connection"])
      yield* Effect.scoped(infrastructure.executeWith("query", Db, () => resource, { key: "scoped" }))
      expect(released).toEqual(["connection", "connection"])
    }).pipe(Effect.provide(Live))
  )

  it.effect("a profile runs on the protections its layer was built on, also under a caller that provides others", () =>
    Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      const otherBreakers = CircuitBreaker.layer({ breakers: { db: { failureThreshold: 100 } } })
      for (let i = 0; i < 3; i++) {
        // each call from a context of its own, whose breakers are not the layer's
        yield* Effect.exit(infrastructure.execute("checkout", Effect.fail("503"), { key: `k${i}` }).pipe(Effect.provide(otherBreakers)))
      }
      expect((yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))).state).toBe("Open")
      const rejected = yield* Effect.flip(
        infrastructure.execute("checkout", Effect.succeed(1), { key: "k" }).pipe(Effect.provide(otherBreakers))
      )
      expect(rejected._tag).toBe("CircuitBreakerOpen")
    }).pipe(Effect.provide(Live))
  )

  it.effect("an invalid reconfiguration fails with the path and keeps the old profile", () =>
    Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      const error = yield* Effect.flip(infrastructure.configure("checkout", { timeout: -5 }))
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "protections.checkout.timeout" })
      const unknownRule = yield* Effect.flip(infrastructure.configure("checkout", { rateLimit: { rule: "nope" } }))
      expect(unknownRule.path).toBe("protections.checkout.rateLimit.rule")
      expect((yield* infrastructure.status("checkout")).config.timeout).toBeDefined()
      yield* infrastructure.configure("search", { circuitBreaker: "db" })
      expect(yield* infrastructure.names).toEqual(["checkout", "query", "search"])
    }).pipe(Effect.provide(Live))
  )

  it.effect("an unknown profile fails ProtectionNotFound", () =>
    Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      const error = yield* Effect.flip(infrastructure.execute("nope", Effect.void))
      expect(error).toMatchObject({ _tag: "ProtectionNotFound", kind: "profile", protection: "nope" })
      expect((yield* Effect.flip(infrastructure.status("nope")))._tag).toBe("ProtectionNotFound")
    }).pipe(Effect.provide(Live))
  )

  it.effect("a profile naming a service that is not provided fails layer construction", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(Protection.layer({ profiles: { x: { memory: true } } })))
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "protections.x.memory" })
    })
  )

  it.effect("builds with a failOpen Redis rule while Redis refuses every command: rule names come from the service", () =>
    Effect.gen(function* () {
      let sent = 0
      // a dead port: every command fails at once, as node-redis fails them while disconnected
      const refused = Layer.succeed(Redis.Redis, {
        send: () =>
          Effect.suspend(() => {
            sent++
            return Effect.fail(new Redis.RedisError({ cause: new Error("connect ECONNREFUSED 127.0.0.1:1") }))
          })
      } as unknown as Redis.Redis["Service"])
      const Live = Protection.layer({ profiles: { checkout: { rateLimit: { rule: "api" } } } }).pipe(
        Layer.provideMerge(
          RateLimiterRedis.layer({
            rules: { api: { algorithm: "gcra", limit: 10, window: "1 second", onRedisError: "failOpen" } }
          })
        ),
        Layer.provide(refused)
      )
      const result = yield* Effect.gen(function* () {
        const built = sent
        const infrastructure = yield* Protection.Protection
        return [built, yield* infrastructure.execute("checkout", Effect.succeed("ok"), { key: "k" })] as const
      }).pipe(Effect.provide(Live))
      expect(result).toEqual([0, "ok"])
      // an unknown rule still fails the layer, naming the field
      const error = yield* Effect.flip(
        Layer.build(
          Protection.layer({ profiles: { checkout: { rateLimit: { rule: "nope" } } } }).pipe(
            Layer.provide(RateLimiterRedis.layer({ rules: { api: { algorithm: "gcra", limit: 10, window: "1 second" } } })),
            Layer.provide(refused)
          )
        )
      )
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "protections.checkout.rateLimit.rule" })
    })
  )
})
