/**
 * The `application/health+json` rendering of a system health report: the IETF draft "Health
 * Check Response Format for HTTP APIs" (draft-inadarei-api-health-check). Pure functions.
 *
 * - without details: `status` (`pass` | `warn` | `fail`) alone
 * - with details: `status`, `output`, `score`, `time`, `durationMillis` and `checks`: one key
 *   per component (its name), each an array with one object: `componentType`, `status`, `time`
 *   (ISO 8601), `observedValue` (the check's duration) / `observedUnit` `"ms"`, `critical`,
 *   `ageMillis`, and `output`, `details` when present
 *
 * The draft's own fields are as it specifies them (`time` an ISO 8601 instant, a duration as
 * `observedValue` with its `observedUnit`); the fields it leaves to the producer carry spans as
 * numbers of milliseconds named `…Millis`, as the library's other JSON bodies do.
 */
import { Duration } from "effect"
import type { ComponentStatus } from "../runtime/healthComponents.js"

/** The draft's status words. */
export type HealthJsonStatus = "pass" | "warn" | "fail"

export const toHealthJsonStatus = (status: ComponentStatus): HealthJsonStatus =>
  status === "healthy" ? "pass" : status === "degraded" ? "warn" : "fail"

/** 200 for pass and warn (the service still answers), 503 for fail: what probes expect. */
export const httpStatusOf = (status: ComponentStatus): number => (status === "unhealthy" ? 503 : 200)

/** The part of a report the rendering reads (structurally a `HealthAggregator.SystemHealth`). */
export interface Report {
  readonly status: ComponentStatus
  readonly score: number
  readonly checkedAt: number
  readonly duration: Duration.Duration
  readonly components: Record<
    string,
    {
      readonly status: ComponentStatus
      readonly kind: string
      readonly critical: boolean
      readonly details: Record<string, unknown> | undefined
      readonly output: string | undefined
      readonly checkedAt: number
      readonly age: Duration.Duration
      readonly duration: Duration.Duration
    }
  >
}

/**
 * Renders a report. Without `details` the body is the status alone (`{"status":"warn"}`):
 * component names say what the system is made of (`postgres-primary`, `payments-api`), and
 * error messages and check details can name hosts, users or internal paths, none of which a
 * probe reachable by the public may leak. With `details`, every component with its status,
 * time, output and details, and the report's score and timings.
 */
export const render = (report: Report, details: boolean): string => {
  if (!details) return statusBody[toHealthJsonStatus(report.status)]
  const checks: Record<string, Array<Record<string, unknown>>> = {}
  for (const name in report.components) checks[name] = [checkEntry(report.components[name]!)]
  const body: Record<string, unknown> = { status: toHealthJsonStatus(report.status) }
  const output = summary(report)
  if (output !== undefined) body["output"] = output
  body["score"] = report.score
  body["time"] = new Date(report.checkedAt).toISOString()
  body["durationMillis"] = Duration.toMillis(report.duration)
  body["checks"] = checks
  return JSON.stringify(body)
}

// the three bodies without details, built once: probes mostly read these
const statusBody: Record<HealthJsonStatus, string> = {
  pass: JSON.stringify({ status: "pass" }),
  warn: JSON.stringify({ status: "warn" }),
  fail: JSON.stringify({ status: "fail" })
}

const checkEntry = (component: Report["components"][string]): Record<string, unknown> => {
  const entry: Record<string, unknown> = {
    componentType: component.kind === "check" ? "component" : component.kind,
    status: toHealthJsonStatus(component.status),
    time: new Date(component.checkedAt).toISOString(),
    observedValue: Duration.toMillis(component.duration),
    observedUnit: "ms",
    critical: component.critical,
    ageMillis: Duration.toMillis(component.age)
  }
  if (component.output !== undefined) entry["output"] = component.output
  if (component.details !== undefined) entry["details"] = component.details
  return entry
}

const summary = (report: Report): string | undefined => {
  const notPassing: Array<string> = []
  for (const name in report.components) {
    const status = report.components[name]!.status
    if (status !== "healthy") notPassing.push(`${name} ${status}`)
  }
  return notPassing.length === 0 ? undefined : notPassing.join(", ")
}

/** The liveness answer: the process is up and its event loop turns; nothing else is asked. */
export const liveBody = JSON.stringify({ status: "pass" })
