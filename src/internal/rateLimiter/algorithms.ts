/**
 * The four rate-limit algorithms as pure functions on small plain numbers.
 *
 * Time is integer milliseconds, costs and limits are integers, and every quantity is kept
 * in integer units so decisions are exact (no float drift at window edges) and a Redis Lua
 * script can mirror each function line by line.
 *
 * Every algorithm answers two questions:
 * - `delay(state, now, cost)`: how many milliseconds from `now` until this call fits
 *   (0 = now, `Infinity` = never: the cost exceeds the rule's capacity);
 * - `admit(state, at, cost)`: the state after admitting the call at `at` (a time for which
 *   `delay` said 0). A `"delay"` caller is admitted at `now + delay` *before* it sleeps: the
 *   state's own clock moves to that future slot, so every later caller is evaluated at or after
 *   it. That is what makes waiting callers first-in-first-out and keeps `"fail"` callers from
 *   overtaking them.
 *
 * The pair algorithms (token bucket, fixed window, GCRA) keep two numbers per key, `a` and
 * `b`; the sliding window keeps a log. The `out` parameter receives the next pair (a scratch
 * object reused by the caller, so the hot path allocates nothing).
 */

/** A rule after validation: integers only. */
export interface Rule {
  readonly algorithm: AlgorithmName
  readonly limit: number
  readonly windowMillis: number
  /** token-bucket and gcra capacity in tokens (defaults to `limit`) */
  readonly burst: number
}

export type AlgorithmName = "token-bucket" | "fixed-window" | "sliding-window" | "gcra"

export const algorithmNames: ReadonlyArray<AlgorithmName> = ["token-bucket", "fixed-window", "sliding-window", "gcra"]

/** Receives a pair state. */
export interface Pair {
  a: number
  b: number
}

/** An algorithm whose state per key is two numbers. */
export interface PairAlgorithm {
  /** the state of a key never seen, at `now` */
  readonly initial: (now: number, rule: Rule, out: Pair) => void
  readonly delay: (a: number, b: number, now: number, cost: number, rule: Rule) => number
  readonly admit: (a: number, b: number, at: number, cost: number, rule: Rule, out: Pair) => void
  /**
   * The state after a penalty (`points` > 0: used without checking that they fit, so the key
   * may go over its limit) or a reward (`points` < 0: given back, never past a fresh state),
   * at `now`. A penalty is exactly `admit` at `now`.
   */
  readonly adjust: (a: number, b: number, now: number, points: number, rule: Rule, out: Pair) => void
  /**
   * Whole calls in use at `now` (rounded up; more than the capacity after a penalty or with
   * callers waiting): what `setRule` carries over to a rule's new parameters.
   */
  readonly used: (a: number, b: number, now: number, rule: Rule) => number
  /** whole calls of cost 1 that would be admitted now */
  readonly remaining: (a: number, b: number, now: number, rule: Rule) => number
  /** milliseconds until the state is back to "as if never seen" */
  readonly resetAfter: (a: number, b: number, now: number, rule: Rule) => number
  /** true when forgetting the key changes no future decision */
  readonly isFresh: (a: number, b: number, now: number, rule: Rule) => boolean
}

// ---------------------------------------------------------------------------------------------
// Token bucket. One token = `windowMillis` units; the bucket refills `limit` units per ms and
// holds `burst * windowMillis` units. a = level (units) at time b (ms).
// Memory per key: two numbers.

const tbLevel = (a: number, b: number, at: number, rule: Rule): number => {
  const full = rule.burst * rule.windowMillis
  if (at <= b) return a
  const level = a + (at - b) * rule.limit
  return level >= full ? full : level
}

export const tokenBucket: PairAlgorithm = {
  initial: (now, rule, out) => {
    out.a = rule.burst * rule.windowMillis
    out.b = now
  },
  delay: (a, b, now, cost, rule) => {
    const need = cost * rule.windowMillis
    if (need > rule.burst * rule.windowMillis) return Infinity
    // the state's clock may be ahead of now: callers already waiting hold the slots before it
    const at = now > b ? now : b
    const level = tbLevel(a, b, at, rule)
    return level >= need ? at - now : at - now + Math.ceil((need - level) / rule.limit)
  },
  admit: (a, b, at, cost, rule, out) => {
    const time = at > b ? at : b
    out.a = tbLevel(a, b, time, rule) - cost * rule.windowMillis
    out.b = time
  },
  adjust: (a, b, now, points, rule, out) => {
    const time = now > b ? now : b
    const level = tbLevel(a, b, time, rule) - points * rule.windowMillis
    const full = rule.burst * rule.windowMillis
    out.a = level > full ? full : level
    out.b = time
  },
  used: (a, b, now, rule) => {
    const at = now > b ? now : b
    const missing = rule.burst * rule.windowMillis - tbLevel(a, b, at, rule)
    // slots handed to waiting callers (the state's clock ahead of now) are in use too
    return Math.ceil(missing / rule.windowMillis) + (b > now ? Math.ceil(((b - now) * rule.limit) / rule.windowMillis) : 0)
  },
  remaining: (a, b, now, rule) => Math.floor(tbLevel(a, b, now > b ? now : b, rule) / rule.windowMillis),
  resetAfter: (a, b, now, rule) => {
    const at = now > b ? now : b
    // limit 0 (deny all) never refills, and a key of it never holds anything to reset
    return rule.limit === 0 ? 0 : at - now + Math.ceil((rule.burst * rule.windowMillis - tbLevel(a, b, at, rule)) / rule.limit)
  },
  isFresh: (a, b, now, rule) => now >= b && tbLevel(a, b, now, rule) >= rule.burst * rule.windowMillis
}

