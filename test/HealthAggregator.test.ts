import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer, Metric, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Config from "../src/Config.js"
import * as HealthAggregator from "../src/HealthAggregator.js"
import { HealthComponents } from "../src/internal/runtime/healthComponents.js"
import { yieldUntil } from "./support/polling.js"

const Health = HealthAggregator.HealthAggregator

/** Runs `body` with a fresh aggregator (built under the test's TestClock). */
const withHealth = <A, E>(
  body: (health: HealthAggregator.HealthAggregator["Service"]) => Effect.Effect<A, E, Scope.Scope | HealthComponents>,
  options?: HealthAggregator.Options
) =>
  Effect.gen(function* () {
    const health = yield* Health
    return yield* body(health)
  }).pipe(Effect.provide(HealthAggregator.layer(options)))

/** A check that counts its invocations. */
const counted = <A>(effect: Effect.Effect<A>) => {
  const state = { calls: 0 }
  return { state, check: Effect.suspend(() => (state.calls++, effect)) }
}

const until = (done: () => boolean) => yieldUntil(done, 100)

describe("HealthAggregator", () => {
  it.effect("is healthy with score 1 with no components at all", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const report = yield* health.systemHealth
        expect(report).toMatchObject({ status: "healthy", score: 1, components: {} })
        expect(report.checkedAt).toBe(0)
      })
    )
  )

  it.effect("combines statuses: a critical unhealthy check fails the system, others degrade it", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        yield* health.register("db", Effect.succeed("healthy"), { critical: true })
        yield* health.register("search", Effect.succeed("unhealthy"))
        const degraded = yield* health.systemHealth
        expect(degraded.status).toBe("degraded")
        // weights: db 2 x 1, search 1 x 0 => 2 / 3
        expect(degraded.score).toBeCloseTo(2 / 3)
        yield* health.register("queue", Effect.succeed({ status: "unhealthy", output: "broker down" }), {
          critical: true
        })
        const unhealthy = yield* health.systemHealth
        expect(unhealthy.status).toBe("unhealthy")
        expect(unhealthy.score).toBeCloseTo(2 / 5)
        expect(unhealthy.components["queue"]).toMatchObject({
          status: "unhealthy",
          critical: true,
          kind: "check",
          output: "broker down"
        })
      })
    )
  )

  it.effect("a degraded check degrades the system and keeps its details", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        yield* health.register("cache", Effect.succeed({ status: "degraded", details: { hitRate: 0.2 } }), {
          critical: true
        })
        const report = yield* health.systemHealth
        expect(report.status).toBe("degraded")
        expect(report.score).toBe(0.5)
        expect(report.components["cache"]?.details).toEqual({ hitRate: 0.2 })
      })
    )
  )

  it.effect("a failing, dying, throwing or nonsense-returning check is unhealthy, never a crash", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        yield* health.register("fails", Effect.fail(new Error("connection refused")))
        yield* health.register("dies", Effect.die("kaput"))
        yield* health.register(
          "throws",
          Effect.sync((): HealthAggregator.CheckOutcome => {
            throw new TypeError("undefined is not a function")
          })
        )
        yield* health.register("nonsense", Effect.succeed("fine" as unknown as HealthAggregator.HealthStatus))
        yield* health.register("interrupts", Effect.interrupt)
        const report = yield* health.systemHealth
        expect(report.status).toBe("degraded")
        expect(report.components["fails"]).toMatchObject({ status: "unhealthy", output: "connection refused" })
        expect(report.components["dies"]).toMatchObject({ status: "unhealthy", output: '"kaput"' })
        expect(report.components["throws"]).toMatchObject({ status: "unhealthy", output: "undefined is not a function" })
        expect(report.components["nonsense"]?.status).toBe("unhealthy")
        expect(report.components["nonsense"]?.output).toContain('"fine"')
        expect(report.components["interrupts"]).toMatchObject({ status: "unhealthy", output: "check was interrupted" })
      })
    )
  )

  it.effect("a hung check is answered as unhealthy exactly at its timeout", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        yield* health.register("hung", Effect.never, { timeout: "100 millis", critical: true })
        yield* health.register("slow", Effect.as(Effect.sleep("30 millis"), "healthy"), { timeout: "200 millis" })
        const fiber = yield* Effect.forkChild(health.systemHealth)
        yield* TestClock.adjust("99 millis")
        expect(fiber.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("1 millis")
        const report = yield* Fiber.join(fiber)
        expect(report.status).toBe("unhealthy")
        expect(report.components["hung"]).toMatchObject({ output: "check timed out after 100ms" })
        expect(Duration.toMillis(report.components["hung"]!.duration)).toBe(100)
        expect(report.components["slow"]).toMatchObject({ status: "healthy" })
        expect(Duration.toMillis(report.components["slow"]!.duration)).toBe(30)
        expect(Duration.toMillis(report.duration)).toBe(100)
      })
    )
  )

  it.effect("a check that ignores interruption still cannot hold a reader past its timeout", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        yield* health.register("stubborn", Effect.uninterruptible(Effect.never), { timeout: "50 millis" })
        const fiber = yield* Effect.forkChild(health.systemHealth)
        yield* TestClock.adjust("50 millis")
        const report = yield* Fiber.join(fiber)
        expect(report.components["stubborn"]?.output).toBe("check timed out after 50ms")
        // the next reader, after the cache time, does not pile a second run onto the hung one
        yield* TestClock.adjust("2 seconds")
        const again = yield* health.systemHealth
        expect(again.components["stubborn"]?.status).toBe("unhealthy")
      })
    )
  )

  it.effect("concurrent readers share one run, and the result is cached for cacheTtl", () =>
    withHealth(
      (health) =>
        Effect.gen(function* () {
          const db = counted(Effect.as(Effect.sleep("10 millis"), "healthy" as const))
          yield* health.register("db", db.check)
          const readers = yield* Effect.forkChild(
            Effect.all(
              Array.from({ length: 50 }, () => health.systemHealth),
              { concurrency: "unbounded" }
            )
          )
          yield* TestClock.adjust("10 millis")
          const reports = yield* Fiber.join(readers)
          expect(reports.every((r) => r.status === "healthy")).toBe(true)
          expect(db.state.calls).toBe(1)
          yield* TestClock.adjust("499 millis") // 499ms after the result: still cached
          yield* health.systemHealth
          yield* health.status("db")
          expect(db.state.calls).toBe(1)
          yield* TestClock.adjust("1 millis") // 500ms: stale
          yield* Effect.forkChild(health.systemHealth)
          yield* until(() => db.state.calls === 2)
        }),
      { cacheTtl: "500 millis" }
    )
  )

  it.effect("readers racing registrations and unregistrations all finish, each check run once", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const checks = Array.from({ length: 10 }, () => counted(Effect.as(Effect.sleep("5 millis"), "healthy" as const)))
        const scopes = yield* Effect.forEach(checks, () => Scope.make())
        const readers = yield* Effect.forkChild(
          Effect.all(
            Array.from({ length: 100 }, (_, i) =>
              Effect.andThen(Effect.sleep(`${i % 7} millis`), i % 2 === 0 ? health.systemHealth : health.readiness)
            ),
            { concurrency: "unbounded" }
          )
        )
        const churn = yield* Effect.forkChild(
          Effect.forEach(
            checks,
            (c, i) =>
              Effect.andThen(
                Effect.sleep("1 millis"),
                health.register(`c${i}`, c.check, { critical: i % 2 === 0 }).pipe(Scope.provide(scopes[i]!))
              ),
            { discard: true }
          )
        )
        yield* TestClock.adjust("3 millis")
        // close half of the registrations while reads are in flight
        yield* Effect.forEach(scopes.slice(0, 5), (scope) => Scope.close(scope, Exit.void), { discard: true })
        yield* TestClock.adjust("30 millis")
        const reports = yield* Fiber.join(readers)
        yield* Fiber.join(churn)
        expect(reports).toHaveLength(100)
        for (const report of reports) {
          for (const component of Object.values(report.components)) expect(component.status).not.toBe("degraded")
        }
        for (const check of checks) expect(check.state.calls).toBeLessThanOrEqual(1)
        expect((yield* health.names).length).toBeLessThanOrEqual(10)
      })
    )
  )

  it.effect("cacheTtl 0 runs an on-demand check on every read", () =>
    withHealth(
      (health) =>
        Effect.gen(function* () {
          const db = counted(Effect.succeed("healthy" as const))
          yield* health.register("db", db.check)
          for (let i = 0; i < 5; i++) yield* health.systemHealth
          expect(db.state.calls).toBe(5)
        }),
      { cacheTtl: 0 }
    )
  )

  it.effect("a reader that goes away does not cancel the run other readers wait for", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const db = counted(Effect.as(Effect.sleep("20 millis"), "healthy" as const))
        yield* health.register("db", db.check)
        const first = yield* Effect.forkChild(health.systemHealth)
        yield* TestClock.adjust("5 millis")
        const second = yield* Effect.forkChild(health.systemHealth)
        yield* Effect.yieldNow
        yield* Fiber.interrupt(first)
        yield* TestClock.adjust("15 millis")
        expect((yield* Fiber.join(second)).components["db"]?.status).toBe("healthy")
        expect(db.state.calls).toBe(1)
      })
    )
  )

  it.effect("background checks run on their interval; readers take the last result and its age", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        let status: HealthAggregator.HealthStatus = "healthy"
        const disk = counted(Effect.sync(() => status))
        yield* health.register("disk", disk.check, { interval: "1 second" })
        expect(disk.state.calls).toBe(1)
        yield* TestClock.adjust("400 millis")
        const report = yield* health.systemHealth
        expect(report.components["disk"]).toMatchObject({ status: "healthy", background: true })
        expect(Duration.toMillis(report.components["disk"]!.age)).toBe(400)
        expect(disk.state.calls).toBe(1) // reading does not run it
        status = "degraded"
        yield* TestClock.adjust("600 millis")
        expect(disk.state.calls).toBe(2)
        expect((yield* health.status("disk")).status).toBe("degraded")
        yield* TestClock.adjust("3 seconds")
        expect(disk.state.calls).toBe(5)
      })
    )
  )

  it.effect("the first read of a background check waits for its first run, within its timeout", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        yield* health.register("warmup", Effect.as(Effect.sleep("40 millis"), "healthy" as const), {
          interval: "10 seconds",
          timeout: "100 millis"
        })
        const fiber = yield* Effect.forkChild(health.systemHealth)
        yield* TestClock.adjust("40 millis")
        const warmup = (yield* Fiber.join(fiber)).components["warmup"]!
        expect(warmup.status).toBe("healthy")
        expect(Duration.toMillis(warmup.age)).toBe(0)
      })
    )
  )

  it.effect("closing the registration's scope removes the check and stops its fiber", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const disk = counted(Effect.succeed("healthy" as const))
        const scope = yield* Scope.make()
        yield* health.register("disk", disk.check, { interval: "1 second" }).pipe(Scope.provide(scope))
        yield* TestClock.adjust("1 second")
        expect(disk.state.calls).toBe(2)
        yield* Scope.close(scope, Exit.void)
        expect(yield* health.names).toEqual([])
        expect((yield* health.systemHealth).components).toEqual({})
        yield* TestClock.adjust("5 seconds")
        expect(disk.state.calls).toBe(2)
        // the name is free again
        yield* health.register("disk", disk.check)
      })
    )
  )

  it.effect("a clock set back does not keep a cached result fresh until it catches up", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(10_000)
        const db = counted(Effect.succeed("healthy" as const))
        yield* health.register("db", db.check)
        yield* health.systemHealth
        yield* TestClock.setTime(5_000)
        yield* health.systemHealth
        expect(db.state.calls).toBe(2)
      })
    )
  )

  it.effect("a reader waiting on a run whose registration closes gets an answer, not a hang", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        yield* health
          .register("slow", Effect.as(Effect.sleep("1 second"), "healthy" as const), {
            timeout: "5 seconds"
          })
          .pipe(Scope.provide(scope))
        const reader = yield* Effect.forkChild(health.status("slow"))
        yield* TestClock.adjust("10 millis")
        yield* Scope.close(scope, Exit.void)
        yield* until(() => reader.pollUnsafe() !== undefined)
        expect(yield* Fiber.join(reader)).toMatchObject({ status: "unhealthy", output: "check was interrupted" })
      })
    )
  )

  it.effect("check(name) reads one check; an unknown name is ProtectionNotFound", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        yield* health.register("db", Effect.succeed("degraded"))
        expect((yield* health.status("db")).status).toBe("degraded")
        const error = yield* Effect.flip(health.status("nope"))
        expect(error).toMatchObject({ _tag: "ProtectionNotFound", kind: "health_check", protection: "nope" })
      })
    )
  )

  it.effect("readiness reads critical components only", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const optional = counted(Effect.succeed("unhealthy" as const))
        yield* health.register("db", Effect.succeed("healthy"), { critical: true })
        yield* health.register("recommendations", optional.check)
        const ready = yield* health.readiness
        expect(ready.status).toBe("healthy")
        expect(Object.keys(ready.components)).toEqual(["db"])
        expect(optional.state.calls).toBe(0)
      })
    )
  )

  it.effect("a check's requirements are captured at registration", () => {
    class Db extends Context.Service<Db, { readonly ping: Effect.Effect<boolean> }>()("test/Db") {}
    return withHealth((health) =>
      Effect.gen(function* () {
        yield* health.register(
          "db",
          Effect.map(
            Db.use((db) => db.ping),
            (up) => (up ? "healthy" : "unhealthy")
          )
        )
        expect((yield* health.systemHealth).components["db"]?.status).toBe("unhealthy")
      }).pipe(Effect.provide(Layer.succeed(Db, { ping: Effect.succeed(false) })))
    )
  })

  it.effect("rejects a duplicate name, an empty name and bad durations with InvalidConfig naming the path", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const ok = Effect.succeed("healthy" as const)
        yield* health.register("db", ok)
        expect(yield* Effect.flip(health.register("db", ok))).toMatchObject({
          _tag: "InvalidConfig",
          path: "health.checks.db"
        })
        expect((yield* Effect.flip(health.register("", ok)))._tag).toBe("InvalidConfig")
        // "30 days" is more than a Node timer can hold (2^31 - 1 ms): it would fire after 1 ms
        for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "soon" as never, "30 days" as const]) {
          expect(yield* Effect.flip(health.register("x", ok, { timeout: bad }))).toMatchObject({
            path: "health.checks.x.timeout"
          })
          expect(yield* Effect.flip(health.register("x", ok, { interval: bad }))).toMatchObject({
            path: "health.checks.x.interval"
          })
        }
        expect(yield* health.names).toEqual(["db"])
      })
    )
  )

  it.effect("rejects bad layer options", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.flip(Layer.build(HealthAggregator.layer({ defaultTimeout: -5 })))
      expect(bad).toMatchObject({ _tag: "InvalidConfig", path: "health.defaultTimeout" })
      const badTtl = yield* Effect.flip(Layer.build(HealthAggregator.layer({ cacheTtl: Number.NaN })))
      expect(badTtl).toMatchObject({ _tag: "InvalidConfig", path: "health.cacheTtl" })
      const tooLong = yield* Effect.flip(Layer.build(HealthAggregator.layer({ defaultTimeout: "30 days" })))
      expect(tooLong).toMatchObject({ _tag: "InvalidConfig", path: "health.defaultTimeout" })
    })
  )

  it.effect("an empty name is rejected at health.checks, saying why", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        expect(yield* Effect.flip(health.register("", Effect.succeed("healthy")))).toMatchObject({
          _tag: "InvalidConfig",
          path: "health.checks",
          message: "health.checks: a check needs a non-empty name"
        })
      })
    )
  )

  it.effect("a check's unknown option fails with its path and the nearest option; every violation is listed", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const ok = Effect.succeed("healthy" as const)
        const typo = yield* Effect.flip(health.register("db", ok, { timout: "1 second" } as HealthAggregator.CheckOptions))
        expect(typo).toMatchObject({ _tag: "InvalidConfig", path: "health.checks.db.timout" })
        expect(typo.message).toContain('health.checks.db.timout: unknown option "timout"; did you mean "timeout"?')
        const many = yield* Effect.flip(
          health.register("db", ok, { timeout: 0, interval: "soon", critical: "yes" } as unknown as HealthAggregator.CheckOptions)
        )
        for (const field of ["timeout", "interval", "critical"]) expect(many.message).toContain(`health.checks.db.${field}: `)
        expect(yield* health.names).toEqual([])
      })
    )
  )

  it.effect("an unknown layer option fails with its path and the nearest option, as the configuration file's section does", () =>
    Effect.gen(function* () {
      const input = { cacheTl: "2 seconds", defaultTimeout: 0 }
      const fromLayer = yield* Effect.flip(Layer.build(HealthAggregator.layer(input as HealthAggregator.Options)))
      expect(fromLayer).toMatchObject({ _tag: "InvalidConfig", path: "health.cacheTl" })
      expect(fromLayer.message).toContain('health.cacheTl: unknown option "cacheTl"; did you mean "cacheTtl"?')
      expect(fromLayer.message).toContain("health.defaultTimeout: ")
      const fromConfig = yield* Effect.flip(Config.decode({ health: input }))
      expect(fromConfig).toMatchObject({ path: fromLayer.path, message: fromLayer.message })
    })
  )

  it.effect("cacheTtl 0 (as a number, a string or a Duration) means no cache", () =>
    Effect.gen(function* () {
      for (const cacheTtl of [0, "0 millis", Duration.zero] as const) {
        const { check, state } = counted(Effect.succeed("healthy" as const))
        yield* withHealth(
          (health) =>
            Effect.gen(function* () {
              yield* health.register("db", check)
              yield* health.systemHealth
              yield* health.systemHealth
            }),
          { cacheTtl }
        )
        expect(state.calls).toBe(2)
      }
    })
  )
})

