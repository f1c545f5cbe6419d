/**
 * One `use` effect value run many times, at once: an Effect is a description, so each run is
 * a checkout of its own (nothing of one run may be seen by another).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Pool from "../src/Pool.js"

describe("Pool: one use effect run many times", () => {
  for (const validating of [false, true]) {
    it.effect(`concurrent runs of the same value each get and give back their own resource${validating ? " (validating path)" : ""}`, () =>
      Effect.gen(function* () {
        let next = 0
        const pool = yield* Pool.make({
          acquire: Effect.sync(() => next++),
          size: 2,
          name: "reuse",
          ...(validating ? { validate: () => Effect.succeed(true) } : {})
        })
        const seen: Array<number> = []
        const job = pool.use((resource) =>
          Effect.gen(function* () {
            seen.push(resource)
            yield* Effect.yieldNow
            yield* Effect.yieldNow
          })
        )
        const fibers = yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => Effect.forkChild(job))
        for (const fiber of fibers) yield* Fiber.join(fiber)
        expect(seen).toHaveLength(6)
        expect(pool.statusUnsafe()).toMatchObject({ inUse: 0, waiting: 0, idle: 2, created: 2 })
        // and the pool still serves: two more at once
        yield* Effect.all([job, job], { concurrency: 2 })
        expect(pool.statusUnsafe()).toMatchObject({ inUse: 0, waiting: 0, idle: 2 })
      }).pipe(Effect.scoped)
    )
  }
})
