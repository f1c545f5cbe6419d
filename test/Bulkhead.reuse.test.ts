/**
 * One limited effect value run many times, at once: an Effect is a description, so each run
 * takes and gives back a slot of its own (nothing of one run may be seen by another).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Bulkhead from "../src/Bulkhead.js"

describe("Bulkhead: one limited effect run many times", () => {
  it.effect("concurrent runs of the same value never exceed the limit and give every slot back", () =>
    Effect.gen(function* () {
      let running = 0
      let most = 0
      const job = Effect.gen(function* () {
        running++
        most = Math.max(most, running)
        yield* Effect.yieldNow
        yield* Effect.yieldNow
        running--
      }).pipe(Bulkhead.limit("b"))
      const fibers = yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => Effect.forkChild(job))
      for (const fiber of fibers) yield* Fiber.join(fiber)
      expect(most).toBeLessThanOrEqual(2)
      const bulkhead = yield* Bulkhead.Bulkhead
      expect(yield* bulkhead.status("b")).toMatchObject({ running: 0, waiting: 0 })
      // and it still admits two at once
      yield* Effect.all([job, job], { concurrency: 2 })
      expect(yield* bulkhead.status("b")).toMatchObject({ running: 0, waiting: 0 })
    }).pipe(Effect.provide(Bulkhead.layer({ limits: { b: { maxConcurrent: 2, maxWaiting: 10 } } })))
  )
})
