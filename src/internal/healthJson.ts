/**
 * The `application/health+json` rendering of a system health report: the IETF draft "Health
 * Check Response Format for HTTP APIs" (draft-inadarei-api-health-check). Pure functions.
 *
 * - top level: `status` (`pass` | `warn` | `fail`), `checks`, and with details `output`,
 *   `score`, `durationMs`, `time`
 * - `checks`: one key per component (its name), each an array with one object:
 *   `componentType`, `status`, `time` (ISO 8601), and with details `output`, `observedValue`
 *   (the check's duration) / `observedUnit` `"ms"`, `critical`, `ageMs`, `details`
 */
import type { ComponentStatus } from "./healthComponents.js"

/** The draft's status words. */
export type HealthJsonStatus = "pass" | "warn" | "fail"

export const toHealthJsonStatus = (status: ComponentStatus): HealthJsonStatus =>
  status === "healthy" ? "pass" : status === "degraded" ? "warn" : "fail"

/** 200 for pass and warn (the service still answers), 503 for fail: what probes expect. */
export const httpStatusOf = (status: ComponentStatus): number => status === "unhealthy" ? 503 : 200

/** The part of a report the rendering reads (structurally a `HealthAggregator.SystemHealth`). */
export interface Report {
  readonly status: ComponentStatus
  readonly score: number
  readonly timestamp: number
  readonly durationMs: number
  readonly components: Record<string, {
    readonly status: ComponentStatus
    readonly kind: string
    readonly critical: boolean
    readonly details: Record<string, unknown> | undefined
    readonly output: string | undefined
    readonly checkedAt: number
    readonly ageMs: number
    readonly durationMs: number
  }>
}

/**
 * Renders a report. Without `details`, only statuses and times leave the process: error
 * messages and check details can name hosts, users or internal paths, which a public probe
 * must not leak.
 */
export const render = (report: Report, details: boolean): string => {
  const checks: Record<string, Array<Record<string, unknown>>> = {}
  const notPassing: Array<string> = []
  for (const name in report.components) {
    const component = report.components[name]!
    const entry: Record<string, unknown> = {
      componentType: component.kind === "check" ? "component" : component.kind,
      status: toHealthJsonStatus(component.status),
      time: new Date(component.checkedAt).toISOString()
    }
    if (details) {
      entry["observedValue"] = component.durationMs
      entry["observedUnit"] = "ms"
      entry["critical"] = component.critical
      entry["ageMs"] = component.ageMs
      if (component.output !== undefined) entry["output"] = component.output
      if (component.details !== undefined) entry["details"] = component.details
    }
    checks[name] = [entry]
    if (component.status !== "healthy") notPassing.push(`${name} ${component.status}`)
  }
  const body: Record<string, unknown> = { status: toHealthJsonStatus(report.status) }
  if (details) {
    if (notPassing.length > 0) body["output"] = notPassing.join(", ")
    body["score"] = report.score
    body["time"] = new Date(report.timestamp).toISOString()
    body["durationMs"] = report.durationMs
  }
  body["checks"] = checks
  return JSON.stringify(body)
}

/** The liveness answer: the process is up and its event loop turns; nothing else is asked. */
export const liveBody = JSON.stringify({ status: "pass" })
