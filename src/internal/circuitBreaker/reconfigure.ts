/**
 * A new policy for a live circuit (`CircuitBreaker.configure`): what of the state is kept.
 *
 * - The state, mode, isolations, backoff exponent, totals and probes are kept. An Open circuit
 *   keeps its reopening time (the new reset timeout and backoff apply from the next opening);
 *   a HalfOpen one keeps its probes and their deadline, and is decided by the new
 *   `halfOpenMaxCalls` and thresholds (at once, if its results already decide).
 * - The trip rules' statistics are kept where the new policy has the same kind of window:
 *   consecutive failures always; the failure times of `monitorWindow` and the count-based
 *   window's outcomes up to the new size (the most recent ones); a time-based window when its
 *   duration and buckets are the same. A window of another kind (count <-> time), or a time
 *   window of another duration or bucket count, starts empty.
 * - The new rules apply from the next recorded call: configuring never trips by itself.
 */
import * as Circuit from "./circuit.js"
import * as TimeWindow from "./timeWindow.js"

/** Moves `circuit` from `before` to `after`; returns whether its state changed (HalfOpen decided). */
export const reconfigure = (circuit: Circuit.Circuit, before: Circuit.Policy, after: Circuit.Policy, now: number): boolean => {
  const fresh = Circuit.make(after)
  // monitorWindow's failure times: the most recent ones that fit
  if (fresh.failureTimes !== undefined && circuit.failureTimes !== undefined) {
    const kept = Math.min(circuit.failureTimesCount, fresh.failureTimes.length)
    for (let i = 0; i < kept; i++) {
      const from = (circuit.failureTimesNext - kept + i + circuit.failureTimes.length) % circuit.failureTimes.length
      fresh.failureTimes[i] = circuit.failureTimes[from]!
    }
    circuit.failureTimesCount = kept
    circuit.failureTimesNext = kept % fresh.failureTimes.length
  } else {
    circuit.failureTimesCount = 0
    circuit.failureTimesNext = 0
  }
  circuit.failureTimes = fresh.failureTimes
  // the count-based window: the most recent outcomes that fit
  if (fresh.outcomes !== undefined && circuit.outcomes !== undefined) {
    const kept = Math.min(circuit.outcomesCount, fresh.outcomes.length)
    let failures = 0
    let slow = 0
    for (let i = 0; i < kept; i++) {
      const outcome = circuit.outcomes[(circuit.outcomesNext - kept + i + circuit.outcomes.length) % circuit.outcomes.length]!
      fresh.outcomes[i] = outcome
      if (outcome & 1) failures++
      if (outcome & 2) slow++
    }
    circuit.outcomesCount = kept
    circuit.outcomesNext = kept % fresh.outcomes.length
    circuit.windowFailures = failures
    circuit.windowSlow = slow
  } else {
    circuit.outcomesCount = 0
    circuit.outcomesNext = 0
    circuit.windowFailures = 0
    circuit.windowSlow = 0
  }
  circuit.outcomes = fresh.outcomes
  // the time-based window: kept only when it is the same window
  const sameTimeWindow =
    circuit.timeWindow !== undefined &&
    fresh.timeWindow !== undefined &&
    before.slidingWindowMs === after.slidingWindowMs &&
    before.slidingWindowBuckets === after.slidingWindowBuckets
  if (!sameTimeWindow) circuit.timeWindow = fresh.timeWindow
  else TimeWindow.advance(circuit.timeWindow!, now)
  // HalfOpen: decided by the new policy, at once if its results already decide
  if (circuit.state !== Circuit.HALF_OPEN) return false
  const verdict = Circuit.probeVerdict(circuit.probeResults, circuit.probeFailures, circuit.probeSlow, after)
  if (verdict === Circuit.REOPEN) Circuit.toOpen(circuit, now, after, circuit.attempt + 1)
  else if (verdict === Circuit.CLOSE && circuit.probesInFlight === 0) Circuit.toClosed(circuit)
  return verdict !== Circuit.PENDING && circuit.state !== Circuit.HALF_OPEN
}
