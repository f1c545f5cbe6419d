import { describe, expect, it } from "@effect/vitest"
import { joinViolations, MAX_TIMER_MILLIS, Violations } from "../../../src/internal/runtime/validate.js"

describe("validate", () => {
  it("lists every violation up to 20 and counts the rest", () => {
    const violations = new Violations()
    for (let i = 0; i < 10_000; i++) violations.add(`rules.r${i}.limit`, "must be a positive integer")
    const error = violations.toError()!
    expect(error.path).toBe("rules.r0.limit")
    expect(error.message).toContain("rules.r19.limit")
    expect(error.message).not.toContain("rules.r20.limit")
    expect(error.message).toMatch(/\.\.\. and 9980 more violations$/)
    expect(error.message.length).toBeLessThan(2_000)
  })

  it("joins a short list in full", () => {
    expect(joinViolations(["a: x", "b: y"])).toBe("a: x; b: y")
    expect(joinViolations(Array.from({ length: 21 }, (_, i) => `p${i}`))).toMatch(/and 1 more violation$/)
  })

  it("accepts a timer duration up to 2^31 - 1 ms and rejects one longer, naming the bound", () => {
    const violations = new Violations()
    expect(violations.timerDuration("timeout", MAX_TIMER_MILLIS)).toBe(MAX_TIMER_MILLIS)
    expect(violations.timerDuration("timeout", "30 days")).toBeUndefined()
    expect(violations.timerDuration("timeout", 0)).toBeUndefined()
    expect(violations.list.map((v) => v.path)).toEqual(["timeout", "timeout"])
    expect(violations.list[0]!.message).toContain("2147483647")
    expect(violations.list[1]!.message).toContain("positive")
  })
})
