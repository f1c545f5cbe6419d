/**
 * Several limits at once (`takeManyLocal`), as a property over random rule sets and random
 * sequences of single and multi-checks: a refused multi-check leaves every key's state as it
 * was, and an admitted one admits every request, each within its rule.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { algorithmNames } from "../../../src/internal/rateLimiter/algorithms.js"
import { takeManyLocal } from "../../../src/internal/rateLimiter/many.js"
import { RuleState } from "../../../src/internal/rateLimiter/rule.js"
import { ADMITTED } from "../../../src/internal/rateLimiter/store.js"

const int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
const rulesArbitrary = Schema.Array(
  Schema.Struct({ algorithm: Schema.Literals(algorithmNames), limit: int(1, 6), windowMillis: int(1, 300), burst: int(1, 6) })
).check(Schema.isMinLength(1), Schema.isMaxLength(4))
const stepsArbitrary = Schema.Array(
  Schema.Struct({
    gap: int(0, 100),
    /** bit i: rule i is in the check */
    rules: int(1, 15),
    key: int(0, 2),
    cost: int(1, 3)
  })
).check(Schema.isMaxLength(60))

/** Every key's state of a rule, as plain data. */
const snapshot = (state: RuleState): string =>
  JSON.stringify([...state.table.index].map(([key, slot]) => [key, state.table.a[slot], state.table.b[slot], state.table.extra?.[slot]]))

describe("several limits at once", () => {
  it.prop("a refused multi-check changes no key's state", [rulesArbitrary, stepsArbitrary], ([rules, steps]) => {
    const states = rules.map(
      (rule, i) =>
        new RuleState(`r${i}`, rule.algorithm === "token-bucket" || rule.algorithm === "gcra" ? rule : { ...rule, burst: rule.limit }, 100)
    )
    let now = 0
    for (const step of steps) {
      now += step.gap
      const requests = states
        .filter((_, i) => (step.rules >> i) & 1)
        .map((state, i) => ({ state, key: `k${(step.key + i) % 3}`, cost: step.cost, maxWait: 0 }))
      if (requests.length === 0) continue
      const before = states.map(snapshot)
      const fits = requests.map(({ state, key, cost }) => state.delay(key, now, cost) === 0)
      const decision = takeManyLocal(requests, now)
      if (decision.outcome === ADMITTED) {
        if (!fits.every(Boolean)) return false
      } else {
        if (fits.every(Boolean)) return false
        if (states.map(snapshot).some((after, i) => after !== before[i])) return false
      }
    }
    return true
  })

  it("reports the request with the longest wait, and that wait", () => {
    const second = new RuleState("second", { algorithm: "gcra", limit: 1, windowMillis: 1000, burst: 1 }, 10)
    const minute = new RuleState("minute", { algorithm: "gcra", limit: 1, windowMillis: 60_000, burst: 1 }, 10)
    const both = [
      { state: second, key: "u", cost: 1, maxWait: 0 },
      { state: minute, key: "u", cost: 1, maxWait: 0 }
    ]
    expect(takeManyLocal(both, 0).outcome).toBe(ADMITTED)
    const refused = takeManyLocal(both, 10)
    expect({ refused: refused.refused, wait: refused.wait }).toEqual({ refused: 1, wait: 59_990 })
  })
})
