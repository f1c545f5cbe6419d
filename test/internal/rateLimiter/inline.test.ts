import { describe, expect, it } from "@effect/vitest"
import { InvalidConfig } from "../../../src/Errors.js"
import { InlineRules, inlineName } from "../../../src/internal/rateLimiter/inline.js"
import type { MemoryRule } from "../../../src/internal/rateLimiter/memory.js"
import { memoryRule } from "../../../src/internal/rateLimiter/memory.js"
import { RuleSchema } from "../../../src/internal/rateLimiter/config.js"
import { Schema } from "effect"

describe("inline rules", () => {
  it("are named by their normalised form", () => {
    const decode = Schema.decodeUnknownSync(RuleSchema)
    expect(inlineName(decode({ algorithm: "gcra", limit: 5, window: "1 second" }))).toBe("inline:gcra:5/1000ms")
    expect(inlineName(decode({ algorithm: "gcra", limit: 5, window: 1000, burst: 9, onExceeded: "delay" }))).toBe(
      "inline:gcra:5/1000ms:burst=9:delay=1000ms"
    )
    expect(inlineName(decode({ algorithm: "fixed-window", limit: 5, window: 1000, blockDuration: 50, maxKeys: 3 }))).toBe(
      "inline:fixed-window:5/1000ms:block=50ms:maxKeys=3"
    )
  })

  it("are decoded once, and the table keeps the most recently used up to its bound", () => {
    let made = 0
    const table = new InlineRules<MemoryRule>((name, rule) => {
      made++
      return memoryRule(name, rule)
    }, 3)
    const rule = (limit: number) => ({ algorithm: "gcra", limit, window: 1000 })
    const first = table.resolve(rule(1))
    expect(table.resolve(rule(1))).toBe(first)
    expect(table.resolve({ algorithm: "gcra", limit: 1, window: "1 second" })).toBe(first)
    expect(made).toBe(1)
    table.resolve(rule(2))
    table.resolve(rule(3))
    table.resolve(rule(1)) // used again: rule 2 is now the oldest
    table.resolve(rule(4))
    expect(table.size).toBe(3)
    expect(table.resolve(rule(1))).toBe(first)
    const before = made
    table.resolve(rule(2)) // forgotten: made again, from a fresh state
    expect(made).toBe(before + 1)
    expect(table.resolve({ algorithm: "gcra", limit: 0.5, window: 1000 })).toBeInstanceOf(InvalidConfig)
  })

  it("tells its observer of each rule kept, and undoes it when the rule is dropped or the table closes", () => {
    const observed: Array<string> = []
    const table = new InlineRules<MemoryRule>(memoryRule, 2, (rule) => {
      observed.push(`+${rule.name}`)
      return () => observed.push(`-${rule.name}`)
    })
    const rule = (limit: number) => ({ algorithm: "gcra", limit, window: 1000 })
    table.resolve(rule(1))
    table.resolve(rule(1))
    table.resolve(rule(2))
    table.resolve(rule(3)) // the table holds 2: rule 1 goes
    expect(observed).toEqual(["+inline:gcra:1/1000ms", "+inline:gcra:2/1000ms", "-inline:gcra:1/1000ms", "+inline:gcra:3/1000ms"])
    observed.length = 0
    table.close()
    expect(observed.sort()).toEqual(["-inline:gcra:2/1000ms", "-inline:gcra:3/1000ms"])
  })
})
