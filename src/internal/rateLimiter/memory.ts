/**
 * The memory store: each rule's `RuleState` (key table + algorithm) owned by the service.
 * Every decision is synchronous, hence atomic. Also the Redis store's insurance limiter,
 * which is the same decision on a scaled-down rule (`takeLocal`).
 */
import type { Clock } from "effect"
import { Effect, Exit } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { decodeSync } from "../runtime/options.js"
import type { DecodedRule, RuleConfig } from "./config.js"
import { resolveRule, RuleSchema } from "./config.js"
import { takeManyLocal } from "./many.js"
import { RuleState } from "./rule.js"
import type { Decision, Peeked, SyncStore } from "./store.js"
import { ADMITTED, DENIED, deniedAll, StoreRule } from "./store.js"

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
  /** refused because the key is blocked: nothing remains */
  blocked = false
  readonly reason = undefined
  constructor(readonly state: RuleState) {}
  get remaining(): number {
    return this.blocked ? 0 : this.state.remainingAt(this.state.lastSlot, this.at)
  }
  get resetAfter(): number {
    return this.blocked ? 0 : this.state.resetAfterAt(this.state.lastSlot, this.at)
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
  decision.cancel = undefined
  // a map lookup only while some key of the rule is blocked
  if (state.blocks.size !== 0) {
    const until = state.blockedUntil(key, now)
    if (until !== 0) {
      state.denied++
      decision.blocked = true
      decision.outcome = DENIED
      decision.wait = until - now
      decision.at = now
      return decision
    }
  }
  decision.blocked = false
  let wait = state.take(key, now, cost, 0)
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
    const blockMillis = state.blockMillis
    if (blockMillis > 0) {
      // over the limit: blocked from now on (the rule's blockDuration), whatever the refill says
      state.block(key, now + blockMillis)
      if (wait < blockMillis) decision.wait = blockMillis
    }
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
    state.blockMillis = config.blockMillis
    this.decision = new LocalDecision(state)
  }

  override configure(config: RuleConfig): void {
    super.configure(config)
    this.state.blockMillis = config.blockMillis
  }
}

/**
 * `setRule` on a rule's local state: at limit 0 the state is left as it is (nothing reads it
 * while the rule denies everything), so a rule switched off and on again finds each key as
 * the time since has left it.
 */
export const reconfigureLocal = (state: RuleState, config: RuleConfig, now: number): void => {
  if (config.rule.limit !== 0) state.reconfigure(config.rule, config.maxKeys, now)
  state.blockMillis = config.blockMillis
}

/** The memory rule `name` of a decoded rule (the layer's, an inline one). */
export const memoryRule = (name: string, rule: DecodedRule): MemoryRule => {
  const config = resolveRule(rule)
  return new MemoryRule(name, new RuleState(name, config.rule, config.maxKeys), config)
}

export const makeMemoryStore = (rules: ReadonlyMap<string, MemoryRule>): SyncStore<MemoryRule> => ({
  name: "memory",
  sync: true,
  rules,
  inline: memoryRule,
  take: (rule, key, cost, clock: Clock.Clock) =>
    rule.off ? deniedAll : takeLocal(rule.state, rule.decision, key, clock.currentTimeMillisUnsafe(), cost, rule.maxWait),
  takeMany: (requests, clock) =>
    Effect.sync(() =>
      takeManyLocal(
        requests.map(({ rule, key, cost }) => ({ state: rule.state, key, cost, maxWait: rule.maxWait })),
        clock.currentTimeMillisUnsafe()
      )
    ),
  peek: (rule, key, clock) => {
    const seen = peekLocal(rule.state, key, clock.currentTimeMillisUnsafe())
    return Exit.succeed(rule.rule.limit === 0 && seen.blockedUntil === 0 ? { remaining: 0, resetAfter: 0, blockedUntil: 0 } : seen)
  },
  reset: (rule, key) =>
    Effect.sync(() => {
      rule.state.reset(key)
    }),
  adjust: (rule, key, points, clock) =>
    Effect.sync(() => {
      // limit 0 holds nothing to use or give back
      if (rule.rule.limit !== 0) rule.state.adjust(key, clock.currentTimeMillisUnsafe(), points)
    }),
  block: (rule, key, millis, clock) =>
    Effect.sync(() => {
      rule.state.block(key, clock.currentTimeMillisUnsafe() + millis)
    }),
  setRule: (rule, input, clock) =>
    Effect.suspend(() => {
      const decoded = decodeSync(RuleSchema, input, `rules.${rule.name}`)
      if (decoded instanceof InvalidConfig) return Exit.fail(decoded)
      const config = resolveRule(decoded)
      reconfigureLocal(rule.state, config, clock.currentTimeMillisUnsafe())
      rule.configure(config)
      return Exit.void
    })
})

/** What `state` knows of `key` at `now` (also the Redis store's insurance status). */
export const peekLocal = (state: RuleState, key: string, now: number): Peeked => {
  const blockedUntil = state.blockedUntil(key, now)
  if (blockedUntil !== 0) return { remaining: 0, resetAfter: blockedUntil - now, blockedUntil }
  const slot = state.table.find(key)
  return { remaining: state.remainingAt(slot, now), resetAfter: state.resetAfterAt(slot, now), blockedUntil }
}
