/** A breaker's `BreakerStatus`: its state and counts, as `CircuitBreaker.status` reports them. */
import { Duration } from "effect"
import type { Mode, State } from "../../CircuitBreaker.js"
import * as Circuit from "./circuit.js"
import type { Breaker, Registry } from "./registry.js"

/** `CircuitBreaker.BreakerStatus` (defined here to keep the public module short). */
export interface BreakerStatus {
  readonly breaker: string
  readonly state: State
  readonly failures: number
  readonly successes: number
  readonly rejected: number
  readonly consecutiveFailures: number
  /** the operator mode (`setMode`), or `"forcedOpen"` while isolated (`isolate`) */
  readonly mode: Mode | "forcedOpen"
  /** state changes since the breaker was created (the events `transitions` published) */
  readonly transitions: number
  /** epoch milliseconds of the last call that counted as a failure (absent: none yet) */
  readonly lastFailureAt?: number
  /**
   * the rate rules' window now (with a rate rule; emptied on every state change): its `calls`,
   * `failureRate` and, with a slow-call rule, `slowCallRate` (in [0, 1], 0 while empty)
   */
  readonly window?: {
    readonly calls: number
    readonly failureRate: number
    readonly slowCallRate?: number
  }
  /** epoch milliseconds when it last opened (Open and HalfOpen only) */
  readonly openedAt?: number
  /** time until the next probe may run (Open only; zero once due: the next call probes) */
  readonly retryAfter?: Duration.Duration
  /**
   * shared breakers (`CircuitBreakerRedis`) only: local transitions that could not be shared
   * with the other processes (Redis failed or was too slow); each is also logged
   */
  readonly failedShares?: number
}

export const statusOf = (registry: Registry, breaker: Breaker, now: number): BreakerStatus => {
  const c = breaker.circuit
  const open = c.state !== Circuit.CLOSED
  return {
    breaker: breaker.name,
    state: Circuit.stateNames[c.state]!,
    failures: c.failures,
    successes: c.successes,
    rejected: c.rejected,
    consecutiveFailures: c.consecutiveFailures,
    mode: c.isolations > 0 ? "forcedOpen" : Circuit.modeNames[c.mode]!,
    transitions: breaker.transitions,
    ...(c.lastFailureAt >= 0 ? { lastFailureAt: c.lastFailureAt } : {}),
    ...(open ? { openedAt: c.openedAt } : {}),
    ...(c.state === Circuit.OPEN ? { retryAfter: Duration.millis(Math.max(0, c.reopenAt - now)) } : {}),
    ...windowOf(c, breaker.policy.core, now),
    // shared breakers only (CircuitBreakerRedis)
    ...(registry.leases !== undefined ? { failedShares: breaker.failedShares } : {})
  }
}

const windowOf = (c: Circuit.Circuit, policy: Circuit.Policy, now: number): Pick<BreakerStatus, "window"> => {
  const window = Circuit.windowAt(c, now)
  if (window === undefined) return {}
  const { calls, failures, slow } = window
  return {
    window: {
      calls,
      failureRate: calls === 0 ? 0 : failures / calls,
      ...(policy.slowCallRateThreshold !== undefined ? { slowCallRate: calls === 0 ? 0 : slow / calls } : {})
    }
  }
}
