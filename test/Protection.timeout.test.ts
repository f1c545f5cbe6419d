import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Protection } from "../src/index.js"

describe("Protection.timeout", () => {
  it.effect("fails OperationTimeout with the operation and the duration once the deadline passes", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Effect.never.pipe(Protection.timeout("2 seconds", { operation: "users.get" })))
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("OperationTimeout")
      expect(error.operation).toBe("users.get")
      expect(Duration.toMillis(error.timeout)).toBe(2000)
      expect(error.message).toBe('operation "users.get" timed out after 2s')
    })
  )

  it.effect("data-first, and a result before the deadline is the result", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Protection.timeout(Effect.as(Effect.sleep("1 second"), 7), 1000))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe(7)
      expect(yield* Protection.timeout(Effect.succeed(1), "1 second")).toBe(1)
    })
  )

  it.effect("an interrupted caller interrupts the effect and stays interrupted", () =>
    Effect.gen(function* () {
      let finalized = false
      const fiber = yield* Effect.forkChild(
        Effect.never.pipe(Effect.ensuring(Effect.sync(() => (finalized = true))), Protection.timeout("1 minute")),
        { startImmediately: true }
      )
      yield* Fiber.interrupt(fiber)
      expect(finalized).toBe(true)
      expect(Exit.hasInterrupts(yield* Fiber.await(fiber))).toBe(true)
    })
  )
})
