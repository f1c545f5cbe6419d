/**
 * Metric and span names of effect-foundation, in one place.
 *
 * Every service reports through effect's `Metric` and `Tracer`, so `@effect/opentelemetry`
 * (or any other exporter reading effect's metric registry) sees them unchanged. Counters and
 * gauges that change on every call are *observable*: the service keeps a plain number and the
 * registry reads it when metrics are exported, so the hot path pays an increment, not a
 * registry lookup.
 *
 * **Example** (Reading a breaker's call counter)
 *
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { Telemetry } from "effect-foundation"
 *
 * const program = Effect.gen(function*() {
 *   const snapshots = yield* Metric.snapshot
 *   return snapshots.filter((s) => s.id === Telemetry.metrics.circuitBreakerCalls)
 * })
 * ```
 *
 * @since 0.1.0
 */

/**
 * Metric names (attributes in the comments).
 *
 * @since 0.1.0
 * @category names
 */
export const metrics = {
  /** counter {breaker, outcome: success | failure | rejected} */
  circuitBreakerCalls: "foundation.circuit_breaker.calls",
  /** gauge {breaker}: 0 closed, 1 half-open, 2 open */
  circuitBreakerState: "foundation.circuit_breaker.state",
  /** counter {breaker, from, to} */
  circuitBreakerTransitions: "foundation.circuit_breaker.transitions",
  /** counter {rule, decision: allowed | denied} */
  rateLimiterRequests: "foundation.rate_limiter.requests",
  /** counter {rule, policy}: decisions taken without Redis (failOpen, failClosed, insurance) */
  rateLimiterStoreFallbacks: "foundation.rate_limiter.store_fallbacks",
  /** gauge {prefix}: Redis commands sent by the limiter and not yet answered (at most maxPending) */
  rateLimiterStorePending: "foundation.rate_limiter.store_pending",
  /** histogram {pool}, milliseconds */
  poolCheckoutDuration: "foundation.pool.checkout.duration",
  /** gauge {pool} */
  poolInUse: "foundation.pool.in_use",
  /** gauge {pool} */
  poolWaiting: "foundation.pool.waiting",
  /** counter {pool} */
  poolTimeouts: "foundation.pool.timeouts",
  /** counter {pool, reason: failure | timeout}: creations that failed, died or exceeded acquireTimeout */
  poolAcquireFailures: "foundation.pool.acquire_failures",
  /** counter {pool}: checkouts refused at once because `maxWaiting` callers were waiting */
  poolExhausted: "foundation.pool.exhausted",
  /** gauge {bulkhead}: calls holding a slot */
  bulkheadRunning: "foundation.bulkhead.running",
  /** gauge {bulkhead}: calls waiting for a slot */
  bulkheadWaiting: "foundation.bulkhead.waiting",
  /** counter {bulkhead, outcome: admitted | queue_full | timeout} */
  bulkheadCalls: "foundation.bulkhead.calls",
  /** gauge: 0 low, 1 medium, 2 high, 3 critical */
  memoryPressure: "foundation.memory.pressure",
  /** gauge, bytes */
  memoryHeapUsed: "foundation.memory.heap_used",
  /** gauge {component}: 1 healthy, 0.5 degraded, 0 unhealthy */
  healthStatus: "foundation.health.status",
  /** histogram {profile, outcome}, milliseconds */
  protectionDuration: "foundation.protection.duration"
} as const

/**
 * Span names.
 *
 * @since 0.1.0
 * @category names
 */
export const spans = {
  /** one span per protected call (not per stage), with `error.type` = the error's `code` on rejection */
  protect: "foundation.protect"
} as const