describe("HealthAggregator built-in components", () => {
  const component = (name: string, status: HealthAggregator.HealthStatus, critical = false) => ({
    name,
    kind: "circuit_breaker" as const,
    critical,
    report: Effect.succeed({ status, details: { state: status === "healthy" ? "closed" : "open" } })
  })

  it.effect("a protection registering through HealthComponents appears, fresh on every read, until its scope closes", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const components = yield* HealthComponents
        let state: HealthAggregator.HealthStatus = "healthy"
        const scope = yield* Scope.make()
        yield* components
          .register({
            ...component("circuit_breaker:payments", "healthy", true),
            report: Effect.sync(() => ({ status: state }))
          })
          .pipe(Scope.provide(scope))
        expect((yield* health.systemHealth).components["circuit_breaker:payments"]).toMatchObject({
          status: "healthy",
          kind: "circuit_breaker",
          critical: true
        })
        state = "unhealthy"
        expect((yield* health.systemHealth).status).toBe("unhealthy") // not cached
        yield* Scope.close(scope, Exit.void)
        expect((yield* health.systemHealth).components).toEqual({})
      })
    )
  )

  it.effect("a component registered again under the same name replaces the old one", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const components = yield* HealthComponents
        const first = yield* Scope.make()
        yield* components.register(component("pool:db", "healthy")).pipe(Scope.provide(first))
        yield* components.register({ ...component("pool:db", "degraded"), kind: "pool" })
        const report = yield* health.systemHealth
        expect(report.components["pool:db"]).toMatchObject({ status: "degraded", kind: "pool" })
        // closing the replaced registration's scope leaves the new one in place
        yield* Scope.close(first, Exit.void)
        expect(yield* health.names).toEqual(["pool:db"])
      })
    )
  )

  it.effect("a background check replaced by a component stops running", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const memory = counted(Effect.succeed("healthy" as const))
        yield* health.register("memory", memory.check, { interval: "1 second" })
        yield* TestClock.adjust("1 second")
        expect(memory.state.calls).toBe(2)
        const components = yield* HealthComponents
        yield* components.register({ name: "memory", kind: "memory", critical: true, report: Effect.succeed({ status: "degraded" }) })
        yield* TestClock.adjust("5 seconds")
        expect(memory.state.calls).toBe(2)
        expect((yield* health.systemHealth).components["memory"]).toMatchObject({ status: "degraded", kind: "memory" })
      })
    )
  )

  it.effect("a component whose report dies is unhealthy", () =>
    withHealth((health) =>
      Effect.gen(function* () {
        const components = yield* HealthComponents
        yield* components.register({ name: "memory", kind: "memory", critical: true, report: Effect.die(new Error("no heap stats")) })
        expect((yield* health.systemHealth).components["memory"]).toMatchObject({
          status: "unhealthy",
          output: "no heap stats"
        })
      })
    )
  )
})

describe("HealthAggregator metrics", () => {
  it.effect("foundation.health.status is 1, 0.5 or 0 per component, and goes away with it", () =>
    Effect.gen(function* () {
      const health = yield* Health
      const scope = yield* Scope.make()
      yield* health.register("db", Effect.succeed("healthy")).pipe(Scope.provide(scope))
      yield* health.register("cache", Effect.succeed("degraded")).pipe(Scope.provide(scope))
      yield* health.register("queue", Effect.succeed("unhealthy")).pipe(Scope.provide(scope))
      yield* health.systemHealth
      const values = yield* gaugeValues
      expect(values).toEqual({ db: 1, cache: 0.5, queue: 0 })
      yield* Scope.close(scope, Exit.void)
      expect(yield* gaugeValues).toEqual({})
    }).pipe(Effect.provide(HealthAggregator.layer()), Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  const gaugeValues = Effect.map(Metric.snapshot, (snapshots) => {
    const values: Record<string, unknown> = {}
    for (const s of snapshots) {
      if (s.id === "foundation.health.status" && s.type === "Gauge") {
        values[String(s.attributes?.["component"])] = s.state.value
      }
    }
    return values
  })
})
