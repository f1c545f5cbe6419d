/**
 * The timeout stage's compile cache: a duration written in a function (`Protection.timeout("2
 * seconds")` per call) is compiled once per operation, and the cache gives back exactly what a
 * fresh compile would.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { cachedInputs, compileTimeout } from "../../../src/internal/protection/timeout.js"

describe("compileTimeout", () => {
  it("compiles a string, a number or a Duration once per operation", () => {
    const duration = Duration.seconds(2)
    for (const input of ["2 seconds", 2000, duration] as const) {
      expect(compileTimeout(input, "users.get")).toBe(compileTimeout(input, "users.get"))
      expect(compileTimeout(input, "users.get").millis).toBe(2000)
    }
  })

  it("keeps the operation's name in its error: one entry per operation", () => {
    const a = compileTimeout("1500 millis", "a")
    const b = compileTimeout("1500 millis", "b")
    expect(a).not.toBe(b)
    const errorOf = (compiled: typeof a) => Effect.runSync(Effect.flip(compiled.timedOut))
    expect(errorOf(a).operation).toBe("a")
    expect(errorOf(b).operation).toBe("b")
    expect(errorOf(b).message).toBe('operation "b" timed out after 1s 500ms')
  })

  it("an invalid duration throws, every time (nothing is cached for it)", () => {
    expect(() => compileTimeout("two seconds" as Duration.Input, "x")).toThrow()
    expect(() => compileTimeout("two seconds" as Duration.Input, "x")).toThrow()
  })

  it("stays bounded: durations computed per call do not grow the cache without end", () => {
    // 1,000 distinct inputs, each compiled correctly; the cache keeps at most its bound
    for (let i = 1; i <= 1000; i++) {
      expect(compileTimeout(i, "computed").millis).toBe(i)
      expect(cachedInputs()).toBeLessThanOrEqual(256)
    }
    expect(compileTimeout(1000, "computed").millis).toBe(1000)
  })

  it("other inputs (a tuple) are compiled too, to the same milliseconds", () => {
    expect(compileTimeout([1, 0], "tuple").millis).toBe(1000)
  })
})
