/**
 * The memory store: each rule's `RuleState` (key table + algorithm) owned by the service.
 * Every decision is synchronous, hence atomic. Also the Redis store's insurance limiter,
 * which is the same decision on a scaled-down rule (`takeLocal`).
 */
import type { Clock } from "effect"
import { Effect, Exit } from "effect"
import type { RuleConfig } from "./config.js"
import type { RuleState } from "./rule.js"
import type { Decision, SyncStore } from "./store.js"
import { ADMITTED, DENIED, StoreRule } from "./store.js"

/**
 * The one `Decision` of a rule, rewritten by each `take`: `remaining` and `resetAfter` are
 * only computed when read (a `limit` admitted now reads neither).
 */
export class LocalDecision implements Decision {
  outcome: typeof ADMITTED | typeof DENIED = ADMITTED
  wait = 0
  /** when the call runs (denied: now): what remaining and resetAfter are measured at */
  at = 0
  cancel: (() => boolean) | undefined = undefined
  readonly reason = undefined
  constructor(readonly state: RuleState) {}
  get remaining(): number {
    return this.state.remainingAt(this.state.lastSlot, this.at)
  }
  get resetAfter(): number {
    return this.state.resetAfterAt(this.state.lastSlot, this.at)
  }
}

/**
 * The decision of `state` for `key` at `now`. Under `"delay"` (`maxWait` > 0) an admission
 * in the future is written now, so later callers queue behind it; its `cancel` hands the slot
 * back if nothing was admitted for the key after it (`RuleState.cancel`).
 */
export const takeLocal = (
  state: RuleState,
  decision: LocalDecision,
  key: string,
  now: number,
  cost: number,
  maxWait: number
): LocalDecision => {
  let wait = state.take(key, now, cost, 0)
  decision.cancel = undefined
  if (wait > 0 && wait <= maxWait) {
    // the state before, to give the slot back: taken only on this (rare) path
    const before = state.snapshot(key, now)
    wait = state.take(key, now, cost, maxWait)
    state.denied-- // the first attempt (which asked for no wait) counted a denial
    const reservation = state.reservation(key, now + wait, cost)
    decision.cancel = () => state.cancel(reservation, before)
  }
  decision.wait = wait
  if (wait > maxWait) {
    decision.outcome = DENIED
    decision.at = now
  } else {
    decision.outcome = ADMITTED
    decision.at = now + wait
  }
  return decision
}

/** A rule of the memory store. */
export class MemoryRule extends StoreRule {
  readonly decision: LocalDecision
  constructor(
    name: string,
    readonly state: RuleState,
    config: RuleConfig
  ) {
    super(name, config)
    this.decision = new LocalDecision(state)
  }
}

export const makeMemoryStore = (rules: ReadonlyMap<string, MemoryRule>): SyncStore<MemoryRule> => ({
  name: "memory",
  sync: true,
  rules,
  take: (rule, key, cost, clock: Clock.Clock) =>
    takeLocal(rule.state, rule.decision, key, clock.currentTimeMillisUnsafe(), cost, rule.maxWait),
  peek: (rule, key, clock) => {
    const now = clock.currentTimeMillisUnsafe()
    const slot = rule.state.table.find(key)
    return Exit.succeed({ remaining: rule.state.remainingAt(slot, now), resetAfter: rule.state.resetAfterAt(slot, now) })
  },
  reset: (rule, key) =>
    Effect.sync(() => {
      rule.state.reset(key)
    })
})
