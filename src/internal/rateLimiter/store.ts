/**
 * The rate limiter's store port: what a backend (memory, Redis) implements. The service
 * (`check`, `status`, `reset`, `limit`, the `"delay"` wait, the call checks, the counters) is
 * written once over it, in `service.ts`; like effect's `persistence/RateLimiter`
 * `RateLimiterStore`, a store only decides and reads.
 *
 * A store answers `take` synchronously when it can (memory: the decision is a few array
 * reads, and wrapping it in an effect would cost more than making it) or with an effect
 * (Redis: a round trip). Either way the decision is atomic in the store: racing callers never
 * get more than the limit between them.
 */
import type { Clock, Effect } from "effect"
import type { InvalidConfig, StoreUnavailable } from "../../Errors.js"
import type { Rule } from "./algorithms.js"
import type { DecodedRule, RuleConfig } from "./config.js"

/**
 * A configured rule as the service sees it; each store extends it with its own state. What
 * the configuration says is set by `configure` (again by `setRule`, at run time).
 */
export class StoreRule {
  rule: Rule
  /** `limit: 0`: every call is denied (read on every decision, so a field of its own) */
  off: boolean
  /** ms a caller may wait for its slot: 0 under `"fail"`; finite, so a cost that never fits (wait Infinity) is denied */
  maxWait: number
  /** decisions, read by the `foundation.rate_limiter.requests` counters (the service counts) */
  allowed = 0
  denied = 0
  constructor(
    readonly name: string,
    config: RuleConfig
  ) {
    this.rule = config.rule
    this.off = config.rule.limit === 0
    this.maxWait = waitBound(config)
  }

  configure(config: RuleConfig): void {
    this.rule = config.rule
    this.off = config.rule.limit === 0
    this.maxWait = waitBound(config)
  }
}

const waitBound = (config: RuleConfig): number => (!config.delay ? 0 : Math.min(Math.floor(config.maxDelayMillis), Number.MAX_VALUE))

/** The call may run, after `wait` ms (0: now). */
export const ADMITTED = 0
/** The call does not fit within the rule's wait; `wait` is its retry-after (`Infinity`: never). */
export const DENIED = 1
/** The store could not decide and the rule says fail (`reason` says why). */
export const UNAVAILABLE = 2

/**
 * A rule of limit 0 denies every call, for as long as it stays at 0: decided without reading
 * any state (which `setRule` keeps for when the rule comes back).
 */
export const deniedAll: Decision = {
  outcome: DENIED,
  wait: Infinity,
  remaining: 0,
  resetAfter: 0,
  reason: undefined,
  cancel: undefined
}

/**
 * One decision. A synchronous store may hand out one mutable `Decision` per rule, rewritten
 * by every `take` (no allocation per call): the service reads every field it needs before
 * anything else can run.
 */
export interface Decision {
  readonly outcome: typeof ADMITTED | typeof DENIED | typeof UNAVAILABLE
  readonly wait: number
  /** calls of cost 1 still admissible when the call runs (denied: now) */
  readonly remaining: number
  /** ms from then until the key is back to a fresh state */
  readonly resetAfter: number
  readonly reason: string | undefined
  /**
   * For a delayed admission: gives the slot back if its waiter is interrupted, returning
   * whether it did. `undefined` when the store cannot (Redis keeps the slot: it never
   * over-admits, and may under-admit after interruptions).
   */
  readonly cancel: (() => boolean) | undefined
}

/** One request of a multi-check: `cost` units of `key` under `rule`. */
export interface Request<R extends StoreRule = StoreRule> {
  readonly rule: R
  readonly key: string
  readonly cost: number
}

/**
 * The decision of a multi-check: admitted (every request, after `wait`) or denied (none;
 * `refused` is the request with the longest wait, `wait` the call's retry-after), or
 * unavailable. `remaining` and `resetAfter` are per request, as for one decision.
 */
export interface ManyDecision {
  readonly outcome: typeof ADMITTED | typeof DENIED | typeof UNAVAILABLE
  readonly wait: number
  readonly refused: number
  readonly remaining: ReadonlyArray<number>
  readonly resetAfter: ReadonlyArray<number>
  readonly reason: string | undefined
}

interface StoreBase<R extends StoreRule> {
  /** A rule given with a call (`limitWith`), named by its normalised form; built once per rule. */
  readonly inline: (name: string, rule: DecodedRule) => R
  /**
   * Uses each request's cost if all of them fit within the wait every rule allows, none of
   * them otherwise: one atomic decision.
   */
  readonly takeMany: (requests: ReadonlyArray<Request<R>>, clock: Clock.Clock) => Effect.Effect<ManyDecision>
  /** names the errors a store failure produces (`StoreUnavailable.store`) */
  readonly name: string
  readonly rules: ReadonlyMap<string, R>
  /** The allowance of `key` now, using nothing. */
  readonly peek: (rule: R, key: string, clock: Clock.Clock) => Effect.Effect<Peeked, StoreUnavailable>
  /** Forgets `key` (its block included): its next call starts from a fresh state. */
  readonly reset: (rule: R, key: string, clock: Clock.Clock) => Effect.Effect<void, StoreUnavailable>
  /**
   * Uses `points` (> 0: a penalty, whether they fit or not) or gives `-points` back (< 0: a
   * reward, never past a fresh state).
   */
  readonly adjust: (rule: R, key: string, points: number, clock: Clock.Clock) => Effect.Effect<void, StoreUnavailable>
  /**
   * Replaces the rule's configuration by `input`, decoded by the store's rule Schema (paths
   * under `rules.<name>`), keeping each key's consumption; an invalid rule changes nothing.
   */
  readonly setRule: (rule: R, input: unknown, clock: Clock.Clock) => Effect.Effect<void, InvalidConfig>
  /** Refuses every call of `key` for `millis` from now (Infinity: until reset). */
  readonly block: (rule: R, key: string, millis: number, clock: Clock.Clock) => Effect.Effect<void, StoreUnavailable>
}

/** A key's allowance read without using it. */
export interface Peeked {
  readonly remaining: number
  readonly resetAfter: number
  /** when the key's block ends (epoch ms; Infinity: until reset); 0 when it is not blocked */
  readonly blockedUntil: number
}

/**
 * A store that always decides at once (memory). Said once, by `sync`, so the service's hot
 * path takes the decision as it is, without asking each one whether it is an effect.
 */
export interface SyncStore<R extends StoreRule = StoreRule> extends StoreBase<R> {
  readonly sync: true
  /** Uses `cost` units of `key`'s allowance if they fit within `rule.maxWait`. */
  readonly take: (rule: R, key: string, cost: number, clock: Clock.Clock) => Decision
}

/** A store that may need I/O to decide (Redis); it decides at once when it can (an outage). */
export interface AsyncStore<R extends StoreRule = StoreRule> extends StoreBase<R> {
  readonly sync: false
  /** Uses `cost` units of `key`'s allowance if they fit within `rule.maxWait`. */
  readonly take: (rule: R, key: string, cost: number, clock: Clock.Clock) => Decision | Effect.Effect<Decision>
}

export type Store<R extends StoreRule = StoreRule> = SyncStore<R> | AsyncStore<R>
