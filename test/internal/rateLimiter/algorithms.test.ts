import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import type { AlgorithmName, Pair, Rule } from "../../../src/internal/rateLimiter/algorithms.js"
import { algorithmNames, pairAlgorithms } from "../../../src/internal/rateLimiter/algorithms.js"
import { RuleState } from "../../../src/internal/rateLimiter/rule.js"
import * as SlidingLog from "../../../src/internal/rateLimiter/slidingLog.js"

/** One key under one rule, driven through the pure functions. */
interface Key {
  delay(now: number, cost: number): number
  admit(at: number, cost: number): void
  remaining(now: number): number
  resetAfter(now: number): number
  fresh(now: number): boolean
}

const keyOf = (rule: Rule): Key => {
  if (rule.algorithm === "sliding-window") {
    let log: SlidingLog.Log | undefined
    return {
      delay: (now, cost) => SlidingLog.delay(log, now, cost, rule),
      admit: (at, cost) => {
        log ??= SlidingLog.emptyLog()
        return SlidingLog.admit(log, at, cost, rule)
      },
      remaining: (now) => SlidingLog.remaining(log, now, rule),
      resetAfter: (now) => SlidingLog.resetAfter(log, now, rule),
      fresh: (now) => log === undefined || SlidingLog.isFresh(log, now, rule)
    }
  }
  const algorithm = pairAlgorithms[rule.algorithm]
  let state: Pair | undefined
  const current = (now: number): Pair => {
    if (state !== undefined) return state
    const initial = { a: 0, b: 0 }
    algorithm.initial(now, rule, initial)
    return initial
  }
  return {
    delay: (now, cost) => algorithm.delay(current(now).a, current(now).b, now, cost, rule),
    admit: (at, cost) => {
      const from = current(at)
      const next = { a: 0, b: 0 }
      algorithm.admit(from.a, from.b, at, cost, rule, next)
      state = next
    },
    remaining: (now) => algorithm.remaining(current(now).a, current(now).b, now, rule),
    resetAfter: (now) => algorithm.resetAfter(current(now).a, current(now).b, now, rule),
    fresh: (now) => algorithm.isFresh(current(now).a, current(now).b, now, rule)
  }
}

const rule = (algorithm: AlgorithmName, limit: number, windowMillis: number, burst = limit): Rule => ({
  algorithm,
  limit,
  windowMillis,
  burst
})

/** "fail" mode: admit when it fits now. Returns the delay seen. */
const tryAt = (key: Key, now: number, cost = 1): number => {
  const wait = key.delay(now, cost)
  if (wait === 0) key.admit(now, cost)
  return wait
}

