import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Metric, Scope } from "effect"
import { TestClock } from "effect/testing"
import { Bulkhead, HealthAggregator } from "../src/index.js"

const withBulkheads = (limits: Record<string, Bulkhead.LimitsInput>) => Effect.provide(Bulkhead.layer({ limits }))

/** a call that records when it enters and leaves, and holds its slot until `gate` opens */
const tracked = (order: Array<string>, index: number, gate: Deferred.Deferred<void>) =>
  Effect.gen(function* () {
    order.push(`${index}: enter`)
    yield* Deferred.await(gate)
    order.push(`${index}: exit`)
    return index
  })

const settle = Effect.gen(function* () {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

describe("Bulkhead", () => {
  // cockatiel BulkheadPolicy.test.ts "rejects calls after limit is hit"
  it.effect("rejects calls after the limit is hit, at once, without waited", () =>
    Effect.gen(function* () {
      const order: Array<string> = []
      const gates = yield* Effect.forEach([0, 1, 2], () => Deferred.make<void>())
      const fibers = yield* Effect.forEach([0, 1, 2], (i) => Effect.forkChild(tracked(order, i, gates[i]!).pipe(Bulkhead.limit("b"))))
      yield* settle
      const third = yield* Fiber.await(fibers[2]!)
      expect(Exit.isFailure(third)).toBe(true)
      const error = yield* Effect.flip(Fiber.join(fibers[2]!))
      expect(error._tag).toBe("BulkheadFull")
      if (error._tag === "BulkheadFull") {
        expect(error.bulkhead).toBe("b")
        expect(error.maxConcurrent).toBe(2)
        expect(error.waited).toBeUndefined()
      }
      yield* Deferred.succeed(gates[0]!, undefined)
      yield* Deferred.succeed(gates[1]!, undefined)
      expect(yield* Fiber.join(fibers[0]!)).toBe(0)
      expect(yield* Fiber.join(fibers[1]!)).toBe(1)
      expect(order).toEqual(["0: enter", "1: enter", "0: exit", "1: exit"])
    }).pipe(withBulkheads({ b: { maxConcurrent: 2 } }))
  )

  // cockatiel BulkheadPolicy.test.ts "queues requests, and rejects after queue limit"
  it.effect("queues calls first come, first served, and rejects past maxWaiting", () =>
    Effect.gen(function* () {
      const order: Array<string> = []
      const gates = yield* Effect.forEach([0, 1, 2, 3, 4], () => Deferred.make<void>())
      const fibers: Array<Fiber.Fiber<number, Bulkhead.BulkheadError>> = []
      for (let i = 0; i < 5; i++) {
        fibers.push(yield* Effect.forkChild(tracked(order, i, gates[i]!).pipe(Bulkhead.limit("b"))))
        yield* settle
      }
      expect((yield* Effect.flip(Fiber.join(fibers[4]!)))._tag).toBe("BulkheadFull")
      for (let i = 0; i < 4; i++) {
        yield* Deferred.succeed(gates[i]!, undefined)
        expect(yield* Fiber.join(fibers[i]!)).toBe(i)
        yield* settle
      }
      expect(order).toEqual(["0: enter", "1: enter", "0: exit", "2: enter", "1: exit", "3: enter", "2: exit", "3: exit"])
    }).pipe(withBulkheads({ b: { maxConcurrent: 2, maxWaiting: 2 } }))
  )

  // cockatiel BulkheadPolicy.test.ts "maintains proper state" (executionSlots / queueSlots as status)
  it.effect("status follows running and waiting calls", () =>
    Effect.gen(function* () {
      const gates = yield* Effect.forEach([0, 1, 2, 3], () => Deferred.make<number>())
      const counts = Effect.map(Bulkhead.status("b"), (s) => [s.running, s.waiting])
      expect(yield* counts).toEqual([0, 0])
      const fibers: Array<Fiber.Fiber<number, unknown>> = []
      const expected = [
        [1, 0],
        [2, 0],
        [2, 1],
        [2, 2]
      ]
      for (let i = 0; i < 4; i++) {
        fibers.push(yield* Effect.forkChild(Deferred.await(gates[i]!).pipe(Bulkhead.limit("b"))))
        yield* settle
        expect(yield* counts).toEqual(expected[i])
      }
      const after = [
        [2, 1],
        [2, 0],
        [1, 0],
        [0, 0]
      ]
      for (let i = 0; i < 4; i++) {
        yield* Deferred.succeed(gates[i]!, i)
        yield* Fiber.join(fibers[i]!)
        yield* settle
        expect(yield* counts).toEqual(after[i])
      }
      const status = yield* Bulkhead.status("b")
      expect(status.admitted).toBe(4)
      expect(status.limits).toEqual({ maxConcurrent: 2, maxWaiting: 2, waitTimeout: Duration.seconds(5) })
    }).pipe(withBulkheads({ b: { maxConcurrent: 2, maxWaiting: 2 } }))
  )

  // cockatiel BulkheadPolicy.test.ts "should process next queued item when previous item was aborted"
  it.effect("a waiter interrupted while waiting leaves the queue; the next one is served", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<number>()
      const first = yield* Effect.forkChild(Deferred.await(gate).pipe(Bulkhead.limit("b")))
      yield* settle
      const second = yield* Effect.forkChild(Effect.succeed(2).pipe(Bulkhead.limit("b")))
      yield* settle
      const third = yield* Effect.forkChild(Effect.succeed(3).pipe(Bulkhead.limit("b")))
      yield* settle
      yield* Fiber.interrupt(second)
      expect((yield* Bulkhead.status("b")).waiting).toBe(1)
      yield* Deferred.succeed(gate, 1)
      expect(yield* Fiber.join(first)).toBe(1)
      expect(yield* Fiber.join(third)).toBe(3)
      const status = yield* Bulkhead.status("b")
      expect([status.running, status.waiting]).toEqual([0, 0])
    }).pipe(withBulkheads({ b: { maxConcurrent: 1, maxWaiting: 10 } }))
  )

  // cockatiel BulkheadPolicy.test.ts "links parent cancellation token": a call interrupted while running gives its slot back
  it.effect("gives the slot back on success, failure, defect and interruption", () =>
    Effect.gen(function* () {
      yield* Effect.exit(Effect.succeed(1).pipe(Bulkhead.limit("b")))
      yield* Effect.exit(Effect.fail("boom").pipe(Bulkhead.limit("b")))
      yield* Effect.exit(Effect.die("defect").pipe(Bulkhead.limit("b")))
      const running = yield* Effect.forkChild(Effect.never.pipe(Bulkhead.limit("b")))
      yield* settle
      expect((yield* Bulkhead.status("b")).running).toBe(1)
      yield* Fiber.interrupt(running)
      const status = yield* Bulkhead.status("b")
      expect([status.running, status.waiting, status.admitted]).toEqual([0, 0, 4])
    }).pipe(withBulkheads({ b: { maxConcurrent: 1 } }))
  )

  // resilience4j SemaphoreBulkheadTest.shouldHandleTimeoutBehaviorConsistentlyInBothThreadModes and testEntryTimeout
  it.effect("a waiter gets no slot within waitTimeout: BulkheadFull with waited", () =>
    Effect.gen(function* () {
      const holder = yield* Effect.forkChild(Effect.never.pipe(Bulkhead.limit("b")))
      yield* settle
      const waiter = yield* Effect.forkChild(Effect.flip(Effect.succeed(1).pipe(Bulkhead.limit("b"))))
      yield* settle
      yield* TestClock.adjust(49)
      expect(waiter.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      const error = yield* Fiber.join(waiter)
      expect(error._tag).toBe("BulkheadFull")
      if (error._tag === "BulkheadFull") expect(error.waited).toEqual(Duration.millis(50))
      const status = yield* Bulkhead.status("b")
      expect([status.running, status.waiting, status.timedOut]).toEqual([1, 0, 1])
      yield* Fiber.interrupt(holder)
    }).pipe(withBulkheads({ b: { maxConcurrent: 1, maxWaiting: 5, waitTimeout: "50 millis" } }))
  )

  // resilience4j SemaphoreBulkheadTest.testAcquireWithInterruptDuringTimeout
  it.effect("a waiter interrupted before its timeout ends at once and holds nothing", () =>
    Effect.gen(function* () {
      const holder = yield* Effect.forkChild(Effect.never.pipe(Bulkhead.limit("b")))
      yield* settle
      const waiter = yield* Effect.forkChild(Effect.succeed(1).pipe(Bulkhead.limit("b")))
      yield* TestClock.adjust(1000)
      const exit = yield* Fiber.interrupt(waiter).pipe(Effect.andThen(Fiber.await(waiter)))
      expect(Exit.hasInterrupts(exit)).toBe(true)
      yield* Fiber.interrupt(holder)
      const status = yield* Bulkhead.status("b")
      expect([status.running, status.waiting, status.timedOut]).toEqual([0, 0, 0])
      expect(yield* Effect.succeed(7).pipe(Bulkhead.limit("b"))).toBe(7)
    }).pipe(withBulkheads({ b: { maxConcurrent: 1, maxWaiting: 5, waitTimeout: "2 seconds" } }))
  )

  it.effect("an unknown name fails ProtectionNotFound with the nearest name", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.succeed(1).pipe(Bulkhead.limit("serch")))
      expect(error._tag).toBe("ProtectionNotFound")
      if (error._tag === "ProtectionNotFound") {
        expect(error.kind).toBe("bulkhead")
        expect(error.message).toContain('did you mean "search"?')
      }
      expect((yield* Effect.flip(Bulkhead.status("serch"))).kind).toBe("bulkhead")
      expect((yield* Effect.flip(Bulkhead.configure("serch", { maxConcurrent: 1 })))._tag).toBe("ProtectionNotFound")
      expect(yield* Bulkhead.names).toEqual(["search", "exports"])
    }).pipe(withBulkheads({ search: { maxConcurrent: 1 }, exports: { maxConcurrent: 1 } }))
  )

  it.effect("a limited effect built once runs many times, concurrently, each in its own slot", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const limited = Deferred.await(gate).pipe(Bulkhead.limit("b"))
      const fibers = yield* Effect.forEach([0, 1, 2, 3], () => Effect.forkChild(limited))
      yield* settle
      expect((yield* Bulkhead.status("b")).running).toBe(3)
      yield* Deferred.succeed(gate, undefined)
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      expect(exits.filter(Exit.isSuccess)).toHaveLength(3)
      expect((yield* Bulkhead.status("b")).running).toBe(0)
    }).pipe(withBulkheads({ b: { maxConcurrent: 3 } }))
  )

  it.effect("the service's execute and a test double through Layer.succeed", () =>
    Effect.gen(function* () {
      const service = yield* Bulkhead.Bulkhead
      expect(yield* service.execute("b")(Effect.succeed(1))).toBe(1)
      expect((yield* Effect.flip(service.execute("nope")(Effect.succeed(1))))._tag).toBe("ProtectionNotFound")
      const calls: Array<string> = []
      const double = Layer.succeed(Bulkhead.Bulkhead, {
        ...service,
        execute: (name) => (self) => Effect.suspend(() => (calls.push(name), self))
      })
      expect(yield* Effect.succeed(2).pipe(Bulkhead.limit("x"), Effect.provide(double))).toBe(2)
      expect(calls).toEqual(["x"])
    }).pipe(withBulkheads({ b: { maxConcurrent: 1 } }))
  )

  it.effect("closing the layer interrupts the waiting calls", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Bulkhead.layer({ limits: { b: { maxConcurrent: 1, maxWaiting: 1 } } }), scope)
      const run = <A, E>(effect: Effect.Effect<A, E, Bulkhead.Bulkhead>) => Effect.forkChild(Effect.provide(effect, context))
      const holder = yield* run(Effect.never.pipe(Bulkhead.limit("b")))
      yield* settle
      const waiter = yield* run(Effect.succeed(1).pipe(Bulkhead.limit("b")))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      expect(Exit.hasInterrupts(yield* Fiber.await(waiter))).toBe(true)
      yield* Fiber.interrupt(holder)
    })
  )

  it.effect("reports metrics named like the pool's", () =>
    Effect.gen(function* () {
      yield* Effect.succeed(1).pipe(Bulkhead.limit("m"))
      const snapshots = yield* Metric.snapshot
      const ids = new Set(snapshots.filter((s) => s.attributes?.bulkhead === "m").map((s) => s.id))
      expect([...ids].sort()).toEqual(["foundation.bulkhead.calls", "foundation.bulkhead.running", "foundation.bulkhead.waiting"])
      const admitted = snapshots.find((s) => s.id === "foundation.bulkhead.calls" && s.attributes?.outcome === "admitted")
      expect(admitted?.state).toMatchObject({ count: 1 })
    }).pipe(withBulkheads({ m: { maxConcurrent: 1 } }))
  )

  it.effect("reports a health component per bulkhead to a HealthAggregator beneath", () =>
    Effect.gen(function* () {
      const holder = yield* Effect.forkChild(Effect.never.pipe(Bulkhead.limit("h")))
      yield* settle
      yield* Effect.exit(Effect.succeed(1).pipe(Bulkhead.limit("h")))
      const report = yield* HealthAggregator.systemHealth
      expect(report.components["bulkhead:h"]?.status).toBe("degraded")
      expect(report.components["bulkhead:h"]?.details).toMatchObject({ running: 1, rejected: 1, reason: "rejecting" })
      yield* Fiber.interrupt(holder)
      yield* TestClock.adjust("61 seconds")
      const later = yield* HealthAggregator.systemHealth
      expect(later.components["bulkhead:h"]?.status).toBe("healthy")
    }).pipe(Effect.provide(Bulkhead.layer({ limits: { h: { maxConcurrent: 1 } } }).pipe(Layer.provideMerge(HealthAggregator.layer()))))
  )
})
