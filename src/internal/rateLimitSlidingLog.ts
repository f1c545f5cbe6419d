/**
 * The exact sliding window: a log of admitted (time, cost) entries per key.
 *
 * A call of cost `c` fits at time `t` when the costs admitted in `(t - window, t]` plus `c`
 * are at most `limit`, so no `window` consecutive milliseconds ever admit more than `limit`.
 * Admissions in the same millisecond share one entry, so a log holds at most
 * `min(limit, window)` entries: memory per key is O(limit), about 16 bytes per entry. The Redis
 * mirror is a sorted set per key.
 *
 * Functions follow the pair algorithms' contract (see rateLimitAlgorithms.ts): `delay` is a
 * pure query; `admit` updates the log in place (it is owned by one key of one table).
 */
import type { Rule } from "./rateLimitAlgorithms.js"

export interface Log {
  /** index of the oldest entry still in the arrays */
  head: number
  /** total cost of entries from head on */
  sum: number
  readonly times: Array<number>
  readonly costs: Array<number>
}

export const emptyLog = (): Log => ({ head: 0, sum: 0, times: [], costs: [] })

const lastTime = (log: Log): number =>
  log.times.length > log.head ? log.times[log.times.length - 1]! : -Infinity

/** Total cost admitted in (at - window, at]. */
const liveSum = (log: Log, at: number, rule: Rule): number => {
  const horizon = at - rule.windowMillis
  let sum = log.sum
  for (let i = log.head; i < log.times.length && log.times[i]! <= horizon; i++) sum -= log.costs[i]!
  return sum
}

export const delay = (log: Log | undefined, now: number, cost: number, rule: Rule): number => {
  if (cost > rule.limit) return Infinity
  if (log === undefined) return 0
  const last = lastTime(log)
  // callers already waiting hold slots up to the last entry: never go before it
  const at = now > last ? now : last
  const horizon = at - rule.windowMillis
  let sum = log.sum
  let i = log.head
  for (; i < log.times.length && log.times[i]! <= horizon; i++) sum -= log.costs[i]!
  if (sum + cost <= rule.limit) return at - now
  // the earliest time enough old entries have left the window
  let excess = sum + cost - rule.limit
  for (; i < log.times.length; i++) {
    excess -= log.costs[i]!
    if (excess <= 0) return log.times[i]! + rule.windowMillis - now
  }
  return Infinity // unreachable: cost <= limit
}

const expire = (log: Log, at: number, rule: Rule): void => {
  const horizon = at - rule.windowMillis
  while (log.head < log.times.length && log.times[log.head]! <= horizon) {
    log.sum -= log.costs[log.head]!
    log.head++
  }
  // drop the dead prefix once it is at least half the arrays: amortized O(1) per entry
  if (log.head > 16 && log.head * 2 >= log.times.length) {
    log.times.splice(0, log.head)
    log.costs.splice(0, log.head)
    log.head = 0
  } else if (log.head === log.times.length && log.head > 0) {
    log.times.length = 0
    log.costs.length = 0
    log.head = 0
  }
}

export const admit = (log: Log, at: number, cost: number, rule: Rule): void => {
  const last = lastTime(log)
  const time = at > last ? at : last
  expire(log, time, rule)
  const n = log.times.length
  if (n > log.head && log.times[n - 1] === time) log.costs[n - 1]! += cost
  else {
    log.times.push(time)
    log.costs.push(cost)
  }
  log.sum += cost
}

/** Takes back the latest admission of `cost` at `at` if nothing was admitted after it. */
export const undo = (log: Log, at: number, cost: number, sumAfter: number): boolean => {
  const n = log.times.length
  if (n === log.head || log.times[n - 1] !== at || log.sum !== sumAfter || log.costs[n - 1]! < cost) return false
  log.costs[n - 1]! -= cost
  log.sum -= cost
  if (log.costs[n - 1] === 0) {
    log.times.pop()
    log.costs.pop()
  }
  return true
}

export const remaining = (log: Log | undefined, now: number, rule: Rule): number => {
  if (log === undefined) return rule.limit
  const last = lastTime(log)
  return rule.limit - liveSum(log, now > last ? now : last, rule)
}

export const resetAfter = (log: Log | undefined, now: number, rule: Rule): number => {
  if (log === undefined) return 0
  const end = lastTime(log) + rule.windowMillis - now
  return end > 0 ? end : 0
}

export const isFresh = (log: Log, now: number, rule: Rule): boolean => lastTime(log) <= now - rule.windowMillis

/** Entries currently stored (for tests of the memory bound). */
export const size = (log: Log): number => log.times.length - log.head
