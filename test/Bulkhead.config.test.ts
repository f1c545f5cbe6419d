import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Bulkhead } from "../src/index.js"

const buildError = (options: unknown) => Effect.flip(Layer.build(Bulkhead.layer(options as Bulkhead.Options)))

const settle = Effect.gen(function* () {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

const invalid: ReadonlyArray<readonly [string, unknown, string]> = [
  ["maxConcurrent 0", { maxConcurrent: 0 }, "maxConcurrent"],
  ["fractional maxConcurrent", { maxConcurrent: 1.5 }, "maxConcurrent"],
  ["missing maxConcurrent", { maxWaiting: 2 }, "maxConcurrent"],
  ["negative maxWaiting", { maxConcurrent: 1, maxWaiting: -1 }, "maxWaiting"],
  ["zero waitTimeout", { maxConcurrent: 1, waitTimeout: 0 }, "waitTimeout"],
  ["waitTimeout beyond what a timer can wait", { maxConcurrent: 1, waitTimeout: "30 days" }, "waitTimeout"],
  ["unparseable waitTimeout", { maxConcurrent: 1, waitTimeout: "soon" }, "waitTimeout"]
]

describe("Bulkhead configuration", () => {
  it.effect.each(invalid)("rejects %s with InvalidConfig naming the bulkhead and field", ([, limits, field]) =>
    Effect.gen(function* () {
      const error = yield* buildError({ limits: { search: limits } })
      expect(error._tag).toBe("InvalidConfig")
      expect(error.path).toBe(`limits.search.${field}`)
      expect(error.message).toContain(`limits.search.${field}`)
    })
  )

  it.effect("an unknown key fails with its path and the nearest option", () =>
    Effect.gen(function* () {
      const error = yield* buildError({ limits: { search: { maxConcurrent: 1, maxWaitng: 3 } } })
      expect(error.path).toBe("limits.search.maxWaitng")
      expect(error.message).toContain('did you mean "maxWaiting"?')
      const top = yield* buildError({ limit: {} })
      expect(top.path).toBe("limit")
      expect(top.message).toContain('did you mean "limits"?')
    })
  )

  it.effect("reports every violation at once, the first as the path", () =>
    Effect.gen(function* () {
      const error = yield* buildError({ limits: { a: { maxConcurrent: 0 }, b: { maxConcurrent: 1, maxWaiting: -1, waitTimeout: -5 } } })
      expect(error.path).toBe("limits.a.maxConcurrent")
      for (const path of ["limits.b.maxWaiting", "limits.b.waitTimeout"]) expect(error.message).toContain(path)
    })
  )

  it.effect("an empty name is rejected", () =>
    Effect.gen(function* () {
      const error = yield* buildError({ limits: { "": { maxConcurrent: 1 } } })
      expect(error._tag).toBe("InvalidConfig")
      expect(error.path).toBe("limits")
    })
  )

  it("decoded options are valid input again (what the configuration file hands the layer)", () => {
    const decoded = Schema.decodeUnknownSync(Bulkhead.OptionsSchema)({ limits: { s: { maxConcurrent: 3, waitTimeout: 250 } } })
    expect(decoded.limits?.s).toEqual({ maxConcurrent: 3, maxWaiting: 0, waitTimeout: Duration.millis(250) })
    const again = Schema.decodeUnknownSync(Bulkhead.OptionsSchema)(decoded)
    expect(again).toEqual(decoded)
  })

  it.effect("no options: no bulkhead, every name fails ProtectionNotFound", () =>
    Effect.gen(function* () {
      expect(yield* Bulkhead.names).toEqual([])
      const error = yield* Effect.flip(Effect.void.pipe(Bulkhead.limit("x")))
      expect(error.message).toContain("none is configured")
    }).pipe(Effect.provide(Bulkhead.layer()))
  )
})

const withBulkhead = (limits: Bulkhead.LimitsInput) => Effect.provide(Bulkhead.layer({ limits: { b: limits } }))
const counts = Effect.map(Bulkhead.status("b"), (s) => [s.running, s.waiting])

describe("Bulkhead.configure", () => {
  it.effect("validates through LimitsSchema, paths under limits.<name>", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Bulkhead.configure("b", { maxConcurrent: 0 }))
      expect(error._tag).toBe("InvalidConfig")
      if (error._tag === "InvalidConfig") expect(error.path).toBe("limits.b.maxConcurrent")
      const unknown = yield* Effect.flip(Bulkhead.configure("b", { maxConcurrent: 1, queue: 3 } as never))
      if (unknown._tag === "InvalidConfig") expect(unknown.path).toBe("limits.b.queue")
      expect((yield* Bulkhead.status("b")).limits.maxConcurrent).toBe(2)
    }).pipe(withBulkhead({ maxConcurrent: 2 }))
  )

  // resilience4j SemaphoreBulkheadTest.changePermissionsInIdleState and changeWaitTimeInIdleState
  it.effect("changes limits of an idle bulkhead; omitted fields take their defaults", () =>
    Effect.gen(function* () {
      yield* Bulkhead.configure("b", { maxConcurrent: 5, waitTimeout: "5 seconds" })
      expect((yield* Bulkhead.status("b")).limits).toEqual({ maxConcurrent: 5, maxWaiting: 0, waitTimeout: Duration.seconds(5) })
      yield* Bulkhead.configure("b", { maxConcurrent: 2, maxWaiting: 4, waitTimeout: 3000 })
      expect((yield* Bulkhead.status("b")).limits).toEqual({ maxConcurrent: 2, maxWaiting: 4, waitTimeout: Duration.seconds(3) })
      const service = yield* Bulkhead.Bulkhead
      yield* service.configure("b", { maxConcurrent: 2, maxWaiting: 4, waitTimeout: 7000 })
      expect((yield* Bulkhead.status("b")).limits.waitTimeout).toEqual(Duration.seconds(7))
    }).pipe(withBulkhead({ maxConcurrent: 3, maxWaiting: 1 }))
  )

  // resilience4j SemaphoreBulkheadTest.changePermissionsCountWhileOneThreadIsRunningWithThisPermission
  it.effect("running calls are never interrupted: a lowered limit admits again only below it", () =>
    Effect.gen(function* () {
      const gates = yield* Effect.forEach([0, 1], () => Deferred.make<void>())
      const first = yield* Effect.forkChild(Deferred.await(gates[0]!).pipe(Bulkhead.limit("b")))
      yield* settle
      expect((yield* Effect.flip(Effect.void.pipe(Bulkhead.limit("b"))))._tag).toBe("BulkheadFull")
      yield* Bulkhead.configure("b", { maxConcurrent: 2 })
      const second = yield* Effect.forkChild(Deferred.await(gates[1]!).pipe(Bulkhead.limit("b")))
      yield* settle
      expect(yield* counts).toEqual([2, 0])
      expect((yield* Effect.flip(Effect.void.pipe(Bulkhead.limit("b"))))._tag).toBe("BulkheadFull")
      yield* Bulkhead.configure("b", { maxConcurrent: 1 })
      // both keep running; one ending leaves one running, which is the new limit
      yield* Deferred.succeed(gates[0]!, undefined)
      yield* Fiber.join(first)
      expect(yield* counts).toEqual([1, 0])
      expect((yield* Effect.flip(Effect.void.pipe(Bulkhead.limit("b"))))._tag).toBe("BulkheadFull")
      yield* Deferred.succeed(gates[1]!, undefined)
      yield* Fiber.join(second)
      expect(yield* Effect.succeed("in").pipe(Bulkhead.limit("b"))).toBe("in")
    }).pipe(withBulkhead({ maxConcurrent: 1 }))
  )

  // resilience4j SemaphoreBulkheadTest.changePermissionsCountWhileOneThreadIsWaitingForPermission
  it.effect("a raised limit admits waiting calls at once", () =>
    Effect.gen(function* () {
      const holder = yield* Effect.forkChild(Effect.never.pipe(Bulkhead.limit("b")))
      yield* settle
      const waiter = yield* Effect.forkChild(Effect.succeed("admitted").pipe(Bulkhead.limit("b")))
      yield* settle
      expect(yield* counts).toEqual([1, 1])
      yield* Bulkhead.configure("b", { maxConcurrent: 2, maxWaiting: 5, waitTimeout: "500 seconds" })
      expect(yield* Fiber.join(waiter)).toBe("admitted")
      yield* Fiber.interrupt(holder)
      expect(yield* counts).toEqual([0, 0])
    }).pipe(withBulkhead({ maxConcurrent: 1, maxWaiting: 5, waitTimeout: "500 seconds" }))
  )

  // resilience4j SemaphoreBulkheadTest.changeWaitingTimeWhileOneThreadIsWaitingForPermission
  it.effect("a new waitTimeout applies to the calls already waiting, from when each started", () =>
    Effect.gen(function* () {
      const holder = yield* Effect.forkChild(Effect.never.pipe(Bulkhead.limit("b")))
      yield* settle
      const early = yield* Effect.forkChild(Effect.flip(Effect.void.pipe(Bulkhead.limit("b"))))
      yield* settle
      yield* TestClock.adjust(300)
      const late = yield* Effect.forkChild(Effect.flip(Effect.void.pipe(Bulkhead.limit("b"))))
      yield* settle
      yield* TestClock.adjust(100)
      // early has waited 400 ms, late 100 ms: a 250 ms timeout ends early now, late at 250
      yield* Bulkhead.configure("b", { maxConcurrent: 1, maxWaiting: 5, waitTimeout: 250 })
      const earlyError = yield* Fiber.join(early)
      expect(earlyError._tag === "BulkheadFull" && earlyError.waited).toEqual(Duration.millis(400))
      yield* TestClock.adjust(149)
      expect(late.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      const lateError = yield* Fiber.join(late)
      expect(lateError._tag === "BulkheadFull" && lateError.waited).toEqual(Duration.millis(250))
      yield* Fiber.interrupt(holder)
    }).pipe(withBulkhead({ maxConcurrent: 1, maxWaiting: 5, waitTimeout: "500 seconds" }))
  )

  it.effect("a shorter waitTimeout bounds the next waits even while the timer slept for an old deadline", () =>
    Effect.gen(function* () {
      const holder = yield* Effect.forkChild(Effect.never.pipe(Bulkhead.limit("b")))
      yield* settle
      // a waiter that leaves: the timer is now asleep until its deadline, 500 s away
      const left = yield* Effect.forkChild(Effect.void.pipe(Bulkhead.limit("b")))
      yield* settle
      yield* Fiber.interrupt(left)
      yield* Bulkhead.configure("b", { maxConcurrent: 1, maxWaiting: 5, waitTimeout: 100 })
      const waiter = yield* Effect.forkChild(Effect.flip(Effect.void.pipe(Bulkhead.limit("b"))))
      yield* settle
      yield* TestClock.adjust(100)
      const error = yield* Fiber.join(waiter)
      expect(error._tag === "BulkheadFull" && error.waited).toEqual(Duration.millis(100))
      yield* Fiber.interrupt(holder)
    }).pipe(withBulkhead({ maxConcurrent: 1, maxWaiting: 5, waitTimeout: "500 seconds" }))
  )

  it.effect("waiters over a lowered maxWaiting fail BulkheadFull, the latest first", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(Deferred.await(gate).pipe(Bulkhead.limit("b")))
      yield* settle
      const waiters = []
      for (let i = 0; i < 3; i++) {
        waiters.push(yield* Effect.forkChild(Effect.succeed(i).pipe(Bulkhead.limit("b"))))
        yield* settle
      }
      yield* Bulkhead.configure("b", { maxConcurrent: 1, maxWaiting: 1 })
      for (const index of [1, 2]) {
        const error = yield* Effect.flip(Fiber.join(waiters[index]!))
        expect(error._tag).toBe("BulkheadFull")
        if (error._tag === "BulkheadFull") expect(error.waited).toBeUndefined()
      }
      expect(yield* counts).toEqual([1, 1])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(waiters[0]!)).toBe(0)
      expect((yield* Bulkhead.status("b")).rejected).toBe(2)
    }).pipe(withBulkhead({ maxConcurrent: 1, maxWaiting: 3 }))
  )
})