describe("token-bucket", () => {
  it("admits a full burst at once, then refills limit per window", () => {
    const key = keyOf(rule("token-bucket", 10, 1000, 3))
    expect([tryAt(key, 0), tryAt(key, 0), tryAt(key, 0)]).toEqual([0, 0, 0])
    expect(tryAt(key, 0)).toBe(100) // one token per 100 ms
    expect(tryAt(key, 99)).toBe(1)
    expect(tryAt(key, 100)).toBe(0)
    expect(key.remaining(100)).toBe(0)
    expect(key.remaining(400)).toBe(3) // capped at burst
  })

  it("retryAfter is exact with a non-integer refill interval", () => {
    const key = keyOf(rule("token-bucket", 3, 1000)) // one token per 333.33 ms
    expect([tryAt(key, 0), tryAt(key, 0), tryAt(key, 0)]).toEqual([0, 0, 0])
    expect(tryAt(key, 0)).toBe(334)
    expect(tryAt(key, 333)).toBe(1)
    expect(tryAt(key, 334)).toBe(0)
    expect(tryAt(key, 666)).toBe(1)
    expect(tryAt(key, 667)).toBe(0)
    // the third token arrives at exactly 1000 ms: fractions carry over, no drift
    expect(tryAt(key, 999)).toBe(1)
    expect(tryAt(key, 1000)).toBe(0)
  })

  it("a full bucket does not bank fractions of a token", () => {
    const key = keyOf(rule("token-bucket", 3, 1000, 1))
    expect(tryAt(key, 0)).toBe(0)
    expect(tryAt(key, 334)).toBe(0) // 1.002 tokens, capped at 1
    expect(tryAt(key, 667)).toBe(1) // 0.999 tokens
    expect(tryAt(key, 668)).toBe(0)
  })

  it("cost > 1 waits for enough tokens; a cost above burst never fits", () => {
    const key = keyOf(rule("token-bucket", 10, 1000, 5))
    expect(tryAt(key, 0, 4)).toBe(0)
    expect(tryAt(key, 0, 3)).toBe(200)
    expect(tryAt(key, 0, 6)).toBe(Infinity)
  })

  it("a clock jump forward refills to burst, not beyond", () => {
    const key = keyOf(rule("token-bucket", 10, 1000, 5))
    for (let i = 0; i < 5; i++) tryAt(key, 0)
    expect(key.remaining(1e12)).toBe(5)
    expect(key.fresh(1e12)).toBe(true)
    expect(key.fresh(499)).toBe(false)
    expect(key.fresh(500)).toBe(true)
  })
})

describe("gcra", () => {
  it("admits burst at once, then one per emission interval", () => {
    const key = keyOf(rule("gcra", 4, 1000, 2))
    expect([tryAt(key, 0), tryAt(key, 0), tryAt(key, 0)]).toEqual([0, 0, 250])
    expect(tryAt(key, 250)).toBe(0)
    expect(key.resetAfter(250)).toBe(500)
    expect(key.fresh(749)).toBe(false)
    expect(key.fresh(750)).toBe(true)
  })

  it("a cost above burst never fits", () => {
    expect(keyOf(rule("gcra", 100, 1000, 3)).delay(0, 4)).toBe(Infinity)
  })
})

describe("fixed-window", () => {
  it("counts per aligned window and opens a fresh one at the boundary", () => {
    const key = keyOf(rule("fixed-window", 2, 1000))
    expect([tryAt(key, 990), tryAt(key, 995)]).toEqual([0, 0])
    expect(tryAt(key, 999)).toBe(1)
    expect(tryAt(key, 1000)).toBe(0)
    expect(key.remaining(1000)).toBe(1)
    expect(key.resetAfter(1500)).toBe(500)
    expect(key.fresh(1999)).toBe(false)
    expect(key.fresh(2000)).toBe(true)
  })

  it("cost > limit never fits; cost = limit fits an empty window", () => {
    const key = keyOf(rule("fixed-window", 3, 100))
    expect(tryAt(key, 0, 4)).toBe(Infinity)
    expect(tryAt(key, 0, 3)).toBe(0)
    expect(tryAt(key, 50, 1)).toBe(50)
  })
})

describe("sliding-window", () => {
  it("no window of length window admits more than limit, across boundaries", () => {
    const key = keyOf(rule("sliding-window", 2, 1000))
    expect([tryAt(key, 900), tryAt(key, 990)]).toEqual([0, 0])
    // a fixed window would admit again at 1000; the sliding window waits for 900 to leave
    expect(tryAt(key, 1000)).toBe(900)
    expect(tryAt(key, 1899)).toBe(1)
    expect(tryAt(key, 1900)).toBe(0)
    expect(key.remaining(1900)).toBe(0)
    expect(key.resetAfter(1900)).toBe(1000)
  })

  it("a large cost waits for enough old entries to leave", () => {
    const key = keyOf(rule("sliding-window", 5, 100))
    tryAt(key, 0, 2)
    tryAt(key, 10, 2)
    tryAt(key, 20, 1)
    expect(tryAt(key, 30, 3)).toBe(80) // needs both 0 and 10 to leave: at 110
    expect(tryAt(key, 30, 6)).toBe(Infinity)
  })

  it("same-millisecond admissions share one entry; expired ones are dropped", () => {
    const r = rule("sliding-window", 1000, 10)
    const log = SlidingLog.emptyLog()
    for (let i = 0; i < 100; i++) SlidingLog.admit(log, 5, 1, r)
    expect(SlidingLog.size(log)).toBe(1)
    for (let t = 6; t < 500; t++) SlidingLog.admit(log, t, 1, r)
    expect(SlidingLog.size(log)).toBeLessThanOrEqual(10)
    expect(SlidingLog.remaining(log, 499, r)).toBe(990)
  })
})

