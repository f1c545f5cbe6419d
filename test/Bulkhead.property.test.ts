/**
 * The bulkhead under random workloads: callers that start at random times, hold their slot,
 * succeed, fail or die, and are interrupted at random moments (waiting, running, or right as
 * a slot is handed to them), with reconfigurations in between, on a scheduler budget so
 * small that fibers yield (an interruption point) between almost any two steps. The pattern
 * of the pool's property test (`runScenario`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { Bulkhead } from "../src/index.js"
import { runScenario } from "./support/scenario.js"

const outcome = fc.constantFrom("ok", "ok", "ok", "fail", "die")

const scenario = fc.record({
  maxConcurrent: fc.integer({ min: 1, max: 4 }),
  maxWaiting: fc.integer({ min: 0, max: 5 }),
  waitTimeout: fc.integer({ min: 5, max: 100 }),
  // below 3, effect itself livelocks (see the pool's property test)
  opsBeforeYield: fc.constantFrom(3, 4, 5, 7, 13, 2048),
  reconfigurations: fc.array(
    fc.record({
      at: fc.integer({ min: 0, max: 150 }),
      maxConcurrent: fc.integer({ min: 1, max: 4 }),
      maxWaiting: fc.integer({ min: 0, max: 5 }),
      waitTimeout: fc.integer({ min: 5, max: 100 })
    }),
    { maxLength: 3 }
  ),
  callers: fc.array(
    fc.record({
      startAt: fc.integer({ min: 0, max: 100 }),
      hold: fc.integer({ min: 0, max: 30 }),
      use: outcome,
      interruptAfter: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
      // scheduler rounds after the caller's start before it is interrupted: lands between steps
      interruptAfterRounds: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined })
    }),
    { minLength: 1, maxLength: 30 }
  )
})

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

const run = (s: Scenario) =>
  Effect.gen(function* () {
    const violations: Array<string> = []
    const ceiling = Math.max(s.maxConcurrent, ...s.reconfigurations.map((r) => r.maxConcurrent))
    let inside = 0
    // counts the calls inside; the exit frame is in place before the count goes up, so an
    // interruption at any step cannot leave it off
    const body = (hold: number, use: string) =>
      Effect.suspend(() => {
        let entered = false
        const enter = Effect.flatMap(Bulkhead.status("b"), (status) => {
          entered = true
          inside++
          if (inside > ceiling) violations.push(`${inside} calls inside, limit at most ${ceiling}`)
          if (inside > status.running) violations.push(`${inside} calls inside, ${status.running} slots counted`)
          return Effect.sleep(hold)
        })
        const work = Effect.andThen(
          enter,
          use === "fail" ? Effect.fail("use failed") : use === "die" ? Effect.die("use died") : Effect.void
        )
        return Effect.onExitPrimitive(work, () => {
          if (entered) inside--
          return undefined
        })
      })

    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    for (const caller of s.callers) {
      const fiber = yield* Effect.forkChild(
        Effect.sleep(caller.startAt).pipe(Effect.andThen(body(caller.hold, caller.use).pipe(Bulkhead.limit("b"))))
      )
      fibers.push(fiber)
      if (caller.interruptAfter !== undefined) {
        yield* Effect.forkChild(Effect.sleep(caller.startAt + caller.interruptAfter).pipe(Effect.andThen(Fiber.interrupt(fiber))))
      }
      const rounds = caller.interruptAfterRounds
      if (rounds !== undefined) {
        const yields = Effect.forEach(Array.from({ length: rounds }), () => Effect.yieldNow, { discard: true })
        yield* Effect.forkChild(Effect.sleep(caller.startAt).pipe(Effect.andThen(yields), Effect.andThen(Fiber.interrupt(fiber))))
      }
    }
    for (const r of s.reconfigurations) {
      yield* Effect.forkChild(
        Effect.sleep(r.at).pipe(
          Effect.andThen(Bulkhead.configure("b", { maxConcurrent: r.maxConcurrent, maxWaiting: r.maxWaiting, waitTimeout: r.waitTimeout }))
        )
      )
    }
    for (let t = 0; t < 400; t++) yield* TestClock.adjust(1)
    for (const fiber of fibers) yield* Fiber.await(fiber)

    const status = yield* Bulkhead.status("b")
    expect(violations).toEqual([])
    expect(inside).toBe(0)
    expect(status.running).toBe(0)
    expect(status.waiting).toBe(0)
    // no slot leaked: as many calls as the limit get in at once
    const limit = status.limits.maxConcurrent
    const holders = yield* Effect.forEach(Array.from({ length: limit }), () => Effect.forkChild(Effect.never.pipe(Bulkhead.limit("b"))))
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow
    expect((yield* Bulkhead.status("b")).running).toBe(limit)
    for (const holder of holders) yield* Fiber.interrupt(holder)
    expect((yield* Bulkhead.status("b")).running).toBe(0)
  }).pipe(
    Effect.provide(
      Bulkhead.layer({ limits: { b: { maxConcurrent: s.maxConcurrent, maxWaiting: s.maxWaiting, waitTimeout: s.waitTimeout } } })
    )
  )

describe("Bulkhead properties", () => {
  it("random workloads with interruptions at every step are never over the limit and never leak a slot", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) => runScenario(run(s), s.opsBeforeYield)),
      { numRuns: Number(process.env.BULKHEAD_PROPERTY_RUNS ?? 150) }
    )
  }, 120_000)
})
