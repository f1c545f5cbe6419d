import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit } from "effect"
import { MAX_TIMER_MILLIS, timerLimitProblem } from "../src/internal/runtime/validate.js"
import * as Pool from "../src/Pool.js"

/** Options as a caller without type checking (plain JS, a config file) might pass them. */
const make = (options: unknown) => Pool.make(options as Pool.Options<number, never, never>)

describe("Pool options", () => {
  describe("the code part fails InvalidConfig, never throws", () => {
    const invalid: Array<[string, unknown, string]> = [
      ["a missing acquire", { size: 1 }, "acquire"],
      ["an acquire that is a function, not an Effect", { size: 1, acquire: () => Effect.succeed(1) }, "acquire"],
      ["an acquire that is a promise", { size: 1, acquire: Promise.resolve(1) }, "acquire"],
      ["a release that is not a function", { size: 1, acquire: Effect.succeed(1), release: Effect.void }, "release"],
      ["a validate that is not a function", { size: 1, acquire: Effect.succeed(1), validate: true }, "validate"],
      ["no options at all", undefined, "options"],
      ["null options", null, "options"]
    ]
    it.effect.each(invalid)("rejects %s with InvalidConfig naming the path", ([, options, path]) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(make(options))
        // a failure, not a defect
        expect(Exit.isFailure(exit) && exit.cause.reasons[0]?._tag).toBe("Fail")
        const error = yield* Effect.flip(make(options))
        expect(error._tag).toBe("InvalidConfig")
        expect(error.path).toBe(path)
        expect(error.message).toContain(path)
      }))

    it.effect("a layer without acquire fails to build with InvalidConfig", () =>
      Effect.gen(function*() {
        class Bad extends Context.Service<Bad, Pool.Pool<number>>()("test/BadAcquire") {}
        const layer = Pool.layer(Bad, { size: 1 } as unknown as Pool.Options<number, never, never>)
        const error = yield* Effect.flip(Effect.provide(Pool.status(Bad), layer))
        expect(error).toMatchObject({ _tag: "InvalidConfig", path: "acquire" })
        expect(error.message).toContain("test/BadAcquire")
      }))
  })

  describe("durations that arm a timer or bound a wait stay within 2^31 - 1 ms", () => {
    const bounded = ["checkoutTimeout", "acquireTimeout", "shutdownTimeout", "leakWarning"] as const
    it.effect.each(bounded)("rejects %s past the timer limit with the limit's message", (option) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(make({ acquire: Effect.succeed(1), size: 1, [option]: MAX_TIMER_MILLIS + 1 }))
        expect(error).toMatchObject({ _tag: "InvalidConfig", path: option })
        expect(error.message).toContain(`${option}: ${timerLimitProblem(MAX_TIMER_MILLIS + 1)}`)
        const days = yield* Effect.flip(make({ acquire: Effect.succeed(1), size: 1, [option]: "30 days" }))
        expect(days.path).toBe(option)
        // no timeout at all is not a bound either
        const infinite = yield* Effect.flip(make({ acquire: Effect.succeed(1), size: 1, [option]: "Infinity" }))
        expect(infinite.path).toBe(option)
      }))

    it.effect.each(bounded)("accepts %s at exactly the timer limit", (option) =>
      Effect.gen(function*() {
        const pool = yield* make({ acquire: Effect.succeed(1), size: 1, [option]: MAX_TIMER_MILLIS })
        expect(yield* pool.use(Effect.succeed)).toBe(1)
      }))

    it.effect("idleTimeout and maxLifetime arm no timer of their own, so longer values are accepted", () =>
      Effect.gen(function*() {
        const pool = yield* make({ acquire: Effect.succeed(1), size: 1, idleTimeout: "30 days", maxLifetime: "100 days" })
        expect(yield* pool.use(Effect.succeed)).toBe(1)
      }))

    it.effect("acquireTimeout must be positive", () =>
      Effect.gen(function*() {
        for (const value of [0, -1, Number.NaN, "soon"]) {
          const error = yield* Effect.flip(make({ acquire: Effect.succeed(1), size: 1, acquireTimeout: value }))
          expect(error.path).toBe("acquireTimeout")
        }
      }))

    it.effect("every problem is listed at once, the code part included", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(make({ size: 0, acquireTimeout: "30 days", name: "db" }))
        expect(error.path).toBe("acquire")
        for (const part of ["acquire", "size", "acquireTimeout", "\"db\""]) expect(error.message).toContain(part)
      }))
  })
})
