/**
 * The rate limiter's options, stated once as a Schema: a rule's fields with their constraints
 * and defaults, the cross-field rules as checks, and the rules by name (`RateLimiter.OptionsSchema`).
 * `RateLimiter.layer`, `RateLimiterRedis.layer` (whose rule extends this one), the
 * configuration file's `rateLimiter` section and `Foundation` all decode through it.
 */
import { Duration, Schema } from "effect"
import { millis, NonNegativeInt, PositiveInt, withDefault } from "../runtime/schemas.js"
import type { AlgorithmName, Rule } from "./algorithms.js"
import { algorithmNames } from "./algorithms.js"

export const DEFAULT_MAX_KEYS = 100_000

/** A duration in code (`Duration`), a string effect parses (`"1 minute"`) or milliseconds. */
const AnyDuration = Schema.Union([Schema.Duration, Schema.DurationFromString, Schema.DurationFromMillis])

/**
 * A finite span in whole ms, at least 1 (token amounts are counted in 1/windowMillis of a
 * token: a window must be whole ms; a block with no end is `block`'s, not a rule's).
 */
const WholeMillis = AnyDuration.pipe(
  Schema.check(
    Schema.makeFilter<Duration.Duration>((duration) => {
      const windowMillis = Duration.toMillis(duration)
      return Number.isFinite(windowMillis) && windowMillis >= 1 && Number.isInteger(windowMillis)
        ? undefined
        : `must be a finite duration of at least 1 millisecond, in whole milliseconds, got ${Duration.format(duration)}`
    })
  )
)

/** A wait bound: 0 (never wait) up to infinite (wait as long as it takes). */
const MaxDelay = AnyDuration.pipe(
  Schema.check(
    Schema.makeFilter<Duration.Duration>((duration) =>
      Duration.toMillis(duration) >= 0 ? undefined : `must be a duration >= 0, got ${Duration.format(duration)}`
    )
  )
)

/** `Infinity` means no cap (only in code: JSON has no Infinity). */
const MaxKeys = Schema.Number.pipe(
  Schema.check(
    Schema.makeFilter<number>((count) =>
      count === Infinity || (Number.isSafeInteger(count) && count >= 1)
        ? undefined
        : `must be an integer >= 1 (or Infinity for no cap), got ${count}`
    )
  )
)

/** The algorithms whose capacity `burst` sets; the windows admit up to `limit`. */
const withBurst: ReadonlySet<AlgorithmName> = new Set(["token-bucket", "gcra"])

/** A rule's fields, shared with the Redis store's rule (`RateLimiterRedis.RuleSchema`). */
export const ruleFields = {
  /** token-bucket, fixed-window, sliding-window or gcra (docs/rate-limiter.md, "choosing") */
  algorithm: Schema.Literals(algorithmNames as ReadonlyArray<AlgorithmName> as [AlgorithmName, ...Array<AlgorithmName>]),
  /** calls (of cost 1) per window; 0 denies every call (a kill switch) */
  limit: NonNegativeInt,
  /** the window `limit` is counted over */
  window: WholeMillis,
  /** token-bucket and gcra only: how many may arrive at once (default: `limit`) */
  burst: Schema.optional(PositiveInt),
  /** `"fail"` fails `RateLimited`; `"delay"` waits until the call fits, up to `maxDelay` */
  onExceeded: withDefault(Schema.Literals(["fail", "delay"]), "fail"),
  /** with `"delay"` only: the longest a call waits (default: `window`) */
  maxDelay: Schema.optional(MaxDelay),
  /** keys tracked at most; the least recently used is forgotten first */
  maxKeys: withDefault(MaxKeys, DEFAULT_MAX_KEYS),
  /** a key refused once is blocked (refused at once) for this long */
  blockDuration: Schema.optional(WholeMillis)
}

interface RuleShape {
  readonly algorithm: AlgorithmName
  readonly limit: number
  readonly window: Duration.Duration
  readonly burst?: number | undefined
  readonly onExceeded: "fail" | "delay"
  readonly maxDelay?: Duration.Duration | undefined
}

/** The cross-field rules, every violation with its field's path. */
export const ruleChecks = Schema.makeFilter<RuleShape>((rule) => {
  const issues: Array<Schema.FilterIssue> = []
  if (rule.burst !== undefined && !withBurst.has(rule.algorithm)) {
    issues.push({
      path: ["burst"],
      issue: `applies to token-bucket and gcra only (a ${rule.algorithm} admits up to limit per window)`
    })
  }
  if (rule.limit === 0 && rule.burst !== undefined) {
    issues.push({ path: ["burst"], issue: "does not apply with limit 0 (a rule that denies every call)" })
  }
  if (rule.maxDelay !== undefined && rule.onExceeded !== "delay") {
    issues.push({ path: ["maxDelay"], issue: `applies only with onExceeded: "delay"` })
  }
  // token amounts are counted in units of 1/windowMillis token: they must stay exact integers
  if (Math.max(rule.burst ?? rule.limit, rule.limit) * Duration.toMillis(rule.window) > Number.MAX_SAFE_INTEGER) {
    issues.push({
      path: ["window"],
      issue: `window x ${rule.burst !== undefined ? "burst" : "limit"} is too large for exact arithmetic`
    })
  }
  return issues
})

/** One rule (`RateLimiter.RuleSchema`). */
export const RuleSchema = Schema.Struct(ruleFields).pipe(Schema.check(ruleChecks))

/** The in-memory limiter's options (`RateLimiter.OptionsSchema`, the file's `rateLimiter`). */
export const OptionsSchema = Schema.Struct({
  /** the rules by name: `RateLimiter.limit("api", key)` uses `rules.api` */
  rules: Schema.Record(Schema.String, RuleSchema)
})

/** A decoded rule (what a store is built from). */
export type DecodedRule = typeof RuleSchema.Type

export interface RuleConfig {
  readonly rule: Rule
  readonly delay: boolean
  /** the longest a `"delay"` caller waits, in ms (may be Infinity) */
  readonly maxDelayMillis: number
  readonly maxKeys: number
  /** ms a key refused once stays blocked (0: never blocked by the rule) */
  readonly blockMillis: number
}

/** The integer-only rule the algorithms run on, from a decoded rule. */
export const resolveRule = (rule: DecodedRule): RuleConfig => {
  const windowMillis = millis(rule.window)
  return {
    rule: { algorithm: rule.algorithm, limit: rule.limit, windowMillis, burst: rule.burst ?? rule.limit },
    delay: rule.onExceeded === "delay",
    maxDelayMillis: rule.maxDelay === undefined ? windowMillis : millis(rule.maxDelay),
    maxKeys: rule.maxKeys,
    blockMillis: rule.blockDuration === undefined ? 0 : millis(rule.blockDuration)
  }
}
