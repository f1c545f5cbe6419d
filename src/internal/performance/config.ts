/**
 * The PerformanceMonitor's layer options and their checks.
 */
import type { Duration } from "effect"
import type { InvalidConfig } from "../../Errors.js"
import { Checks } from "../runtime/checks.js"
import type { BaselineConfig } from "./baseline.js"
import type { WindowConfig } from "./window.js"

/** Layer options of the PerformanceMonitor (public shape re-exported from PerformanceMonitor.ts). */
export interface MonitorOptions {
  readonly window?: Duration.Input | undefined
  readonly slots?: number | undefined
  readonly maxOperations?: number | undefined
  readonly minSamples?: number | undefined
  readonly baseline?: {
    readonly alpha?: number | undefined
    readonly sensitivity?: number | undefined
    readonly warmup?: number | undefined
    readonly latencyFloor?: number | undefined
    readonly errorRateFloor?: number | undefined
  } | undefined
}

export interface MonitorConfig {
  readonly window: WindowConfig
  readonly windowMillis: number
  readonly maxOperations: number
  readonly minSamples: number
  readonly baseline: BaselineConfig
}

export const parseMonitorOptions = (options: MonitorOptions): MonitorConfig | InvalidConfig => {
  const checks = new Checks()
  const windowMillis = checks.duration("performance.window", options.window, 60_000)
  const slots = checks.integer("performance.slots", options.slots, 6, 1)
  const maxOperations = checks.integer("performance.maxOperations", options.maxOperations, 1_000, 1)
  const minSamples = checks.integer("performance.minSamples", options.minSamples, 20, 1)
  const b = options.baseline ?? {}
  const baseline: BaselineConfig = {
    alpha: checks.number("performance.baseline.alpha", b.alpha, 0.1, 0, 1, true),
    sensitivity: checks.number("performance.baseline.sensitivity", b.sensitivity, 3, 0, 1_000, true),
    warmup: checks.integer("performance.baseline.warmup", b.warmup, 10, 1),
    latencyFloor: checks.number("performance.baseline.latencyFloor", b.latencyFloor, 0.1, 0, 100),
    errorRateFloor: checks.number("performance.baseline.errorRateFloor", b.errorRateFloor, 0.01, 0, 1)
  }
  const slotMillis = windowMillis / slots
  if (checks.violations.length === 0 && !(slotMillis >= 1)) {
    checks.add("performance.slots", `leaves slots shorter than 1 ms (window ${windowMillis} ms / ${slots} slots)`)
  }
  return checks.error() ?? {
    window: { slotMillis, slots },
    windowMillis,
    maxOperations,
    minSamples,
    baseline
  }
}
