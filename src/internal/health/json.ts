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
import type { ComponentStatus } from "../runtime/healthComponents.js"

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
  for (const name in report.components) checks[name] = [checkEntry(report.components[name]!, details)]
  const body: Record<string, unknown> = { status: toHealthJsonStatus(report.status) }
  if (details) {
    const output = summary(report)
    if (output !== undefined) body["output"] = output
    body["score"] = report.score
    body["time"] = new Date(report.timestamp).toISOString()
    body["durationMs"] = report.durationMs
  }
  body["checks"] = checks
  return JSON.stringify(body)
}

/**
 * A renderer for the body without details that reuses each component's JSON while its
 * status and time are unchanged. Why: probes mostly read cached results, and serialising 20
 * entries (dates included) cost more than everything else the endpoint does per request.
 * The output is exactly `render(report, false)`.
 */
export const makeCachedRenderer = (): (report: Report) => string => {
  const fragments = new Map<string, { status: ComponentStatus; at: number; kind: string; json: string }>()
  return (report) => {
    let json = `{"status":"${toHealthJsonStatus(report.status)}","checks":{`
    let first = true
    for (const name in report.components) {
      const component = report.components[name]!
      let fragment = fragments.get(name)
      if (
        fragment === undefined || fragment.status !== component.status || fragment.at !== component.checkedAt ||
        fragment.kind !== component.kind
      ) {
        fragment = {
          status: component.status,
          at: component.checkedAt,
          kind: component.kind,
          json: `${JSON.stringify(name)}:[${JSON.stringify(checkEntry(component, false))}]`
        }
        fragments.set(name, fragment)
      }
      json += first ? fragment.json : "," + fragment.json
      first = false
    }
    // forget components that went away, so the cache stays as small as the registry
    if (fragments.size > 2 * Object.keys(report.components).length + 16) fragments.clear()
    return json + "}}"
  }
}

const checkEntry = (component: Report["components"][string], details: boolean): Record<string, unknown> => {
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
