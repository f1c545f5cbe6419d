/**
 * What a Redis-backed rule does when Redis cannot answer (down, unreachable, slower than the
 * command timeout): validation of the options and the local "insurance" limiter.
 */
import { Duration, Option } from "effect"
import { InvalidConfig } from "../../../Errors.js"
import { timerLimitProblem } from "../../runtime/validate.js"
import type { Rule } from "../algorithms.js"
import type { RuleConfig, RuleInput } from "../config.js"
import { validateRule } from "../config.js"
import { RuleState } from "../rule.js"

/** `failOpen` admits (and reports), `failClosed` rejects with `StoreUnavailable`. */
export type FailurePolicy = "failOpen" | "failClosed"

/**
 * A policy name, or a policy with `insurance`: a share (0 < share <= 1) of the rule's limit
 * and burst enforced by a local in-memory limiter while Redis is unavailable. With insurance
 * the local limiter decides (admits or fails `RateLimited`) and the policy is not consulted.
 */
export type OnRedisError = FailurePolicy | {
  readonly policy: FailurePolicy
  readonly insurance?: number | undefined
}

export interface RedisRuleInput extends RuleInput {
  readonly onRedisError?: OnRedisError | undefined
}

export interface RedisRuleConfig extends RuleConfig {
  readonly policy: FailurePolicy
  /** the local limiter used while Redis is unavailable, if the rule asked for one */
  readonly insurance: RuleState | undefined
}

/** on the path of every decision, so tighter than the breaker's (see RateLimiterRedis) */
export const DEFAULT_COMMAND_TIMEOUT_MILLIS = 500
export const DEFAULT_RECHECK_MILLIS = 1_000
export const DEFAULT_MAX_PENDING = 1_000
export const DEFAULT_PREFIX = "effect-foundation:rl"

const describe = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "number" ? String(value) : typeof value

const isPolicy = (value: unknown): value is FailurePolicy => value === "failOpen" || value === "failClosed"

/** Validates `onRedisError` at `path`; returns the policy and insurance share. */
export const validateOnRedisError = (
  path: string,
  input: unknown
): { readonly policy: FailurePolicy; readonly share: number | undefined } | InvalidConfig => {
  if (isPolicy(input)) return { policy: input, share: undefined }
  if (typeof input !== "object" || input === null) {
    return new InvalidConfig({ path, message: `must be "failOpen", "failClosed" or { policy, insurance? }, got ${describe(input)}` })
  }
  const { insurance, policy } = input as { policy?: unknown; insurance?: unknown }
  if (!isPolicy(policy)) {
    return new InvalidConfig({ path: `${path}.policy`, message: `must be "failOpen" or "failClosed", got ${describe(policy)}` })
  }
  if (insurance !== undefined && !(typeof insurance === "number" && insurance > 0 && insurance <= 1)) {
    return new InvalidConfig({
      path: `${path}.insurance`,
      message: `must be a share of the limit in (0, 1], got ${describe(insurance)}`
    })
  }
  return { policy, share: insurance as number | undefined }
}

/** The rule scaled down to `share` of its limit and burst (at least 1 each). */
export const insuranceRule = (rule: Rule, share: number): Rule => ({
  algorithm: rule.algorithm,
  limit: Math.max(1, Math.floor(rule.limit * share)),
  windowMillis: rule.windowMillis,
  burst: Math.max(1, Math.floor(rule.burst * share))
})

export const validateRedisRule = (
  name: string,
  input: RedisRuleInput,
  fallback: { readonly policy: FailurePolicy; readonly share: number | undefined }
): RedisRuleConfig | InvalidConfig => {
  const config = validateRule(name, input)
  if (config instanceof InvalidConfig) return config
  let chosen = fallback
  if (input.onRedisError !== undefined) {
    const own = validateOnRedisError(`rules.${name}.onRedisError`, input.onRedisError)
    if (own instanceof InvalidConfig) return own
    chosen = own
  }
  return {
    ...config,
    policy: chosen.policy,
    insurance: chosen.share === undefined
      ? undefined
      : new RuleState(name, insuranceRule(config.rule, chosen.share), config.maxKeys)
  }
}

/**
 * Milliseconds of a positive finite duration option, or an `InvalidConfig` naming `path`.
 * Every duration of the store arms a timer (or bounds one), so it is also at most
 * `MAX_TIMER_MILLIS`: Node fires a longer `setTimeout` after 1 ms.
 */
export const durationOption = (
  path: string,
  input: Duration.Input | undefined,
  fallback: number
): number | InvalidConfig => {
  if (input === undefined) return fallback
  const duration = Duration.fromInput(input)
  const millis = Option.isSome(duration) ? Duration.toMillis(duration.value) : NaN
  if (!(millis >= 1) || !Number.isFinite(millis)) {
    return new InvalidConfig({ path, message: `must be a finite duration of at least 1 millisecond, got ${describe(input)}` })
  }
  const problem = timerLimitProblem(millis)
  if (problem !== undefined) return new InvalidConfig({ path, message: problem })
  return Math.floor(millis)
}

/** A whole number option of at least 1, or an `InvalidConfig` naming `path`. */
export const countOption = (path: string, input: unknown, fallback: number): number | InvalidConfig => {
  if (input === undefined) return fallback
  if (typeof input !== "number" || !Number.isSafeInteger(input) || input < 1) {
    return new InvalidConfig({ path, message: `must be a whole number of at least 1, got ${describe(input)}` })
  }
  return input
}
