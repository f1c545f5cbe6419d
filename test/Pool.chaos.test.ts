import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as Pool from "../src/Pool.js"
import { runScenario } from "./support/scenario.js"

/**
 * How one acquire behaves: succeed, fail, die, take `millis` while ignoring interruption
 * (often past acquireTimeout, so the resource arrives after the pool gave up on it), take
 * `millis` interruptibly, or never return.
 */
const acquireStep = fc.oneof(
  fc.constantFrom({ kind: "ok" as const }, { kind: "fail" as const }, { kind: "die" as const }, { kind: "never" as const }),
  fc.record({ kind: fc.constantFrom("masked" as const, "slow" as const), millis: fc.integer({ min: 0, max: 300 }) })
)

const scenario = fc.record({
  size: fc.integer({ min: 1, max: 4 }),
  maxOverflow: fc.integer({ min: 0, max: 2 }),
  checkoutTimeout: fc.integer({ min: 5, max: 200 }),
  acquireTimeout: fc.integer({ min: 10, max: 100 }),
  acquires: fc.array(acquireStep, { minLength: 1, maxLength: 10 }),
  // see Pool.property.test.ts: a small op budget makes fibers yield almost everywhere
  opsBeforeYield: fc.constantFrom(3, 5, 13, 2048),
  callers: fc.array(
    fc.record({
      startAt: fc.integer({ min: 0, max: 300 }),
      hold: fc.integer({ min: 0, max: 40 }),
      use: fc.constantFrom("ok", "ok", "fail", "die", "interrupt"),
      interruptAfter: fc.option(fc.integer({ min: 0, max: 150 }), { nil: undefined })
    }),
    { minLength: 1, maxLength: 25 }
  )
})

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

const run = (s: Scenario) =>
  Effect.gen(function* () {
    const violations: Array<string> = []
    let calls = 0
    let next = 0
    let healthy = false // set at the end: every acquire succeeds
    const live = new Set<number>()
    const releases = new Map<number, number>()
    const holders = new Map<number, number>()

    const create = Effect.sync(() => {
      const id = next++
      live.add(id)
      return id
    })
    const acquire = Effect.suspend((): Effect.Effect<number, string> => {
      const step = healthy ? { kind: "ok" as const } : s.acquires[calls++ % s.acquires.length]!
      switch (step.kind) {
        case "ok":
          return create
        case "fail":
          return Effect.fail("refused")
        case "die":
          return Effect.die("acquire crashed")
        case "never":
          return Effect.never
        case "masked":
          return Effect.uninterruptible(Effect.andThen(Effect.sleep(step.millis), create))
        case "slow":
          return Effect.andThen(Effect.sleep(step.millis), create)
      }
    })
    const release = (id: number) =>
      Effect.sync(() => {
        if (holders.get(id)) violations.push(`released ${id} while in use`)
        if (!live.has(id)) violations.push(`released ${id}, which is not live`)
        live.delete(id)
        releases.set(id, (releases.get(id) ?? 0) + 1)
      })

    const scope = yield* Scope.make()
    const pool = yield* Pool.make({
      acquire,
      release,
      size: s.size,
      maxOverflow: s.maxOverflow,
      checkoutTimeout: s.checkoutTimeout,
      acquireTimeout: s.acquireTimeout
    }).pipe(Scope.provide(scope))

    const body = (id: number, hold: number, use: string) =>
      Effect.suspend(() => {
        if (!live.has(id)) violations.push(`handed out ${id}, which is not live`)
        const count = (holders.get(id) ?? 0) + 1
        if (count > 1) violations.push(`${id} used by two fibers at once`)
        holders.set(id, count)
        const outcome =
          use === "fail"
            ? Effect.fail("use failed")
            : use === "die"
              ? Effect.die("use died")
              : use === "interrupt"
                ? Effect.interrupt
                : Effect.void
        return Effect.sleep(hold).pipe(Effect.andThen(outcome), Effect.ensuring(Effect.sync(() => holders.set(id, holders.get(id)! - 1))))
      })

    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    for (const caller of s.callers) {
      const fiber = yield* Effect.forkChild(
        Effect.sleep(caller.startAt).pipe(Effect.andThen(pool.use((id) => body(id, caller.hold, caller.use))))
      )
      fibers.push(fiber)
      if (caller.interruptAfter !== undefined) {
        yield* Effect.forkChild(Effect.sleep(caller.startAt + caller.interruptAfter).pipe(Effect.andThen(Fiber.interrupt(fiber))))
      }
    }
    // every caller ends: by checkoutTimeout at the latest once it starts waiting, however the
    // acquisitions behave (none of them ever returns for the "never" steps)
    for (let t = 0; t < 600; t++) yield* TestClock.adjust(1)
    for (const fiber of fibers) {
      if (fiber.pollUnsafe() === undefined) violations.push("a caller is still running after 600 ms")
    }
    // acquisitions that ignore interruption return within 300 ms of their start
    for (let i = 0; i < 40; i++) yield* TestClock.adjust(10)

    const status = yield* pool.status
    expect(violations).toEqual([])
    expect(status).toMatchObject({ inUse: 0, creating: 0, waiting: 0 })
    expect(status.created).toBe(next) // late resources are counted created (and destroyed)
    expect(status.created - status.destroyed).toBe(status.idle)
    expect([...live].sort()).toHaveLength(status.idle) // every live resource is idle: nothing leaked

    // the pool still serves
    healthy = true
    const served = yield* Effect.forkChild(pool.use((id) => Effect.succeed(id)))
    for (let i = 0; i < 20 && served.pollUnsafe() === undefined; i++) yield* TestClock.adjust(1)
    const id = yield* Fiber.join(served)
    expect(live.has(id)).toBe(true)

    const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
    for (let i = 0; i < 50 && closing.pollUnsafe() === undefined; i++) yield* TestClock.adjust(10)
    yield* Fiber.join(closing)
    expect(violations).toEqual([])
    expect(live.size).toBe(0)
    // every created resource, late ones included, was released exactly once
    for (let created = 0; created < next; created++) expect([created, releases.get(created)]).toEqual([created, 1])
  })

describe("Pool chaos", () => {
  it("failing, hanging and never-returning acquires with failing, dying and interrupted uses: nothing leaks, nothing gets stuck", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) => runScenario(run(s), s.opsBeforeYield)),
      { numRuns: Number(process.env.POOL_CHAOS_RUNS ?? 100) }
    )
  }, 120_000)
})