// ---------------------------------------------------------------------------------------------
// GCRA (generic cell rate algorithm). The emission interval is windowMillis / limit ms; to stay
// in integers, time inside the algorithm is counted in units of 1/limit ms, so the interval is
// `windowMillis` units and the tolerance `burst * windowMillis` units. The one conceptual
// number, the theoretical arrival time (TAT), is stored as a = whole ms and b = remainder in
// units (0 <= b < limit): a single float could not hold TAT * limit exactly.
// Memory per key: one timestamp (two numbers).

/** TAT - now, in units, never negative */
const gcraAhead = (a: number, b: number, now: number, rule: Rule): number => {
  const ahead = (a - now) * rule.limit + b
  return ahead > 0 ? ahead : 0
}

export const gcra: PairAlgorithm = {
  initial: (now, _rule, out) => {
    out.a = now
    out.b = 0
  },
  delay: (a, b, now, cost, rule) => {
    const increment = cost * rule.windowMillis
    const tolerance = rule.burst * rule.windowMillis
    if (increment > tolerance) return Infinity
    const over = gcraAhead(a, b, now, rule) + increment - tolerance
    return over <= 0 ? 0 : Math.ceil(over / rule.limit)
  },
  admit: (a, b, at, cost, rule, out) => {
    const ahead = gcraAhead(a, b, at, rule) + cost * rule.windowMillis
    const whole = Math.floor(ahead / rule.limit)
    out.a = at + whole
    out.b = ahead - whole * rule.limit
  },
  adjust: (a, b, now, points, rule, out) => {
    const moved = gcraAhead(a, b, now, rule) + points * rule.windowMillis
    const ahead = moved > 0 ? moved : 0
    const whole = Math.floor(ahead / rule.limit)
    out.a = now + whole
    out.b = ahead - whole * rule.limit
  },
  used: (a, b, now, rule) => Math.ceil(gcraAhead(a, b, now, rule) / rule.windowMillis),
  remaining: (a, b, now, rule) => {
    // with callers waiting for future slots TAT - now exceeds the tolerance: none remain
    const left = rule.burst * rule.windowMillis - gcraAhead(a, b, now, rule)
    return left > 0 ? Math.floor(left / rule.windowMillis) : 0
  },
  resetAfter: (a, b, now, rule) => (rule.limit === 0 ? 0 : Math.ceil(gcraAhead(a, b, now, rule) / rule.limit)),
  isFresh: (a, b, now, rule) => gcraAhead(a, b, now, rule) === 0
}

// ---------------------------------------------------------------------------------------------
// Fixed window. Windows are aligned to multiples of windowMillis since the epoch.
// a = start of the window the count belongs to (ms), b = count admitted in it.
// Memory per key: two numbers.

const windowStart = (at: number, windowMillis: number): number => at - (((at % windowMillis) + windowMillis) % windowMillis)

export const fixedWindow: PairAlgorithm = {
  initial: (now, rule, out) => {
    out.a = windowStart(now, rule.windowMillis)
    out.b = 0
  },
  delay: (a, b, now, cost, rule) => {
    if (cost > rule.limit) return Infinity
    const at = now > a ? now : a
    const start = windowStart(at, rule.windowMillis)
    const count = start === a ? b : 0
    // a full window opens again at its end, empty, and cost <= limit fits there
    return count + cost <= rule.limit ? at - now : start + rule.windowMillis - now
  },
  admit: (a, b, at, cost, rule, out) => {
    const time = at > a ? at : a
    const start = windowStart(time, rule.windowMillis)
    out.a = start
    out.b = (start === a ? b : 0) + cost
  },
  adjust: (a, b, now, points, rule, out) => {
    const time = now > a ? now : a
    const start = windowStart(time, rule.windowMillis)
    const count = (start === a ? b : 0) + points
    out.a = start
    out.b = count > 0 ? count : 0
  },
  used: (a, b, now, rule) => (windowStart(now > a ? now : a, rule.windowMillis) === a ? b : 0),
  remaining: (a, b, now, rule) => {
    const at = now > a ? now : a
    return rule.limit - (windowStart(at, rule.windowMillis) === a ? b : 0)
  },
  resetAfter: (a, b, now, rule) => {
    const at = now > a ? now : a
    const start = windowStart(at, rule.windowMillis)
    return start === a && b > 0 ? start + rule.windowMillis - now : 0
  },
  isFresh: (a, b, now, rule) => b === 0 || now >= a + rule.windowMillis
}

export const pairAlgorithms: Record<Exclude<AlgorithmName, "sliding-window">, PairAlgorithm> = {
  "token-bucket": tokenBucket,
  "fixed-window": fixedWindow,
  gcra
}
