/** A breaker's `BreakerStatus`: its state and counts, as `CircuitBreaker.state` reports them. */
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
    ...(open ? { openedAt: c.openedAt } : {}),
    ...(c.state === Circuit.OPEN ? { retryAfter: Duration.millis(Math.max(0, c.reopenAt - now)) } : {}),
    // shared breakers only (CircuitBreakerRedis)
    ...(registry.leases !== undefined ? { failedShares: breaker.failedShares } : {})
  }
}
