/**
 * What an operator does to one circuit (`trip`, `reset`, `isolate`, the modes): pure changes of
 * the core's state, beside the call-driven machine of `circuit.ts`.
 */
import * as Circuit from "./circuit.js"

/**
 * An operator's `trip`: Open from `now` for the current reset timeout: the base one from
 * Closed or HalfOpen; from Open the backed-off one of the current opening, restarted. Returns
 * false (and does nothing) when the breaker does not trip: isolated (already forced open), or
 * in a mode that never rejects (disabled, metrics-only).
 */
export const trip = (circuit: Circuit.Circuit, now: number, policy: Circuit.Policy): boolean => {
  if (circuit.isolations > 0 || circuit.mode !== Circuit.NORMAL) return false
  Circuit.toOpen(circuit, now, policy, circuit.state === Circuit.OPEN ? circuit.attempt : 0)
  return true
}

/**
 * An operator's `reset`: Closed with clean statistics and no backoff. Returns false (and does
 * nothing) while isolated: only releasing the isolations ends a forced opening.
 */
export const reset = (circuit: Circuit.Circuit): boolean => {
  if (circuit.isolations > 0) return false
  Circuit.toClosed(circuit)
  return true
}

/** Forces the circuit open until every isolation is released (cockatiel `isolate`). */
export const isolate = (circuit: Circuit.Circuit, now: number): void => {
  circuit.isolations++
  if (circuit.isolations > 1) return
  if (circuit.state !== Circuit.OPEN) {
    circuit.state = Circuit.OPEN
    circuit.generation++
    circuit.openedAt = now
  }
  circuit.reopenAt = Infinity
  circuit.probesInFlight = 0
  Circuit.clearStatistics(circuit)
}

/** Releases one isolation; the last one closes the circuit (clean statistics, no backoff). */
export const releaseIsolation = (circuit: Circuit.Circuit): void => {
  if (circuit.isolations === 0) return
  circuit.isolations--
  if (circuit.isolations === 0) Circuit.toClosed(circuit)
}

/**
 * Sets the operator mode. A change starts the breaker Closed with clean statistics (unless it
 * is isolated: the mode applies once the isolations are released).
 */
export const setMode = (circuit: Circuit.Circuit, mode: Circuit.ModeCode): void => {
  if (circuit.mode === mode) return
  circuit.mode = mode
  if (circuit.isolations === 0) Circuit.toClosed(circuit)
}
