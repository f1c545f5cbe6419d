/**
 * The MemoryManager's options, stated once as a Schema (constraints and defaults next to each
 * field), and the resolved configuration the manager runs on. `MemoryManager.layer`, the
 * configuration file and `Foundation` all decode through `MemoryOptions`.
 */
import { Schema } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { decodeSync } from "../runtime/options.js"
import { between, DurationInput, millis, Ratio, TimerDuration, withDefault } from "../runtime/schemas.js"
import type { Level, Thresholds } from "./pressure.js"
import { defaultThresholds, levelIndex } from "./pressure.js"

const increasing = Schema.makeFilter<Thresholds>(({ critical, high, medium }) =>
  medium < high && high < critical ? undefined : `must increase: medium < high < critical, got ${medium}, ${high}, ${critical}`
)

/** The MemoryManager's options (`MemoryManager.OptionsSchema`). */
export const MemoryOptions = Schema.Struct({
  /** how often the heap (and cgroup, and event loop) is read */
  checkInterval: withDefault(TimerDuration, "1 second"),
  /** heap-used ratios at which each level starts */
  thresholds: withDefault(
    Schema.Struct({
      medium: withDefault(Ratio, defaultThresholds.medium),
      high: withDefault(Ratio, defaultThresholds.high),
      critical: withDefault(Ratio, defaultThresholds.critical)
    }).pipe(Schema.check(increasing)),
    {}
  ),
  /** how far below a threshold the ratio must fall before the level drops */
  hysteresis: withDefault(between(0, 0.5), 0.05),
  /** the level from which `guard` sheds calls ("low" would shed every call) */
  rejectAt: withDefault(Schema.Literals(["medium", "high", "critical"]), "critical"),
  /** how long one cleanup strategy may run */
  cleanupTimeout: withDefault(TimerDuration, "5 seconds"),
  /** the least time between two automatic cleanup runs */
  cleanupCooldown: withDefault(DurationInput, "10 seconds"),
  /** the event-loop stage: sheds while the event loop's delay is over `maxDelay` */
  eventLoop: Schema.optional(
    Schema.Struct({
      maxDelay: Schema.optional(DurationInput),
      /** how far below maxDelay the delay must fall before shedding stops */
      hysteresis: withDefault(between(0, 1), 0.2)
    })
  )
})

/** The options as a user writes them. */
export type MemoryOptions = typeof MemoryOptions.Encoded

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

export const parseMemoryOptions = (options: unknown): MemoryConfig | InvalidConfig => {
  const decoded = decodeSync(MemoryOptions, options ?? {}, "memory")
  if (decoded instanceof InvalidConfig) return decoded
  return {
    checkIntervalMillis: millis(decoded.checkInterval),
    thresholds: decoded.thresholds,
    hysteresis: decoded.hysteresis,
    rejectAt: decoded.rejectAt,
    rejectAtIndex: levelIndex(decoded.rejectAt),
    cleanupTimeoutMillis: millis(decoded.cleanupTimeout),
    cleanupCooldownMillis: millis(decoded.cleanupCooldown),
    maxEventLoopDelay: decoded.eventLoop?.maxDelay === undefined ? undefined : millis(decoded.eventLoop.maxDelay),
    eventLoopHysteresis: decoded.eventLoop?.hysteresis ?? 0.2
  }
}