// ---------------------------------------------------------------------------------------------
// properties

const int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
const ruleArbitrary = Schema.Struct({
  algorithm: Schema.Literals(algorithmNames),
  limit: int(1, 8),
  windowMillis: int(1, 400),
  burst: int(1, 8)
})
const arrivalsArbitrary = Schema.Array(Schema.Struct({ gap: int(0, 120), cost: int(1, 4) })).check(
  Schema.isMinLength(1),
  Schema.isMaxLength(80)
)
const boolean = Schema.Boolean

/** Whether a list of (time, cost) admissions respects the rule. */
const respects = (r: Rule, admitted: ReadonlyArray<readonly [number, number]>): boolean => {
  const sorted = [...admitted].sort((x, y) => x[0] - y[0])
  switch (r.algorithm) {
    case "fixed-window": {
      const perWindow = new Map<number, number>()
      for (const [t, c] of sorted) {
        const w = Math.floor(t / r.windowMillis)
        perWindow.set(w, (perWindow.get(w) ?? 0) + c)
      }
      return [...perWindow.values()].every((sum) => sum <= r.limit)
    }
    case "sliding-window":
      // the busiest window ends at an admission: check the window ending at each one
      return sorted.every(([t]) => sorted.filter(([u]) => u > t - r.windowMillis && u <= t).reduce((s, [, c]) => s + c, 0) <= r.limit)
    default:
      // any closed interval [t_i, t_j] admits at most burst + (t_j - t_i) * limit / window
      for (let i = 0; i < sorted.length; i++) {
        let sum = 0
        for (let j = i; j < sorted.length; j++) {
          sum += sorted[j]![1]
          const span = sorted[j]![0] - sorted[i]![0]
          if (sum * r.windowMillis > r.burst * r.windowMillis + span * r.limit) return false
        }
      }
      return true
  }
}

