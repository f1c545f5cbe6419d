/**
 * Turning a user's `BreakerPolicy` (durations as `Duration.Input`, optional fields) into the
 * core's validated `Policy` (milliseconds, every field decided), collecting every violation.
 */
import type { Cause, Duration } from "effect"
import type { Policy } from "./circuit.js"
import type { Violations } from "../runtime/validate.js"

/** The public policy shape (documented on `CircuitBreaker.BreakerPolicy`). */
export interface BreakerPolicyInput {
  readonly failureThreshold?: number
  readonly monitorWindow?: Duration.Input
  readonly failureRateThreshold?: number
  readonly minimumCalls?: number
  readonly slidingWindowSize?: number
  readonly slowCallDuration?: Duration.Input
  readonly slowCallRateThreshold?: number
  readonly resetTimeout?: Duration.Input
  readonly backoff?: { readonly factor: number; readonly max: Duration.Input }
  readonly halfOpenMaxCalls?: number
  readonly callTimeout?: Duration.Input
  readonly maxWaitInHalfOpen?: Duration.Input
  readonly isFailure?: (cause: Cause.Cause<unknown>) => boolean
  readonly critical?: boolean
}

export const DEFAULT_FAILURE_THRESHOLD = 5
export const DEFAULT_RESET_TIMEOUT_MS = 30_000
export const DEFAULT_MINIMUM_CALLS = 10
export const DEFAULT_SLIDING_WINDOW_SIZE = 100
export const DEFAULT_HALF_OPEN_MAX_CALLS = 1
/**
 * How long probes may hold HalfOpen when the policy does not say (or `callTimeout`, when
 * longer). Longer than any sane call (HTTP clients give up after 30 to 60 s), so a probe that
 * is merely slow is not cut short; short enough that a probe that never returns costs about
 * one minute of rejections, the order of the default reset timeout.
 */
export const DEFAULT_MAX_WAIT_IN_HALF_OPEN_MS = 60_000

export interface NormalizedPolicy {
  readonly core: Policy
  readonly callTimeoutMs: number | undefined
  readonly isFailure: ((cause: Cause.Cause<unknown>) => boolean) | undefined
  readonly critical: boolean
}

/** Validates `input` (reporting under `path`), or returns undefined after recording violations. */
export const normalize = (
  input: BreakerPolicyInput | undefined,
  path: string,
  violations: Violations
): NormalizedPolicy | undefined => {
  const before = violations.list.length
  if (input !== undefined && (typeof input !== "object" || input === null)) {
    violations.add(path, "must be an object")
    return undefined
  }
  const policy = input ?? {}
  const at = (field: string) => `${path}.${field}`
  const hasRateRule = policy.failureRateThreshold !== undefined || policy.slowCallRateThreshold !== undefined
  // consecutive failures is the rule when no other is given
  const failureThreshold = violations.integer(at("failureThreshold"), policy.failureThreshold, 1) ??
    (hasRateRule || policy.failureThreshold !== undefined ? undefined : DEFAULT_FAILURE_THRESHOLD)
  const monitorWindowMs = violations.duration(at("monitorWindow"), policy.monitorWindow)
  if (monitorWindowMs !== undefined && policy.failureThreshold === undefined) {
    violations.add(at("monitorWindow"), "needs failureThreshold (the failures that must happen within it)")
  }
  const failureRateThreshold = violations.ratio(at("failureRateThreshold"), policy.failureRateThreshold, 0, 1)
  const slowCallRateThreshold = violations.ratio(at("slowCallRateThreshold"), policy.slowCallRateThreshold, 0, 1)
  const slowCallDurationMs = violations.duration(at("slowCallDuration"), policy.slowCallDuration)
  if ((slowCallRateThreshold === undefined) !== (slowCallDurationMs === undefined) && violations.list.length === before) {
    violations.add(
      slowCallDurationMs === undefined ? at("slowCallDuration") : at("slowCallRateThreshold"),
      "slowCallDuration and slowCallRateThreshold go together"
    )
  }
  const minimumCalls = violations.integer(at("minimumCalls"), policy.minimumCalls, 1) ?? DEFAULT_MINIMUM_CALLS
  const slidingWindowSize = violations.integer(at("slidingWindowSize"), policy.slidingWindowSize, 1) ??
    Math.max(DEFAULT_SLIDING_WINDOW_SIZE, minimumCalls)
  if (slidingWindowSize < minimumCalls) {
    violations.add(at("slidingWindowSize"), `must be >= minimumCalls (${minimumCalls}), got ${slidingWindowSize}`)
  }
  const resetTimeoutMs = violations.duration(at("resetTimeout"), policy.resetTimeout) ?? DEFAULT_RESET_TIMEOUT_MS
  let backoffFactor = 1
  let backoffMaxMs = resetTimeoutMs
  if (policy.backoff !== undefined) {
    if (typeof policy.backoff !== "object" || policy.backoff === null) {
      violations.add(at("backoff"), "must be { factor, max }")
    } else {
      backoffFactor = violations.number(at("backoff.factor"), policy.backoff.factor, 1) ?? 1
      if (policy.backoff.factor === undefined) violations.add(at("backoff.factor"), "is required")
      backoffMaxMs = violations.duration(at("backoff.max"), policy.backoff.max) ?? resetTimeoutMs
      if (policy.backoff.max === undefined) violations.add(at("backoff.max"), "is required")
      else if (backoffMaxMs < resetTimeoutMs) {
        violations.add(at("backoff.max"), `must be >= resetTimeout (${resetTimeoutMs}ms), got ${backoffMaxMs}ms`)
      }
    }
  }
  const halfOpenMaxCalls = violations.integer(at("halfOpenMaxCalls"), policy.halfOpenMaxCalls, 1) ??
    DEFAULT_HALF_OPEN_MAX_CALLS
  // both arm a timer or bound a wait; resetTimeout, backoff.max, monitorWindow and
  // slowCallDuration are only compared with the clock, so they need no timer bound
  const callTimeoutMs = violations.timerDuration(at("callTimeout"), policy.callTimeout)
  const maxWaitInHalfOpenMs = violations.timerDuration(at("maxWaitInHalfOpen"), policy.maxWaitInHalfOpen) ??
    Math.max(DEFAULT_MAX_WAIT_IN_HALF_OPEN_MS, callTimeoutMs ?? 0)
  if (callTimeoutMs !== undefined && maxWaitInHalfOpenMs < callTimeoutMs) {
    violations.add(
      at("maxWaitInHalfOpen"),
      `must be >= callTimeout (${callTimeoutMs}ms), got ${maxWaitInHalfOpenMs}ms: a probe would be given up before its own timeout`
    )
  }
  if (policy.isFailure !== undefined && typeof policy.isFailure !== "function") {
    violations.add(at("isFailure"), "must be a function (cause) => boolean")
  }
  if (policy.critical !== undefined && typeof policy.critical !== "boolean") {
    violations.add(at("critical"), "must be a boolean")
  }
  if (violations.list.length !== before) return undefined
  return {
    core: {
      failureThreshold,
      monitorWindowMs,
      failureRateThreshold,
      slowCallRateThreshold,
      slowCallDurationMs,
      minimumCalls,
      slidingWindowSize,
      resetTimeoutMs,
      backoffFactor,
      backoffMaxMs,
      halfOpenMaxCalls,
      maxWaitInHalfOpenMs
    },
    callTimeoutMs,
    isFailure: policy.isFailure,
    critical: policy.critical ?? false
  }
}
