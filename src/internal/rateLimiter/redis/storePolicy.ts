/**
 * What a Redis-backed rule does when Redis cannot answer (down, unreachable, slower than the
 * command timeout), and the Redis store's options as a Schema (`RateLimiterRedis.OptionsSchema`):
 * a rule is the memory store's rule plus `onRedisError`, and the store adds its own settings.
 */
import { Schema } from "effect"
import { Prefix } from "../../runtime/redisOptions.js"
import { millis, PositiveInt, Ratio, TimerDuration, withDefault } from "../../runtime/schemas.js"
import type { Rule } from "../algorithms.js"
import type { RuleConfig } from "../config.js"
import { resolveRule, ruleChecks, ruleFields } from "../config.js"
import { RuleState } from "../rule.js"

const FailurePolicySchema = Schema.Literals(["failOpen", "failClosed"])

/** `failOpen` admits (and reports), `failClosed` rejects with `StoreUnavailable`. */
export type FailurePolicy = typeof FailurePolicySchema.Type

/**
 * A policy name, or a policy with `insurance`: a share (0 < share <= 1) of the rule's limit
 * and burst enforced by a local in-memory limiter while Redis is unavailable. With insurance
 * the local limiter decides (admits or fails `RateLimited`) and the policy is not consulted.
 */
export const OnRedisErrorSchema = Schema.Union([
  FailurePolicySchema,
  Schema.Struct({
    policy: FailurePolicySchema,
    /** the share of the limit and burst the local limiter enforces meanwhile */
    insurance: Schema.optional(Ratio)
  })
])

export type OnRedisError = typeof OnRedisErrorSchema.Type

export const DEFAULT_PREFIX = "effect-foundation:rl"

/** A rule of the Redis store (`RateLimiterRedis.RuleSchema`): a memory rule plus `onRedisError`. */
export const RedisRuleSchema = Schema.Struct({
  ...ruleFields,
  /** what this rule does while Redis cannot answer (default: the store's `onRedisError`) */
  onRedisError: Schema.optional(OnRedisErrorSchema)
}).pipe(Schema.check(ruleChecks))

/** The Redis store's own options, beside its rules (the configuration file's `redis.rateLimiter`). */
const storeFields = {
  /** keys are `<prefix>:<rule>:<key>` */
  prefix: withDefault(Prefix, DEFAULT_PREFIX),
  /** the policy of rules without their own `onRedisError` */
  onRedisError: withDefault(OnRedisErrorSchema, "failOpen"),
  /** the longest one decision waits for Redis: on the request path, so tighter than the breaker's 1 s */
  commandTimeout: withDefault(TimerDuration, "500 millis"),
  /** after a failure, how long decisions skip Redis (counted from the failure) */
  recheckAfter: withDefault(TimerDuration, "1 second"),
  /** the most commands sent to Redis and not answered yet */
  maxPending: withDefault(PositiveInt, 1_000)
}

/** The store's options without its rules. */
export const RedisStoreOptionsSchema = Schema.Struct(storeFields)

/** The Redis store's options (`RateLimiterRedis.OptionsSchema`). */
export const RedisOptionsSchema = Schema.Struct({
  /** the rules by name */
  rules: Schema.Record(Schema.String, RedisRuleSchema),
  ...storeFields
})

export type DecodedRedisOptions = typeof RedisOptionsSchema.Type
export type DecodedRedisRule = typeof RedisRuleSchema.Type

export interface RedisRuleConfig extends RuleConfig {
  readonly policy: FailurePolicy
  /** the local limiter used while Redis is unavailable, if the rule asked for one */
  readonly insurance: RuleState | undefined
  /** what the rule asked for (its own `onRedisError`, or the store's) */
  readonly onRedisError: OnRedisError
}

/** Whole milliseconds of a decoded timer duration (at least 1). */
export const wholeMillis = (duration: Parameters<typeof millis>[0]): number => Math.max(1, Math.floor(millis(duration)))

/** The rule scaled down to `share` of its limit and burst (at least 1 each; limit 0 stays 0). */
export const insuranceRule = (rule: Rule, share: number): Rule =>
  rule.limit === 0
    ? rule
    : {
        algorithm: rule.algorithm,
        limit: Math.max(1, Math.floor(rule.limit * share)),
        windowMillis: rule.windowMillis,
        burst: Math.max(1, Math.floor(rule.burst * share))
      }

/** A decoded rule, with `fallback` (the store's `onRedisError`) when it has none of its own. */
export const resolveRedisRule = (name: string, rule: DecodedRedisRule, fallback: OnRedisError): RedisRuleConfig => {
  const config = resolveRule(rule)
  const chosen = rule.onRedisError ?? fallback
  const policy = typeof chosen === "string" ? chosen : chosen.policy
  const share = typeof chosen === "string" ? undefined : chosen.insurance
  const insurance = share === undefined ? undefined : new RuleState(name, insuranceRule(config.rule, share), config.maxKeys)
  if (insurance !== undefined) insurance.blockMillis = config.blockMillis
  return { ...config, policy, insurance, onRedisError: chosen }
}
