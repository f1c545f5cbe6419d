/** A breaker's `BreakerStatus`: its state and counts, as `CircuitBreaker.status` reports them. */
import { Duration } from "effect"
import type { BreakerStatus } from "../../CircuitBreaker.js"
import * as Circuit from "./circuit.js"
import type { Breaker, Registry } from "./registry.js"

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
