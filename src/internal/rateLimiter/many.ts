/**
 * Several limits at once, atomically, in memory: a call admitted only if every request (rule,
 * key, cost) admits it, using nothing from any of them otherwise. Also the Redis store's
 * insurance for a multi-check while Redis cannot answer.
 *
 * **The decision.** Each request's wait is computed without writing (`RuleState.delay`, or
 * the time left on a block); the call's wait is the longest, `T`. Every algorithm is monotone
 * (a call that fits at `t` fits at any later time, nothing else arriving), so at `now + T`
 * every request fits: if `T` is within every rule's wait bound (0 under `"fail"`), each is
 * admitted at `now + T`; otherwise nothing is written and `T` is the honest `retryAfter`.
 * A rule's `blockDuration` blocks the keys that do not fit within their own rule's bound.
 */
import type { RuleState } from "./rule.js"
import type { ManyDecision } from "./store.js"
import { ADMITTED, DENIED } from "./store.js"

export interface LocalRequest {
  readonly state: RuleState
  readonly key: string
  readonly cost: number
  /** the wait its rule allows (0 under "fail") */
  readonly maxWait: number
}

export const takeManyLocal = (requests: ReadonlyArray<LocalRequest>, now: number): ManyDecision => {
  const n = requests.length
  const waits = new Array<number>(n)
  let longest = 0
  let worst = 0
  let bound = Infinity
  for (let i = 0; i < n; i++) {
    const { state, key, cost, maxWait } = requests[i]!
    const until = state.blocks.size === 0 ? 0 : state.blockedUntil(key, now)
    const wait = until !== 0 ? until - now : state.delay(key, now, cost)
    waits[i] = wait
    if (wait > longest) {
      longest = wait
      worst = i
    }
    if (maxWait < bound) bound = maxWait
  }
  if (longest > bound) {
    const remaining = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const { state, key, maxWait } = requests[i]!
      state.denied++
      const blocked = state.blocks.size !== 0 && state.blockedUntil(key, now) !== 0
      remaining[i] = blocked ? 0 : state.remaining(key, now)
      if (waits[i]! > maxWait && state.blockMillis > 0 && !blocked) {
        // over its own rule's limit: the rule's blockDuration applies, as for one request
        state.block(key, now + state.blockMillis)
        remaining[i] = 0
        if (waits[i]! < state.blockMillis) waits[i] = state.blockMillis
      }
      if (waits[i]! > longest) {
        longest = waits[i]!
        worst = i
      }
    }
    return { outcome: DENIED, wait: longest, refused: worst, remaining, resetAfter: remaining.map(() => 0), reason: undefined }
  }
  const at = now + longest
  const remaining = new Array<number>(n)
  const resetAfter = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const { state, key, cost } = requests[i]!
    const slot = state.admitAt(key, at, cost)
    remaining[i] = state.remainingAt(slot, at)
    resetAfter[i] = state.resetAfterAt(slot, at)
  }
  return { outcome: ADMITTED, wait: longest, refused: -1, remaining, resetAfter, reason: undefined }
}
