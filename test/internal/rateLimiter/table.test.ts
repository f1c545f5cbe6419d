import { describe, expect, it } from "@effect/vitest"
import { RuleState } from "../../../src/internal/rateLimiter/rule.js"
import { KeyTable } from "../../../src/internal/rateLimiter/table.js"

const order = (table: KeyTable): Array<string> => {
  const keys: Array<string> = []
  for (let slot = table.oldest; slot !== -1; slot = table.newer[slot]!) keys.push(table.keys[slot]!)
  return keys
}

describe("KeyTable", () => {
  it("evicts the least recently used key when full", () => {
    const table = new KeyTable(3)
    for (const key of ["a", "b", "c"]) table.insert(key)
    table.touch(table.find("a"))
    table.insert("d")
    expect(table.find("b")).toBe(-1)
    expect(order(table)).toEqual(["c", "a", "d"])
    expect(table.evictions).toBe(1)
  })

  it("reuses freed slots and keeps the recency list consistent", () => {
    const table = new KeyTable(10, false, 2)
    for (const key of ["a", "b", "c", "d"]) table.insert(key)
    table.remove(table.find("b"))
    table.remove(table.find("d"))
    table.insert("e")
    table.touch(table.find("a"))
    expect(order(table)).toEqual(["c", "e", "a"])
    expect(table.used).toBe(4)
    expect(table.size).toBe(3)
  })

  it("sweeps the oldest fresh keys and stops at the first key still in use", () => {
    const table = new KeyTable(10)
    for (const key of ["a", "b", "c", "d"]) table.insert(key)
    const stale = new Set(["a", "b", "d"])
    table.sweep(10, (slot) => stale.has(table.keys[slot]!))
    expect(order(table)).toEqual(["c", "d"])
  })

  it("10 million distinct keys with a cap of 100,000 keep the table at the cap", () => {
    const table = new KeyTable(100_000)
    let maxSize = 0
    for (let i = 0; i < 10_000_000; i++) {
      const slot = table.insert("k" + i)
      table.a[slot] = i
      if (table.size > maxSize) maxSize = table.size
    }
    expect(maxSize).toBe(100_000)
    expect(table.capacity).toBe(100_000)
    expect(table.used).toBe(100_000)
    expect(table.evictions).toBe(9_900_000)
    // the survivors are exactly the most recent keys, with their own state
    expect(table.a[table.find("k9999999")]).toBe(9_999_999)
    expect(table.find("k9899999")).toBe(-1)
  }, 60_000)
})

describe("RuleState", () => {
  const rule = { algorithm: "fixed-window" as const, limit: 1, windowMillis: 1000, burst: 1 }

  it("drops keys whose window has passed, without a timer, when new keys need their room", () => {
    const state = new RuleState("api", rule, Infinity)
    for (let i = 0; i < 1000; i++) state.take("ip-" + i, 0, 1, 0)
    expect([state.table.size, state.table.capacity]).toEqual([1000, 1024])
    // a second window's 1,000 new keys: the expired ones make room, the table does not grow
    for (let i = 0; i < 1000; i++) expect(state.take("next-" + i, 1000, 1, 0)).toBe(0)
    expect(state.table.capacity).toBe(1024)
    for (let i = 0; i < 1000; i++) expect(state.table.find("next-" + i)).not.toBe(-1)
    expect(state.table.find("ip-0")).toBe(-1)
  })

  it("a key that comes back after its window passed keeps its slot (nothing is dropped and re-added)", () => {
    const state = new RuleState("api", rule, Infinity)
    const slots = (): Array<number> => Array.from({ length: 100 }, (_, i) => state.table.find("ip-" + i))
    for (let i = 0; i < 100; i++) state.take("ip-" + i, 0, 1, 0)
    const first = slots()
    // every key is back to "as if never seen" each window, and each comes back in the next
    for (let window = 1; window <= 10; window++) {
      for (let i = 0; i < 100; i++) expect(state.take("ip-" + i, window * 1000, 1, 0)).toBe(0)
      expect(slots()).toEqual(first)
    }
    expect(state.table.used).toBe(100)
  })

  it("a sliding-window key whose log has expired makes room for a new key", () => {
    const sliding = { ...rule, algorithm: "sliding-window" as const, limit: 5 }
    const state = new RuleState("api", sliding, Infinity)
    for (let i = 0; i < 100; i++) state.take("ip-" + i, i, 1, 0)
    for (let i = 0; i < 100; i++) state.take("next-" + i, 2000 + i, 1, 0)
    expect(state.table.capacity).toBe(128)
    expect(state.table.find("ip-0")).toBe(-1)
    expect(state.table.find("next-99")).not.toBe(-1)
  })

  it("counts allowed and denied decisions", () => {
    const state = new RuleState("api", rule, 10)
    state.take("k", 0, 1, 0)
    state.take("k", 0, 1, 0)
    state.take("k", 0, 2, 0)
    expect([state.allowed, state.denied]).toEqual([1, 2])
  })
})
