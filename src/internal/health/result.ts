/**
 * The pure core of the HealthAggregator: how a check's outcome becomes a result, how results
 * combine into the system's status and score, and when a cached result may be reused.
 * Plain functions on plain values; the service in `HealthAggregator.ts` owns time and fibers.
 */
import type { Cause } from "effect"
import { Cause as CauseModule } from "effect"
import type { CheckOutcome } from "../../HealthAggregator.js"
import type { ComponentStatus } from "../runtime/healthComponents.js"

/** The last verdict on one check or component. Times are epoch milliseconds. */
export interface CheckResult {
  readonly status: ComponentStatus
  readonly details: Record<string, unknown> | undefined
  /** why the status is not healthy (an error message, "timed out after 50ms", ...) */
  readonly output: string | undefined
  /** when the result was produced */
  readonly at: number
  /** how long the check ran, in milliseconds */
  readonly durationMs: number
}

/** The gauge value of `foundation.health.status` and a component's contribution to the score. */
export const statusValue = (status: ComponentStatus): number => (status === "healthy" ? 1 : status === "degraded" ? 0.5 : 0)

/** Critical components count twice in the score: they are the ones that can fail the system. */
export const criticalWeight = 2

/**
 * The system's status and score from its components' statuses.
 *
 * - status: `unhealthy` if a critical component is unhealthy; `degraded` if any component is
 *   not healthy (a non-critical unhealthy component only degrades the system); else `healthy`.
 * - score: the weighted mean of the components' values (healthy 1, degraded 0.5, unhealthy 0),
 *   critical components weighing 2 and the others 1; 1 when there is no component.
 */
export const aggregate = (
  components: ReadonlyArray<{ readonly status: ComponentStatus; readonly critical: boolean }>
): { readonly status: ComponentStatus; readonly score: number } => {
  let status: ComponentStatus = "healthy"
  let weighted = 0
  let weights = 0
  for (const component of components) {
    const weight = component.critical ? criticalWeight : 1
    weighted += weight * statusValue(component.status)
    weights += weight
    if (component.status === "healthy") continue
    if (component.status === "unhealthy" && component.critical) status = "unhealthy"
    else if (status === "healthy") status = "degraded"
  }
  return { status, score: weights === 0 ? 1 : weighted / weights }
}

const statuses: ReadonlySet<unknown> = new Set(["healthy", "degraded", "unhealthy"])

/**
 * Turns what a check returned into a result. Anything that is not a recognised outcome is
 * unhealthy: a check returning garbage is a broken check, and saying so is safer than trusting it.
 */
export const fromOutcome = (outcome: unknown, at: number, durationMs: number): CheckResult => {
  if (typeof outcome === "string" && statuses.has(outcome)) {
    return { status: outcome as ComponentStatus, details: undefined, output: undefined, at, durationMs }
  }
  if (typeof outcome === "object" && outcome !== null && statuses.has((outcome as { status?: unknown }).status)) {
    const { details, output, status } = outcome as Exclude<CheckOutcome, string>
    return { status, details, output, at, durationMs }
  }
  return {
    status: "unhealthy",
    details: undefined,
    output: `check returned ${describe(outcome)}, expected "healthy", "degraded", "unhealthy" or { status }`,
    at,
    durationMs
  }
}

/** The result of a check that failed, died or was interrupted. */
export const fromCause = (cause: Cause.Cause<unknown>, at: number, durationMs: number): CheckResult => ({
  status: "unhealthy",
  details: undefined,
  output: causeMessage(cause),
  at,
  durationMs
})

/** The result of a check that did not finish within its timeout. */
export const timedOut = (timeoutMs: number, at: number): CheckResult => ({
  status: "unhealthy",
  details: undefined,
  output: `check timed out after ${timeoutMs}ms`,
  at,
  durationMs: timeoutMs
})

/** A readable one-line reason from a check's failure. */
export const causeMessage = (cause: Cause.Cause<unknown>): string => {
  if (CauseModule.hasInterruptsOnly(cause)) return "check was interrupted"
  const error = CauseModule.squash(cause)
  if (error instanceof Error) return error.message === "" ? error.name : error.message
  if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    return (error as { message: string }).message
  }
  return describe(error)
}

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * Whether a stored result answers a read at `now` without running the check again.
 * Background checks (with an interval) always answer with their last result; on-demand checks
 * answer with it while it is younger than the cache time. A result from the future (the clock
 * was set back) is stale: otherwise it would be cached until the clock caught up.
 */
export const isFresh = (result: CheckResult | undefined, now: number, background: boolean, cacheTtlMs: number): result is CheckResult =>
  result !== undefined && (background || (now >= result.at && now - result.at < cacheTtlMs))
