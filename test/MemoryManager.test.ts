import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Metric, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryManager from "../src/MemoryManager.js"
import type { HealthComponent } from "../src/internal/runtime/healthComponents.js"
import { HealthComponents } from "../src/internal/runtime/healthComponents.js"
import type { EventLoopReading, MemoryReading } from "../src/internal/memory/pressure.js"
import { yieldUntil } from "./support/polling.js"
import { reading } from "./support/memoryReading.js"

const Manager = MemoryManager.MemoryManager

/** Event-loop figures whose longest delay is `delayMax` (what the stage judges). */
const loop = (delayMax: number, delayP99 = delayMax): EventLoopReading => ({
  delayP99: Duration.millis(delayP99),
  delayMean: Duration.millis(delayP99 / 2),
  delayMax: Duration.millis(delayMax),
  utilization: 0.5
})

/** One 600 ms stall among an interval's samples: its p99 is an ordinary sample's. */
const stall = loop(600, 0.2)

/** A scripted source: tests change `script.next` and the sampling fiber reads it. */
const scripted = (initial: MemoryReading) => {
  const script = { next: initial, reads: 0 }
  const layer = Layer.succeed(
    MemoryManager.MemorySource,
    MemoryManager.MemorySource.of({
      read: Effect.sync(() => {
        script.reads++
        return script.next
      })
    })
  )
  return { script, layer }
}

const withManager = <A, E>(
  initial: MemoryReading,
  options: MemoryManager.Options,
  body: (
    manager: MemoryManager.MemoryManager["Service"],
    script: { next: MemoryReading; reads: number }
  ) => Effect.Effect<A, E, Scope.Scope | MemoryManager.MemoryManager>
) => {
  const { layer, script } = scripted(initial)
  return Effect.gen(function* () {
    return yield* body(yield* Manager, script)
  }).pipe(Effect.provide(MemoryManager.layerWithSource(options).pipe(Layer.provide(layer))))
}

/** one check interval (default 1 s) */
const tick = TestClock.adjust("1 second")

const until = (done: () => boolean) => yieldUntil(done, 100)

