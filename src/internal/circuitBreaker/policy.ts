/**
 * A breaker's policy, stated once as a Schema (`CircuitBreaker.PolicySchema`): constraints
 * and defaults next to each field, the rules between fields as checks. `CircuitBreaker.layer`,
 * the configuration file's `circuitBreaker` section and `Foundation` all decode through it.
 * The code part (`isFailure`) is not data, so it is not in the Schema (see `options.ts`).
 */
import type { Cause } from "effect"
import { Duration, Schema } from "effect"
import type { Policy } from "./circuit.js"
import { DurationInput, millis, PositiveInt, Ratio, TimerDuration, withDefault } from "../runtime/schemas.js"

export const DEFAULT_FAILURE_THRESHOLD = 5
export const DEFAULT_SLIDING_WINDOW_SIZE = 100
/** buckets of a time-based window when the policy does not say (opossum's `rollingCountBuckets`) */
export const DEFAULT_SLIDING_WINDOW_BUCKETS = 10
/** the most buckets a time-based window may have (three counters each) */
export const MAX_SLIDING_WINDOW_BUCKETS = 1000
/**
 * How long probes may hold HalfOpen when the policy does not say (or `callTimeout`, when
 * longer). Longer than any sane call (HTTP clients give up after 30 to 60 s), so a probe that
 * is merely slow is not cut short; short enough that a probe that never returns costs about
 * one minute of rejections, the order of the default reset timeout.
 */
export const DEFAULT_MAX_WAIT_IN_HALF_OPEN_MS = 60_000

const Backoff = Schema.Struct({
  /** each failed probe multiplies the next reset timeout by it */
  factor: Schema.Finite.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1))),
  /** the longest the reset timeout grows to; at least `resetTimeout` */
  max: DurationInput
})

const PolicyFields = Schema.Struct({
  /** failures that open the circuit: consecutive, or within `monitorWindow`; 5 when no rule is given */
  failureThreshold: Schema.optional(PositiveInt),
  /** makes `failureThreshold` count failures within this window */
  monitorWindow: Schema.optional(DurationInput),
  /** (0, 1]: open when this share of the last `slidingWindowSize` calls failed */
  failureRateThreshold: Schema.optional(Ratio),
  /** calls needed in the window before a rate rule can open the circuit */
  minimumCalls: withDefault(PositiveInt, 10),
  /** calls the rate rules look back over; absent: max(100, minimumCalls) */
  slidingWindowSize: Schema.optional(PositiveInt),
  /** instead of `slidingWindowSize`: the rate rules look back over this time (time-based window) */
  slidingWindowDuration: Schema.optional(DurationInput),
  /** with `slidingWindowDuration`: the buckets it is counted in (default 10, at most 1000) */
  slidingWindowBuckets: Schema.optional(PositiveInt),
  /** with `slowCallRateThreshold`: a call taking at least this long is slow */
  slowCallDuration: Schema.optional(DurationInput),
  /** with `slowCallDuration`: (0, 1], open when this share of recent calls was slow */
  slowCallRateThreshold: Schema.optional(Ratio),
  /** time Open before the next call becomes a probe (compared with the clock: no timer bound) */
  resetTimeout: withDefault(DurationInput, "30 seconds"),
  /** grows the reset timeout after each failed probe */
  backoff: Schema.optional(Backoff),
  /** probes admitted in HalfOpen, whose failure and slow-call rates decide it (see `probeVerdict`) */
  halfOpenMaxCalls: withDefault(PositiveInt, 1),
  /** a call running longer is interrupted and fails `OperationTimeout` (arms a timer) */
  callTimeout: Schema.optional(TimerDuration),
  /** how long probes may hold HalfOpen; absent: 60 s, or `callTimeout` when longer */
  maxWaitInHalfOpen: Schema.optional(TimerDuration),
  /** with a `HealthAggregator`, an open breaker makes the system unhealthy, not degraded */
  critical: withDefault(Schema.Boolean, false)
})

type Decoded = typeof PolicyFields.Type

const ms = (duration: Duration.Duration | undefined): number | undefined =>
  duration === undefined ? undefined : Duration.toMillis(duration)

