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
import type { Rule } from "./algorithms.js"

/**
 * One flat array, so a key with a few entries costs one small array: `[head, sum, t0, c0, t1,
 * c1, ...]` where `head` is the index of the oldest live time and `sum` the total cost of the
 * live entries.
 */
export type Log = Array<number>

const HEAD = 0
const SUM = 1
const FIRST = 2

export const emptyLog = (): Log => [FIRST, 0]

/** A log holding one admission, allocated at its exact size (most keys never need more). */
export const firstLog = (at: number, cost: number): Log => [FIRST, cost, at, cost]

const lastTime = (log: Log): number => (log.length > log[HEAD]! ? log[log.length - 2]! : -Infinity)

/** Total cost admitted in (at - window, at]. */
const liveSum = (log: Log, at: number, rule: Rule): number => {
  const horizon = at - rule.windowMillis
  let sum = log[SUM]!
  for (let i = log[HEAD]!; i < log.length && log[i]! <= horizon; i += 2) sum -= log[i + 1]!
  return sum
}

export const delay = (log: Log | undefined, now: number, cost: number, rule: Rule): number => {
  if (cost > rule.limit) return Infinity
  if (log === undefined) return 0
  const last = lastTime(log)
  // callers already waiting hold slots up to the last entry: never go before it
  const at = now > last ? now : last
  const horizon = at - rule.windowMillis
  let sum = log[SUM]!
  let i = log[HEAD]!
  for (; i < log.length && log[i]! <= horizon; i += 2) sum -= log[i + 1]!
  if (sum + cost <= rule.limit) return at - now
  // the earliest time enough old entries have left the window
  let excess = sum + cost - rule.limit
  for (; i < log.length; i += 2) {
    excess -= log[i + 1]!
    if (excess <= 0) return log[i]! + rule.windowMillis - now
  }
  return Infinity // unreachable: cost <= limit
}

const expire = (log: Log, at: number, rule: Rule): void => {
  const horizon = at - rule.windowMillis
  let head = log[HEAD]!
  while (head < log.length && log[head]! <= horizon) {
    log[SUM]! -= log[head + 1]!
    head += 2
  }
  // drop the dead prefix once it is at least half the array: amortized O(1) per entry
  if (head > FIRST && (head === log.length || head * 2 >= log.length + 16)) {
    log.splice(FIRST, head - FIRST)
    head = FIRST
  }
  log[HEAD] = head
}

export const admit = (log: Log, at: number, cost: number, rule: Rule): void => {
  const last = lastTime(log)
  const time = at > last ? at : last
  expire(log, time, rule)
  const n = log.length
  if (n > log[HEAD]! && log[n - 2] === time) log[n - 1]! += cost
  else log.push(time, cost)
  log[SUM]! += cost
}

/** Takes back the latest admission of `cost` at `at` if nothing was admitted after it. */
export const undo = (log: Log, at: number, cost: number, sumAfter: number): boolean => {
  const n = log.length
  if (n === log[HEAD] || log[n - 2] !== at || log[SUM] !== sumAfter || log[n - 1]! < cost) return false
  log[n - 1]! -= cost
  log[SUM]! -= cost
  if (log[n - 1] === 0) log.length = n - 2
  return true
}

/**
 * Gives back up to `points` of what is live at `now` (a reward), newest admissions first: the
 * most recent use is the one undone, and the log never holds less than nothing.
 */
export const reward = (log: Log, now: number, points: number, rule: Rule): void => {
  const last = lastTime(log)
  expire(log, now > last ? now : last, rule)
  let left = points
  while (left > 0 && log.length > log[HEAD]!) {
    const n = log.length
    const taken = log[n - 1]! < left ? log[n - 1]! : left
    log[n - 1]! -= taken
    log[SUM]! -= taken
    left -= taken
    if (log[n - 1] === 0) log.length = n - 2
  }
}

/** Calls in use at `now` (what `setRule` carries over when the algorithm changes). */
export const used = (log: Log, now: number, rule: Rule): number => {
  const last = lastTime(log)
  return liveSum(log, now > last ? now : last, rule)
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
export const size = (log: Log): number => (log.length - log[HEAD]!) / 2
