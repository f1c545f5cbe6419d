/**
 * Option checks of the MemoryManager: every violation is reported at once, the first one's
 * path as the `InvalidConfig` path.
 */
import type { Duration } from "effect"
import type { InvalidConfig } from "../../Errors.js"
import type { Level, Thresholds } from "./pressure.js"
import { defaultThresholds, levelIndex, levels } from "./pressure.js"
import { Checks } from "../runtime/checks.js"

export interface MemoryOptions {
  readonly checkInterval?: Duration.Input | undefined
  readonly thresholds?: Partial<Thresholds> | undefined
  readonly hysteresis?: number | undefined
  readonly rejectAt?: Level | undefined
  readonly cleanupTimeout?: Duration.Input | undefined
  readonly cleanupCooldown?: Duration.Input | undefined
  readonly eventLoop?: {
    readonly maxDelay?: Duration.Input | undefined
    readonly hysteresis?: number | undefined
  } | undefined
}

export interface MemoryConfig {
  readonly checkIntervalMillis: number
  readonly thresholds: Thresholds
  readonly hysteresis: number
  readonly rejectAt: Level
  readonly rejectAtIndex: number
  readonly cleanupTimeoutMillis: number
  readonly cleanupCooldownMillis: number
  readonly maxEventLoopDelay: number | undefined
  readonly eventLoopHysteresis: number
}

export const parseMemoryOptions = (options: MemoryOptions): MemoryConfig | InvalidConfig => {
  const checks = new Checks()
  const checkIntervalMillis = checks.timerDuration("memory.checkInterval", options.checkInterval, 1_000)
  const t = options.thresholds ?? {}
  const medium = checks.number("memory.thresholds.medium", t.medium, defaultThresholds.medium, 0, 1, true)
  const high = checks.number("memory.thresholds.high", t.high, defaultThresholds.high, 0, 1, true)
  const critical = checks.number("memory.thresholds.critical", t.critical, defaultThresholds.critical, 0, 1, true)
  if (!(medium < high && high < critical)) {
    checks.add("memory.thresholds", `must increase: medium < high < critical, got ${medium}, ${high}, ${critical}`)
  }
  const hysteresis = checks.number("memory.hysteresis", options.hysteresis, 0.05, 0, 0.5)
  let rejectAt: Level = "critical"
  if (options.rejectAt !== undefined) {
    if (!levels.includes(options.rejectAt) || options.rejectAt === "low") {
      checks.add("memory.rejectAt", `must be "medium", "high" or "critical" ("low" would shed every call), got ${String(options.rejectAt)}`)
    } else {
      rejectAt = options.rejectAt
    }
  }
  const cleanupTimeoutMillis = checks.timerDuration("memory.cleanupTimeout", options.cleanupTimeout, 5_000)
  const cleanupCooldownMillis = checks.duration("memory.cleanupCooldown", options.cleanupCooldown, 10_000)
  const eventLoop = options.eventLoop ?? {}
  const maxEventLoopDelay = eventLoop.maxDelay === undefined
    ? undefined
    : checks.duration("memory.eventLoop.maxDelay", eventLoop.maxDelay, 1)
  const eventLoopHysteresis = checks.number("memory.eventLoop.hysteresis", eventLoop.hysteresis, 0.2, 0, 1)
  return checks.error() ?? {
    checkIntervalMillis,
    thresholds: { medium, high, critical },
    hysteresis,
    rejectAt,
    rejectAtIndex: levelIndex(rejectAt),
    cleanupTimeoutMillis,
    cleanupCooldownMillis,
    maxEventLoopDelay,
    eventLoopHysteresis
  }
}
