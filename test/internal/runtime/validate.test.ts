import { describe, expect, it } from "@effect/vitest"
import { joinViolations, MAX_TIMER_MILLIS, timerLimitProblem } from "../../../src/internal/runtime/validate.js"

describe("validate", () => {
  it("lists every violation up to 20 and counts the rest", () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `rules.r${i}.limit: must be a positive integer`)
    const message = joinViolations(lines)
    expect(message).toContain("rules.r19.limit")
    expect(message).not.toContain("rules.r20.limit")
    expect(message).toMatch(/\.\.\. and 9980 more violations$/)
    expect(message.length).toBeLessThan(2_000)
  })

  it("joins a short list in full", () => {
    expect(joinViolations(["a: x", "b: y"])).toBe("a: x; b: y")
    expect(joinViolations(Array.from({ length: 21 }, (_, i) => `p${i}`))).toMatch(/and 1 more violation$/)
  })

  it("a timer holds up to 2^31 - 1 ms; longer is a problem naming the bound", () => {
    expect(timerLimitProblem(MAX_TIMER_MILLIS)).toBeUndefined()
    expect(timerLimitProblem(MAX_TIMER_MILLIS + 1)).toContain("2147483647")
  })
})
