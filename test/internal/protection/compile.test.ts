import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { compile } from "../../../src/internal/protection/stages.js"

describe("policy compilation", () => {
  it("a new literal with the same fields finds what the last one compiled; the key is not part of it", () => {
    const a = compile({ rateLimit: { rule: "api", key: "a" }, circuitBreaker: "db", timeout: "2 seconds", profile: "p1" })
    const b = compile({ rateLimit: { rule: "api", key: "b" }, circuitBreaker: "db", timeout: "2 seconds", profile: "p1" })
    expect(b).toBe(a)
  })

  it("a different timeout, operation, stage set or telemetry switch compiles apart", () => {
    const base = compile({ circuitBreaker: "db", timeout: 1000, profile: "p2" })
    expect(compile({ circuitBreaker: "db", timeout: 2000, profile: "p2" })).not.toBe(base)
    expect(compile({ circuitBreaker: "other", timeout: 1000, profile: "p2" })).not.toBe(base)
    expect(compile({ circuitBreaker: "db", timeout: 1000, profile: "p2", memory: true })).not.toBe(base)
    expect(compile({ circuitBreaker: "db", timeout: 1000, profile: "p2", telemetry: false })).not.toBe(base)
    expect(compile({ circuitBreaker: "db", timeout: 1000, profile: "p2" })).toBe(base)
  })

  it("Duration objects of the same length share one compilation", () => {
    const a = compile({ circuitBreaker: "db", timeout: Duration.seconds(3), profile: "p3" })
    const b = compile({ circuitBreaker: "db", timeout: Duration.millis(3000), profile: "p3" })
    expect(b).toBe(a)
    expect(a.timeoutMillis).toBe(3000)
  })
})