// The rules between fields. They run once every field decoded, so each names a field that is
// valid on its own.
const crossField = Schema.makeFilter<Decoded>((policy) => {
  const issues: Array<Schema.FilterIssue> = []
  if (policy.monitorWindow !== undefined && policy.failureThreshold === undefined) {
    issues.push({ path: ["monitorWindow"], issue: "needs failureThreshold (the failures that must happen within it)" })
  }
  if ((policy.slowCallRateThreshold === undefined) !== (policy.slowCallDuration === undefined)) {
    issues.push({
      path: [policy.slowCallDuration === undefined ? "slowCallDuration" : "slowCallRateThreshold"],
      issue: "slowCallDuration and slowCallRateThreshold go together"
    })
  }
  if (policy.slidingWindowSize !== undefined && policy.slidingWindowSize < policy.minimumCalls) {
    issues.push({
      path: ["slidingWindowSize"],
      issue: `must be >= minimumCalls (${policy.minimumCalls}), got ${policy.slidingWindowSize}`
    })
  }
  const windowMs = ms(policy.slidingWindowDuration)
  if (windowMs !== undefined) {
    if (policy.slidingWindowSize !== undefined) {
      issues.push({
        path: ["slidingWindowDuration"],
        issue: "a window is counted in calls (slidingWindowSize) or in time (slidingWindowDuration), not both"
      })
    }
    if (policy.failureRateThreshold === undefined && policy.slowCallRateThreshold === undefined) {
      issues.push({ path: ["slidingWindowDuration"], issue: "needs failureRateThreshold or slowCallRateThreshold (the rules it is for)" })
    }
    const buckets = policy.slidingWindowBuckets ?? DEFAULT_SLIDING_WINDOW_BUCKETS
    if (buckets > MAX_SLIDING_WINDOW_BUCKETS) {
      issues.push({ path: ["slidingWindowBuckets"], issue: `must be <= ${MAX_SLIDING_WINDOW_BUCKETS}, got ${buckets}` })
    } else if (!Number.isFinite(windowMs) || windowMs < buckets) {
      issues.push({
        path: ["slidingWindowDuration"],
        issue: `must be finite and at least 1ms per bucket (${buckets} buckets), got ${windowMs}ms`
      })
    }
  } else if (policy.slidingWindowBuckets !== undefined) {
    issues.push({ path: ["slidingWindowBuckets"], issue: "needs slidingWindowDuration (the time it splits)" })
  }
  const resetTimeoutMs = millis(policy.resetTimeout)
  const backoffMaxMs = ms(policy.backoff?.max)
  if (backoffMaxMs !== undefined && backoffMaxMs < resetTimeoutMs) {
    issues.push({
      path: ["backoff", "max"],
      issue: `must be >= resetTimeout (${resetTimeoutMs}ms), got ${backoffMaxMs}ms`
    })
  }
  const callTimeoutMs = ms(policy.callTimeout)
  const maxWaitMs = ms(policy.maxWaitInHalfOpen)
  if (callTimeoutMs !== undefined && maxWaitMs !== undefined && maxWaitMs < callTimeoutMs) {
    issues.push({
      path: ["maxWaitInHalfOpen"],
      issue: `must be >= callTimeout (${callTimeoutMs}ms), got ${maxWaitMs}ms: a probe would be given up before its own timeout`
    })
  }
  return issues
})

/** One breaker's policy, data only (`CircuitBreaker.PolicySchema`). */
export const PolicySchema = PolicyFields.pipe(Schema.check(crossField))

/** A policy as a user writes it, without the code part. */
export type PolicyInput = typeof PolicySchema.Encoded

/** The code part of a policy: functions, which no configuration file can hold. */
export interface PolicyCode {
  /** which failures count (default: every failure and defect); one it rejects counts as a success */
  readonly isFailure?: ((cause: Cause.Cause<unknown>) => boolean) | undefined
}

export interface NormalizedPolicy {
  readonly core: Policy
  readonly callTimeoutMs: number | undefined
  readonly isFailure: ((cause: Cause.Cause<unknown>) => boolean) | undefined
  readonly critical: boolean
}

/** The core's policy (milliseconds, every field decided) from a decoded policy and its code part. */
export const normalize = (policy: Decoded, code: PolicyCode | undefined): NormalizedPolicy => {
  const hasRateRule = policy.failureRateThreshold !== undefined || policy.slowCallRateThreshold !== undefined
  const resetTimeoutMs = millis(policy.resetTimeout)
  const callTimeoutMs = ms(policy.callTimeout)
  return {
    core: {
      // consecutive failures is the rule when no other is given
      failureThreshold: policy.failureThreshold ?? (hasRateRule ? undefined : DEFAULT_FAILURE_THRESHOLD),
      monitorWindowMs: ms(policy.monitorWindow),
      failureRateThreshold: policy.failureRateThreshold,
      slowCallRateThreshold: policy.slowCallRateThreshold,
      slowCallDurationMs: ms(policy.slowCallDuration),
      minimumCalls: policy.minimumCalls,
      slidingWindowSize: policy.slidingWindowSize ?? Math.max(DEFAULT_SLIDING_WINDOW_SIZE, policy.minimumCalls),
      slidingWindowMs: ms(policy.slidingWindowDuration),
      slidingWindowBuckets: policy.slidingWindowBuckets ?? DEFAULT_SLIDING_WINDOW_BUCKETS,
      resetTimeoutMs,
      backoffFactor: policy.backoff?.factor ?? 1,
      backoffMaxMs: ms(policy.backoff?.max) ?? resetTimeoutMs,
      halfOpenMaxCalls: policy.halfOpenMaxCalls,
      maxWaitInHalfOpenMs: ms(policy.maxWaitInHalfOpen) ?? Math.max(DEFAULT_MAX_WAIT_IN_HALF_OPEN_MS, callTimeoutMs ?? 0),
      callTimeoutMs
    },
    callTimeoutMs,
    isFailure: code?.isFailure,
    critical: policy.critical
  }
}
