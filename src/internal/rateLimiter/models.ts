/**
 * The rate limiter's public models (re-exported by `RateLimiter`): what a call passes and what
 * the service answers.
 */
import type { Duration } from "effect"
import type { AlgorithmName } from "./algorithms.js"

/**
 * Options of one call: `cost` (a positive integer, default 1) is how many units it uses.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  readonly cost?: number | undefined
}

/**
 * One request of a multi-check (`limit([...])`, `check([...])`): `cost` (default 1) units of
 * `key` under `rule`.
 *
 * @since 0.3.0
 * @category models
 */
export interface LimitRequest {
  readonly rule: string
  readonly key: string
  readonly cost?: number | undefined
}

/**
 * What an admitted call leaves: calls of cost 1 still admissible now, and how long until the
 * key is back to a fresh state.
 *
 * @since 0.1.0
 * @category models
 */
export interface Allowance {
  readonly remaining: number
  readonly resetAfter: Duration.Duration
}

/**
 * A key's state under a rule, without using anything.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateStatus extends Allowance {
  readonly rule: string
  readonly key: string
  readonly algorithm: AlgorithmName
  readonly limit: number
  /**
   * Present while the key is blocked (by `block`, or by the rule's `blockDuration`): when the
   * block ends, in epoch milliseconds (`Infinity`: not before `reset`). `remaining` is then 0
   * and `resetAfter` the time until the block ends.
   */
  readonly unblocksAt?: number
}
