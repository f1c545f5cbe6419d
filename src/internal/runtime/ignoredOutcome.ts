/**
 * An outcome one stage passes through another without it counting there: the facade wraps a
 * pool checkout timeout in it on its way through the circuit breaker, which then records
 * neither a success nor a failure (a probe gives its slot back), and unwraps it outside.
 * Shared here because the breaker (which recognises it) and the facade (which makes it) are
 * different concepts.
 */
import type { Cause } from "effect"

/**
 * Marks an outcome that says nothing about the dependency (a pool checkout timeout, say): a
 * call that fails with it is neither a success nor a failure of the breaker. The caller that
 * wrapped the error unwraps it outside the breaker.
 */
export class IgnoredOutcome<E = unknown> {
  constructor(readonly error: E) {}
}

/** Whether a cause holds an ignored outcome and nothing but interruptions besides. */
export const isIgnored = (cause: Cause.Cause<unknown>): boolean => {
  let ignored = false
  for (const reason of cause.reasons) {
    if (reason._tag === "Fail" && reason.error instanceof IgnoredOutcome) ignored = true
    else if (reason._tag !== "Interrupt") return false
  }
  return ignored
}
