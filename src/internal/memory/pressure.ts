/**
 * Pressure levels from readings, as pure functions.
 *
 * The pressure ratio is the worse of heap used / heap limit and, in a cgroup with a memory
 * limit, resident memory / that limit. Levels rise as soon as the ratio reaches a threshold
 * and fall only once it is `hysteresis` below it, so a reading hovering around a threshold
 * does not flap the level (and with it the guard and the cleanups).
 */

export type Level = "low" | "medium" | "high" | "critical"

export const levels: ReadonlyArray<Level> = ["low", "medium", "high", "critical"]

export const levelIndex = (level: Level): number => levels.indexOf(level)

export interface Thresholds {
  readonly medium: number
  readonly high: number
  readonly critical: number
}

export const defaultThresholds: Thresholds = { medium: 0.7, high: 0.85, critical: 0.95 }

import { Duration } from "effect"

/** What a `MemorySource` returns. Bytes, except the event-loop figures. */
export interface MemoryReading {
  readonly heapUsed: number
  readonly heapTotal: number
  /** V8's `heap_size_limit`: the heap cannot grow past it */
  readonly heapLimit: number
  readonly rss: number
  readonly external: number
  /** the cgroup's memory limit, when the process runs under one */
  readonly cgroupLimit: number | undefined
  readonly eventLoop: EventLoopReading | undefined
}

/**
 * Event-loop figures over the interval since the previous reading. A delay is how late the
 * source's sampling timer fired: about 0 on an idle loop, the length of a stall for the
 * timer that was due during it.
 */
export interface EventLoopReading {
  /** p99 of the event-loop delay */
  readonly delayP99: Duration.Duration
  /** mean delay */
  readonly delayMean: Duration.Duration
  /** the longest delay: what the event-loop stage judges (one stall shows here) */
  readonly delayMax: Duration.Duration
  /** fraction of the time the loop was busy, in [0, 1] */
  readonly utilization: number
}

export interface Ratios {
  readonly heapUsedRatio: number
  readonly rssRatio: number | undefined
  /** the worse of the two: what the level is computed from */
  readonly ratio: number
}

const safeRatio = (used: number, limit: number): number =>
  limit > 0 && Number.isFinite(used) && Number.isFinite(limit) ? Math.max(0, used / limit) : 0

export const ratiosOf = (reading: MemoryReading): Ratios => {
  const heapUsedRatio = safeRatio(reading.heapUsed, reading.heapLimit)
  const rssRatio = reading.cgroupLimit === undefined ? undefined : safeRatio(reading.rss, reading.cgroupLimit)
  return { heapUsedRatio, rssRatio, ratio: Math.max(heapUsedRatio, rssRatio ?? 0) }
}

const thresholdOf = (thresholds: Thresholds, index: number): number =>
  index === 1 ? thresholds.medium : index === 2 ? thresholds.high : index === 3 ? thresholds.critical : -Infinity

/**
 * The next level given the current one. Up: the highest level whose threshold the ratio
 * reaches. Down: only to the highest level whose threshold minus `hysteresis` the ratio still
 * reaches (never above the current level).
 */
export const nextLevel = (current: Level, ratio: number, thresholds: Thresholds, hysteresis: number): Level => {
  let raw = 0
  for (let index = 3; index > 0; index--) {
    if (ratio >= thresholdOf(thresholds, index)) {
      raw = index
      break
    }
  }
  const currentIndex = levelIndex(current)
  if (raw >= currentIndex) return levels[raw]!
  let down = 0
  for (let index = currentIndex; index > 0; index--) {
    if (ratio >= thresholdOf(thresholds, index) - hysteresis) {
      down = index
      break
    }
  }
  return levels[down]!
}

/**
 * The event-loop stage with hysteresis, over the longest delay since the previous check
 * (`EventLoopReading.delayMax`, here in milliseconds): it starts when that delay exceeds `maxDelay`,
 * and stops when it is back under `maxDelay x (1 - hysteresisFraction)`. No figures (no
 * reading, or a source without an event-loop histogram) is no delay.
 *
 * The longest delay, not the p99: a stall is one late timer, one sample among the interval's
 * hundreds. The p99 shows it only while the interval holds fewer than 100 samples (about one
 * second at a 10 ms resolution, less the stall), so it would hide the same stall under a
 * longer `checkInterval`, or when the interval happened to hold a few more samples.
 */
export const nextEventLoopShedding = (
  shedding: boolean,
  delay: number | undefined,
  maxDelay: number | undefined,
  hysteresisFraction: number
): boolean => {
  if (maxDelay === undefined || delay === undefined) return false
  return shedding ? delay >= maxDelay * (1 - hysteresisFraction) : delay > maxDelay
}

/** The longest delay of a reading's event-loop figures, in milliseconds (`undefined` without figures). */
export const longestDelayMillis = (reading: MemoryReading): number | undefined =>
  reading.eventLoop === undefined ? undefined : Duration.toMillis(reading.eventLoop.delayMax)

/** The longer of two delays, either of which may be missing. */
export const longerDelay = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b)