describe("properties", () => {
  it.prop("no window admits more than allowed (fail mode)", [ruleArbitrary, arrivalsArbitrary], ([r, arrivals]) => {
    const key = keyOf(r)
    const admitted: Array<[number, number]> = []
    let now = 0
    for (const { gap, cost } of arrivals) {
      now += gap
      if (tryAt(key, now, cost) === 0) admitted.push([now, cost])
    }
    return respects(r, admitted)
  })

  it.prop(
    "no window admits more than allowed when callers wait for their slot (delay mode)",
    [ruleArbitrary, arrivalsArbitrary, int(0, 2000)],
    ([r, arrivals, maxDelay]) => {
      const key = keyOf(r)
      const admitted: Array<[number, number]> = []
      let now = 0
      let lastSlot = -Infinity
      for (const { gap, cost } of arrivals) {
        now += gap
        const wait = key.delay(now, cost)
        if (wait <= maxDelay) {
          key.admit(now + wait, cost)
          admitted.push([now + wait, cost])
          // waiting callers are served in arrival order
          if (now + wait < lastSlot) return false
          lastSlot = now + wait
        }
      }
      return respects(r, admitted)
    }
  )

  it.prop(
    "a denied call's retryAfter is honest and the earliest",
    [ruleArbitrary, arrivalsArbitrary, int(1, 10)],
    ([r, arrivals, cost]) => {
      const key = keyOf(r)
      let now = 0
      for (const a of arrivals) {
        now += a.gap
        tryAt(key, now, a.cost)
      }
      const wait = key.delay(now, cost)
      const capacity = r.algorithm === "token-bucket" || r.algorithm === "gcra" ? r.burst : r.limit
      if (cost > capacity) return wait === Infinity
      if (wait === 0) return true
      return key.delay(now + wait, cost) === 0 && key.delay(now + wait - 1, cost) > 0
    }
  )

  it.prop(
    "gcra and token-bucket with the same parameters decide the same",
    [ruleArbitrary, arrivalsArbitrary, boolean],
    ([r, arrivals, waiting]) => {
      const bucket = keyOf({ ...r, algorithm: "token-bucket" })
      const cell = keyOf({ ...r, algorithm: "gcra" })
      let now = 0
      for (const { gap, cost } of arrivals) {
        now += gap
        const a = bucket.delay(now, cost)
        const b = cell.delay(now, cost)
        if (a !== b) return false
        if (bucket.remaining(now) !== cell.remaining(now)) return false
        if (bucket.fresh(now) !== cell.fresh(now)) return false
        if (a === 0 || (waiting && a !== Infinity)) {
          bucket.admit(now + a, cost)
          cell.admit(now + a, cost)
        }
      }
      return true
    }
  )

  it.prop(
    "a fresh key decides exactly like a key never seen (safe to drop)",
    [ruleArbitrary, arrivalsArbitrary, int(1, 4)],
    ([r, arrivals, cost]) => {
      const key = keyOf(r)
      let now = 0
      for (const a of arrivals) {
        now += a.gap
        tryAt(key, now, a.cost)
      }
      const later = now + key.resetAfter(now)
      if (!key.fresh(later)) return false
      return key.delay(later, cost) === keyOf(r).delay(later, cost) && key.remaining(later) === keyOf(r).remaining(later)
    }
  )
})

// ---------------------------------------------------------------------------------------------
// penalty and reward on one rule's state (RuleState.adjust): a reward never banks more than a
// fresh key holds, and a penalty taken back at once leaves every future decision as it was

const historyArbitrary = Schema.Array(Schema.Struct({ gap: int(0, 120), cost: int(1, 4), adjust: int(-5, 5) })).check(
  Schema.isMaxLength(60)
)

const stateOf = (rule: Rule) =>
  new RuleState("r", rule.algorithm === "token-bucket" || rule.algorithm === "gcra" ? rule : { ...rule, burst: rule.limit }, 100)

/** The wait `cost` would need at `now`, without admitting it. */
const delayOf = (state: RuleState, now: number, cost: number): number => state.take("k", now, cost, -1)

describe("penalty and reward", () => {
  it.prop("a reward never leaves more remaining than a fresh key has", [ruleArbitrary, historyArbitrary], ([rule, history]) => {
    const state = stateOf(rule)
    const capacity = state.rule.burst
    let now = 0
    for (const step of history) {
      now += step.gap
      state.take("k", now, step.cost, 0)
      if (step.adjust !== 0) state.adjust("k", now, step.adjust)
      if (state.remaining("k", now) > capacity) return false
    }
    return true
  })

  it.prop("a penalty given back at once changes no decision", [ruleArbitrary, historyArbitrary, int(1, 6)], ([rule, history, points]) => {
    const state = stateOf(rule)
    let now = 0
    for (const step of history) {
      now += step.gap
      state.take("k", now, step.cost, 0)
    }
    const before = [1, 2, 3].map((cost) => delayOf(state, now, cost))
    const remaining = state.remaining("k", now)
    state.adjust("k", now, points)
    state.adjust("k", now, -points)
    const after = [1, 2, 3].map((cost) => delayOf(state, now, cost))
    return remaining === state.remaining("k", now) && before.every((wait, i) => wait === after[i])
  })
})