describe("MemoryManager", () => {
  it.effect("takes its level from the first reading, before any interval passes", () =>
    withManager(reading(0.9), {}, (manager) =>
      Effect.gen(function* () {
        expect(yield* manager.pressure).toBe("high")
        const stats = yield* manager.status
        expect(stats).toMatchObject({ level: "high", heapUsedRatio: 0.9, ratio: 0.9, shedding: false })
      })
    )
  )

  it.effect("follows the readings through every level and streams each change", () =>
    withManager(reading(0.1), {}, (manager, script) =>
      Effect.gen(function* () {
        const collected = yield* manager.changes.pipe(Stream.take(4), Stream.runCollect, Effect.forkChild({ startImmediately: true }))
        for (const ratio of [0.5, 0.72, 0.9, 0.97, 0.5]) {
          script.next = reading(ratio)
          yield* tick
        }
        const changes = yield* Fiber.join(collected)
        expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(["low->medium", "medium->high", "high->critical", "critical->low"])
        expect(changes[0]!.changedAt).toBe(2_000)
        expect(changes[0]!.ratio).toBe(0.72)
      })
    )
  )

  it.effect("hysteresis: the level falls only once the ratio is 0.05 under the threshold", () =>
    withManager(reading(0.86), {}, (manager, script) =>
      Effect.gen(function* () {
        const seen: Array<string> = []
        for (const ratio of [0.84, 0.86, 0.81, 0.8001, 0.7999, 0.84, 0.85]) {
          script.next = reading(ratio)
          yield* tick
          seen.push(yield* manager.pressure)
        }
        expect(seen).toEqual(["high", "high", "high", "high", "medium", "medium", "high"])
      })
    )
  )

  it.effect("with a cgroup limit, resident memory against it wins when it is worse", () =>
    withManager(reading(0.2, { rss: 960, cgroupLimit: 1000 }), {}, (manager) =>
      Effect.gen(function* () {
        const stats = yield* manager.status
        expect(stats.level).toBe("critical")
        expect(stats.rssRatio).toBe(0.96)
        expect(stats.heapUsedRatio).toBe(0.2)
      })
    )
  )

  it.effect("the guard sheds at critical (the default rejectAt) and not below", () =>
    withManager(reading(0.9), {}, (manager, script) =>
      Effect.gen(function* () {
        let ran = 0
        const work = Effect.sync(() => ++ran)
        expect(yield* manager.guard(work)).toBe(1)
        expect(yield* work.pipe(MemoryManager.guard)).toBe(2)
        script.next = reading(0.96)
        yield* tick
        const error = yield* Effect.flip(manager.guard(work))
        expect(error).toMatchObject({ _tag: "MemoryPressure", code: "memory_pressure", level: "critical", heapUsedRatio: 0.96 })
        expect(error.message).toContain("96.0%")
        expect((yield* Effect.flip(work.pipe(MemoryManager.guard)))._tag).toBe("MemoryPressure")
        expect((yield* Effect.flip(manager.check))._tag).toBe("MemoryPressure")
        expect(ran).toBe(2)
        expect((yield* manager.status).sheddingReason).toBe("memory")
        // the guard never reads the source: readings come from the sampling fiber only
        const reads = script.reads
        for (let i = 0; i < 100; i++) yield* Effect.exit(manager.guard(work))
        expect(script.reads).toBe(reads)
      })
    )
  )

  it.effect("rejectAt: high sheds at high", () =>
    withManager(reading(0.86), { rejectAt: "high" }, (manager) =>
      Effect.gen(function* () {
        expect((yield* Effect.flip(manager.guard(Effect.void))).level).toBe("high")
      })
    )
  )

  it.effect("high runs strategies in priority order until pressure drops below high", () =>
    withManager(reading(0.5), {}, (manager, script) =>
      Effect.gen(function* () {
        const ran: Array<string> = []
        const strategy = (name: string, after: number) =>
          Effect.sync(() => {
            ran.push(name)
            script.next = reading(after)
          })
        yield* manager.registerCleanup("third", strategy("third", 0.5), 3)
        yield* manager.registerCleanup("first", strategy("first", 0.88), 1)
        yield* manager.registerCleanup("second", strategy("second", 0.68), 2)
        yield* manager.registerCleanup("also-second", strategy("also-second", 0.5), 2)
        script.next = reading(0.9)
        yield* tick
        yield* until(() => ran.length >= 2)
        yield* Effect.yieldNow
        expect(ran).toEqual(["first", "second"])
        const stats = yield* manager.status
        expect(stats.lastCleanup).toMatchObject({ trigger: "automatic", target: "high", levelBefore: "high", levelAfter: "medium" })
        expect(stats.strategies.map((s) => s.name)).toEqual(["first", "second", "also-second", "third"])
      })
    )
  )

  it.effect("critical runs every strategy even once pressure has dropped", () =>
    withManager(reading(0.5), {}, (manager, script) =>
      Effect.gen(function* () {
        const ran: Array<string> = []
        for (const [name, priority] of [
          ["b", 2],
          ["a", 1],
          ["c", 3]
        ] as const) {
          yield* manager.registerCleanup(
            name,
            Effect.sync(() => {
              ran.push(name)
              script.next = reading(0.1)
            }),
            priority
          )
        }
        script.next = reading(0.97)
        yield* tick
        yield* until(() => ran.length === 3)
        expect(ran).toEqual(["a", "b", "c"])
      })
    )
  )

  it.effect("a failing, dying or hanging strategy is reported and skipped; the others still run", () =>
    withManager(reading(0.5), { cleanupTimeout: "2 seconds" }, (manager) =>
      Effect.gen(function* () {
        const ran: Array<string> = []
        yield* manager.registerCleanup("fails", Effect.fail("nope"), 1)
        yield* manager.registerCleanup("dies", Effect.die(new Error("boom")), 2)
        yield* manager.registerCleanup("hangs", Effect.never, 3)
        yield* manager.registerCleanup(
          "throws",
          Effect.sync(() => {
            throw new Error("thrown")
          }),
          4
        )
        yield* manager.registerCleanup(
          "works",
          Effect.sync(() => ran.push("works")),
          5
        )
        const fiber = yield* manager.requestCleanup("critical").pipe(Effect.forkChild({ startImmediately: true }))
        yield* TestClock.adjust("2 seconds")
        const report = yield* Fiber.join(fiber)
        expect(report.ran.map((r) => [r.name, r.outcome])).toEqual([
          ["fails", "failed"],
          ["dies", "failed"],
          ["hangs", "timed_out"],
          ["throws", "failed"],
          ["works", "succeeded"]
        ])
        expect(Duration.toMillis(report.ran[2]!.duration)).toBe(2_000)
        expect(report.ran[0]!.error).toContain("nope")
        expect(report.trigger).toBe("requested")
        expect(ran).toEqual(["works"])
      })
    )
  )

  it.effect("requestCleanup(high) stops as soon as pressure is below high; at low pressure it runs nothing", () =>
    withManager(reading(0.3), {}, (manager, script) =>
      Effect.gen(function* () {
        const ran: Array<string> = []
        yield* manager.registerCleanup(
          "a",
          Effect.sync(() => ran.push("a")),
          1
        )
        expect((yield* manager.requestCleanup("high")).ran).toEqual([])
        script.next = reading(0.9)
        yield* manager.registerCleanup(
          "b",
          Effect.sync(() => {
            ran.push("b")
          }),
          0
        )
        const report = yield* manager.requestCleanup("high")
        expect(report.ran.map((r) => r.name)).toEqual(["b", "a"]) // the reading stays high: both run
        expect(ran).toEqual(["b", "a"])
      })
    )
  )

  it.effect("a strategy is removed when the scope that registered it closes", () =>
    withManager(reading(0.3), {}, (manager) =>
      Effect.gen(function* () {
        let ran = 0
        const scope = yield* Scope.make()
        yield* manager
          .registerCleanup(
            "cache",
            Effect.sync(() => ran++),
            1
          )
          .pipe(Scope.provide(scope))
        expect((yield* manager.status).strategies).toEqual([{ name: "cache", priority: 1 }])
        yield* manager.requestCleanup("critical")
        yield* Scope.close(scope, Exit.void)
        expect((yield* manager.status).strategies).toEqual([])
        yield* manager.requestCleanup("critical")
        expect(ran).toBe(1)
        // the name is free again
        yield* manager.registerCleanup("cache", Effect.void, 1)
      })
    )
  )

  it.effect("rejects a duplicate name, an empty name and a non-finite priority", () =>
    withManager(reading(0.3), {}, (manager) =>
      Effect.gen(function* () {
        yield* manager.registerCleanup("cache", Effect.void, 1)
        expect((yield* Effect.flip(manager.registerCleanup("cache", Effect.void, 2))).path).toBe("memory.cleanup.cache")
        expect((yield* Effect.flip(manager.registerCleanup("", Effect.void, 2))).path).toBe("memory.cleanup")
        expect((yield* Effect.flip(manager.registerCleanup("x", Effect.void, Number.NaN))).path).toBe("memory.cleanup.x.priority")
      })
    )
  )

  it.effect("while high persists, cleanup repeats at most once per cooldown", () =>
    withManager(reading(0.5), { cleanupCooldown: "5 seconds" }, (manager, script) =>
      Effect.gen(function* () {
        let runs = 0
        yield* manager.registerCleanup(
          "a",
          Effect.sync(() => runs++),
          1
        )
        script.next = reading(0.9)
        for (let i = 0; i < 12; i++) yield* tick
        yield* Effect.yieldNow
        expect(runs).toBe(3) // at 2 s, 7 s and 12 s (reading stays high)
      })
    )
  )

  it.effect("escalating to critical during a run triggers another run right after it, not a cooldown later", () =>
    withManager(reading(0.5), { cleanupTimeout: "10 seconds", cleanupCooldown: "1 minute" }, (manager, script) =>
      Effect.gen(function* () {
        const ran: Array<string> = []
        yield* manager.registerCleanup("slow", Effect.sleep("3 seconds").pipe(Effect.andThen(Effect.sync(() => ran.push("slow")))), 1)
        yield* manager.registerCleanup(
          "fast",
          Effect.sync(() => ran.push("fast")),
          2
        )
        script.next = reading(0.88)
        yield* tick // t = 1 s: high, a run starts with "slow"
        script.next = reading(0.97)
        yield* tick // t = 2 s: critical while the run is in progress
        yield* TestClock.adjust("2 seconds") // t = 4 s: "slow" done; still critical, so "fast" runs too
        yield* until(() => ran.length === 2)
        yield* TestClock.adjust("5 seconds") // the check at 5 s starts another run of all
        yield* until(() => ran.length === 4)
        expect(ran).toEqual(["slow", "fast", "slow", "fast"])
        expect((yield* manager.status).lastCleanup).toMatchObject({ target: "critical", trigger: "automatic" })
      })
    )
  )

  it.effect("event-loop stage: sheds above maxDelay with hysteresis; the error says it is the event loop", () =>
    withManager(reading(0.3, { eventLoop: loop(300) }), { eventLoop: { maxDelay: "200 millis" } }, (manager, script) =>
      Effect.gen(function* () {
        // the first reading is a check: the stage judges it at once
        const error = yield* Effect.flip(manager.guard(Effect.void))
        expect(error).toMatchObject({ _tag: "MemoryPressure", code: "memory_pressure", trigger: "event_loop", level: "low" })
        expect(Duration.toMillis(error.eventLoopDelay!)).toBe(300)
        expect(Duration.toMillis(error.maxEventLoopDelay!)).toBe(200)
        expect(Duration.toMillis(error.retryAfter!)).toBe(1_000)
        expect(error.message).toBe("load shed: the event loop fell behind by 300.0 ms (limit 200 ms); retry after 1s")
        expect(error.message).not.toContain("memory pressure")
        const shedding = yield* manager.status
        expect(shedding).toMatchObject({ shedding: true, sheddingReason: "event_loop" })
        expect(Duration.toMillis(shedding.eventLoopDelay!)).toBe(300)
        script.next = reading(0.3, { eventLoop: loop(170) }) // above 200 x 0.8: still shedding
        yield* tick
        expect((yield* manager.status).shedding).toBe(true)
        script.next = reading(0.3, { eventLoop: loop(150) })
        yield* tick
        expect(yield* manager.guard(Effect.succeed("ok"))).toBe("ok")
      })
    )
  )

  it.effect("a single stall sheds for exactly one checkInterval, from the check whose reading shows it", () =>
    withManager(
      reading(0.3, { eventLoop: loop(0.2) }),
      { checkInterval: "1 second", eventLoop: { maxDelay: "200 millis" } },
      (manager, script) =>
        Effect.gen(function* () {
          // a guarded call every 10 ms for 4 s; the stall is in the reading taken at 2 s
          const shedAt: Array<number> = []
          for (let t = 0; t < 4_000; t += 10) {
            if (t === 1_990) script.next = reading(0.3, { eventLoop: stall })
            if (t === 2_010) script.next = reading(0.3, { eventLoop: loop(0.2) })
            const result = yield* Effect.result(manager.guard(Effect.void))
            if (result._tag === "Failure") shedAt.push(t)
            yield* TestClock.adjust("10 millis")
          }
          expect(shedAt).toHaveLength(100)
          expect([shedAt[0], shedAt.at(-1)]).toEqual([2_000, 2_990])
        })
    )
  )

  it.effect("rejections carry retryAfter = checkInterval, for memory pressure too", () =>
    withManager(reading(0.97), { checkInterval: "5 seconds" }, (manager) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(manager.check)
        expect(error).toMatchObject({ trigger: "memory", level: "critical" })
        expect(Duration.toMillis(error.retryAfter!)).toBe(5_000)
        expect(error.message).toBe(`load shed at memory pressure "critical" (heap 97.0% used); retry after 5s`)
      })
    )
  )

  it.effect("event-loop delay alone never sheds without maxDelay", () =>
    withManager(reading(0.3, { eventLoop: loop(5_000) }), {}, (manager) =>
      Effect.gen(function* () {
        expect(yield* manager.guard(Effect.succeed("ok"))).toBe("ok")
      })
    )
  )

  it.effect("invalid options fail the layer with InvalidConfig naming every path", () =>
    Effect.gen(function* () {
      const build = (options: MemoryManager.Options) =>
        Effect.flip(Layer.build(MemoryManager.layerWithSource(options).pipe(Layer.provide(scripted(reading(0)).layer))))
      const bad = yield* build({
        checkInterval: Number.NaN,
        thresholds: { medium: 0.9, high: 0.8 },
        rejectAt: "low" as never,
        hysteresis: -1,
        eventLoop: { maxDelay: 0 }
      })
      expect(bad.path).toBe("memory.checkInterval")
      for (const path of ["memory.thresholds", "memory.rejectAt", "memory.hysteresis", "memory.eventLoop.maxDelay"]) {
        expect(bad.message).toContain(path)
      }
      expect((yield* build({ thresholds: { critical: 1.5 } })).path).toBe("memory.thresholds.critical")
      expect((yield* build({ cleanupTimeout: "-1 seconds" as never })).path).toBe("memory.cleanupTimeout")
      // Node fires a timer of more than 2^31 - 1 ms after 1 ms: such waits are refused
      const tooLong = yield* build({ checkInterval: "30 days" })
      expect([tooLong.path, tooLong.message]).toEqual(["memory.checkInterval", expect.stringContaining("2147483647")])
      expect((yield* build({ cleanupTimeout: 2 ** 31 })).path).toBe("memory.cleanupTimeout")
    })
  )

  it.effect("stops sampling when its scope closes", () =>
    Effect.gen(function* () {
      const { layer, script } = scripted(reading(0.1))
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(MemoryManager.layerWithSource().pipe(Layer.provide(layer)), scope)
      yield* tick
      yield* tick
      expect(script.reads).toBe(3)
      yield* Scope.close(scope, Exit.void)
      yield* tick
      yield* tick
      expect(script.reads).toBe(3)
    })
  )

  it.effect("reports a memory component to the health aggregator: high degraded, critical unhealthy", () =>
    Effect.gen(function* () {
      const registered: Array<HealthComponent> = []
      const components = Layer.succeed(
        HealthComponents,
        HealthComponents.of({
          register: (component) => Effect.sync(() => void registered.push(component))
        })
      )
      const { layer, script } = scripted(reading(0.5))
      yield* Effect.gen(function* () {
        const component = registered[0]!
        expect(component).toMatchObject({ name: "memory", kind: "memory", critical: true })
        expect((yield* component.report).status).toBe("healthy")
        script.next = reading(0.9)
        yield* tick
        expect((yield* component.report).status).toBe("degraded")
        script.next = reading(0.99)
        yield* tick
        expect(yield* component.report).toMatchObject({ status: "unhealthy", details: { level: "critical", ratio: 0.99 } })
      }).pipe(Effect.provide(MemoryManager.layerWithSource().pipe(Layer.provide([layer, components]))))
    })
  )

  it.effect("health: degraded, with the delay and the limit, while it sheds for the event loop; healthy once it stops", () =>
    Effect.gen(function* () {
      const registered: Array<HealthComponent> = []
      const components = Layer.succeed(
        HealthComponents,
        HealthComponents.of({
          register: (component) => Effect.sync(() => void registered.push(component))
        })
      )
      const { layer, script } = scripted(reading(0.1, { eventLoop: loop(0.2) }))
      yield* Effect.gen(function* () {
        const component = registered[0]!
        expect((yield* component.report).status).toBe("healthy")
        script.next = reading(0.1, { eventLoop: stall })
        yield* tick
        expect(yield* component.report).toEqual({
          status: "degraded",
          details: {
            level: "low",
            ratio: 0.1,
            heapUsedRatio: 0.1,
            rssRatio: undefined,
            shedding: "event_loop",
            eventLoopDelayMillis: 600,
            eventLoopDelayP99Millis: 0.2,
            maxEventLoopDelayMillis: 200,
            retryAfterMillis: 1_000
          }
        })
        script.next = reading(0.1, { eventLoop: loop(0.2) })
        yield* tick
        expect(yield* component.report).toMatchObject({ status: "healthy", details: { shedding: undefined } })
      }).pipe(Effect.provide(MemoryManager.layerWithSource({ eventLoop: { maxDelay: 200 } }).pipe(Layer.provide([layer, components]))))
    })
  )

  it.effect("health: degraded whenever it sheds for memory, even below high (rejectAt: medium)", () =>
    Effect.gen(function* () {
      const registered: Array<HealthComponent> = []
      const components = Layer.succeed(
        HealthComponents,
        HealthComponents.of({
          register: (component) => Effect.sync(() => void registered.push(component))
        })
      )
      const { layer } = scripted(reading(0.75))
      yield* Effect.gen(function* () {
        expect(yield* registered[0]!.report).toMatchObject({ status: "degraded", details: { level: "medium", shedding: "memory" } })
      }).pipe(Effect.provide(MemoryManager.layerWithSource({ rejectAt: "medium" }).pipe(Layer.provide([layer, components]))))
    })
  )

  it.effect("exports the pressure level and heap used as gauges", () =>
    Effect.gen(function* () {
      const { layer, script } = scripted(reading(0.9))
      const gauges = Effect.map(Metric.snapshot, (snapshots) =>
        Object.fromEntries(snapshots.filter((s) => s.type === "Gauge").map((s) => [s.id, (s.state as { value: number }).value]))
      )
      yield* Effect.gen(function* () {
        expect(yield* gauges).toEqual({ "foundation.memory.pressure": 2, "foundation.memory.heap_used": 900 })
        script.next = reading(0.99)
        yield* tick
        expect(yield* gauges).toEqual({ "foundation.memory.pressure": 3, "foundation.memory.heap_used": 990 })
      }).pipe(Effect.provide(MemoryManager.layerWithSource().pipe(Layer.provide(layer))))
      expect(yield* gauges).toEqual({})
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  it.live("the Node source gives plausible readings and does not crash", () =>
    Effect.gen(function* () {
      const manager = yield* Manager
      yield* Effect.sleep("30 millis")
      const stats = yield* manager.status
      expect(stats.reading.heapUsed).toBeGreaterThan(0)
      expect(stats.reading.heapLimit).toBeGreaterThan(stats.reading.heapUsed)
      expect(stats.reading.rss).toBeGreaterThan(0)
      expect(stats.heapUsedRatio).toBeGreaterThan(0)
      expect(stats.heapUsedRatio).toBeLessThan(1)
      expect(["low", "medium"]).toContain(stats.level)
      const report = yield* manager.requestCleanup("high")
      expect(report.ran).toEqual([])
    }).pipe(Effect.provide(MemoryManager.layer({ checkInterval: "10 millis" })))
  )
})
