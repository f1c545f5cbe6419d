import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration } from "effect"
import * as fc from "fast-check"
import { aggregate, causeMessage, fromOutcome, isFresh, statusValue } from "../src/internal/health/result.js"
import type { Report } from "../src/internal/health/json.js"
import { httpStatusOf, render, toHealthJsonStatus } from "../src/internal/health/json.js"

/** fast-check's runner: a throwing assertion falsifies the property and is shrunk. */
const property = <A>(arbitrary: fc.Arbitrary<A>, predicate: (value: A) => void) =>
  fc.assert(fc.property(arbitrary, predicate), { numRuns: 200 })

const status = fc.constantFrom("healthy" as const, "degraded" as const, "unhealthy" as const)
const component = fc.record({ status, critical: fc.boolean() })

describe("health core: aggregate", () => {
  it("the score is in 0..1 and is 1 exactly when everything is healthy", () =>
    property(fc.array(component), (components) => {
      const { score } = aggregate(components)
      expect(score).toBeGreaterThanOrEqual(0)
      expect(score).toBeLessThanOrEqual(1)
      expect(score === 1).toBe(components.every((c) => c.status === "healthy"))
    }))

  it("the status follows the rules: critical unhealthy fails, anything else not healthy degrades", () =>
    property(fc.array(component), (components) => {
      const expected = components.some((c) => c.critical && c.status === "unhealthy")
        ? "unhealthy"
        : components.some((c) => c.status !== "healthy")
          ? "degraded"
          : "healthy"
      expect(aggregate(components).status).toBe(expected)
    }))

  it("the score is the weighted mean, critical components weighing 2", () =>
    property(fc.array(component, { minLength: 1 }), (components) => {
      const weight = (c: { critical: boolean }) => (c.critical ? 2 : 1)
      const expected =
        components.reduce((sum, c) => sum + weight(c) * statusValue(c.status), 0) / components.reduce((sum, c) => sum + weight(c), 0)
      expect(aggregate(components).score).toBeCloseTo(expected, 12)
    }))

  it("an improving component never lowers the score", () => {
    const before = aggregate([
      { status: "unhealthy", critical: true },
      { status: "degraded", critical: false }
    ])
    const after = aggregate([
      { status: "degraded", critical: true },
      { status: "degraded", critical: false }
    ])
    expect(after.score).toBeGreaterThan(before.score)
    expect(after.status).toBe("degraded")
  })
})

describe("health core: outcomes", () => {
  it("accepts bare statuses and objects, and anything else is unhealthy", () => {
    expect(fromOutcome("degraded", 5, 1)).toEqual({ status: "degraded", details: undefined, output: undefined, at: 5, durationMs: 1 })
    expect(fromOutcome({ status: "healthy", details: { n: 1 } }, 5, 1).details).toEqual({ n: 1 })
    for (const bad of [undefined, null, 42, "ok", { status: "up" }, [], { healthy: true }]) {
      expect(fromOutcome(bad, 5, 1).status).toBe("unhealthy")
    }
    const circular: Record<string, unknown> = {}
    circular["self"] = circular
    expect(fromOutcome(circular, 0, 0).output).toContain("[object Object]")
  })

  it("names the reason of a failure", () => {
    expect(causeMessage(Cause.fail(new Error("refused")))).toBe("refused")
    expect(causeMessage(Cause.fail({ _tag: "DbError", message: "pool closed" }))).toBe("pool closed")
    expect(causeMessage(Cause.fail("plain"))).toBe('"plain"')
    expect(causeMessage(Cause.die(new RangeError("")))).toBe("RangeError")
    expect(causeMessage(Cause.interrupt())).toBe("check was interrupted")
  })

  it("a background result is always fresh; an on-demand one until the cache time has passed", () => {
    const result = fromOutcome("healthy", 1_000, 0)
    expect(isFresh(undefined, 1_000, true, 500)).toBe(false)
    expect(isFresh(result, 999_999, true, 500)).toBe(true)
    expect(isFresh(result, 1_499, false, 500)).toBe(true)
    expect(isFresh(result, 1_500, false, 500)).toBe(false)
    expect(isFresh(result, 1_000, false, 0)).toBe(false)
    expect(isFresh(result, 999, false, 500)).toBe(false) // from the future: the clock was set back
  })
})

describe("health+json rendering", () => {
  it("maps statuses to pass / warn / fail and HTTP 200 / 200 / 503", () => {
    expect(["healthy", "degraded", "unhealthy"].map((s) => toHealthJsonStatus(s as never))).toEqual(["pass", "warn", "fail"])
    expect(["healthy", "degraded", "unhealthy"].map((s) => httpStatusOf(s as never))).toEqual([200, 200, 503])
  })

  const reportOf = (
    entries: ReadonlyArray<{ name: string; status: "healthy" | "degraded" | "unhealthy"; at: number; kind: string }>
  ): Report => {
    const components: Record<string, Report["components"][string]> = {}
    for (const e of entries) {
      components[e.name] = {
        status: e.status,
        kind: e.kind,
        critical: false,
        details: { secret: "x" },
        output: "secret output",
        checkedAt: e.at,
        age: Duration.zero,
        duration: Duration.millis(1)
      }
    }
    const { score, status } = aggregate(Object.values(components))
    return { status, score, checkedAt: 0, duration: Duration.zero, components }
  }
  const entry = fc.record({
    name: fc.constantFrom("db", "cache", "pool:db", 'circuit_breaker:"quoted"', "memory"),
    status,
    at: fc.integer({ min: 0, max: 3 }),
    kind: fc.constantFrom("check", "pool", "memory")
  })

  it("without details the body is the status alone; with details it names every component", () =>
    property(fc.uniqueArray(entry, { selector: (e) => e.name, minLength: 1, maxLength: 20 }), (entries) => {
      const report = reportOf(entries)
      const text = render(report, false)
      expect(JSON.parse(text)).toEqual({ status: toHealthJsonStatus(report.status) })
      const detailed = JSON.parse(render(report, true))
      expect(Object.keys(detailed.checks).sort()).toEqual(entries.map((e) => e.name).sort())
      expect(detailed.status).toBe(toHealthJsonStatus(report.status))
    }))
})
