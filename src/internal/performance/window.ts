/**
 * Sliding-window statistics of one (service, operation) pair: a ring of per-interval slots,
 * each with a count, an error count, a latency sum and max, and a fixed-size histogram.
 *
 * Rotation is lazy: `record` finds the slot of the current interval by arithmetic on the time
 * it is given and clears it if it still holds an older interval, so no timer is needed and the
 * hot path allocates nothing once every slot exists. Memory per pair is bounded by
 * `slots x (3.4 KB + a few numbers)`, whatever the traffic.
 */
import * as Histogram from "./histogram.js"

export interface Slot {
  /** the interval this slot holds: floor(time / slotMillis) */
  epoch: number
  count: number
  errors: number
  /** [sum, max] of the latencies in microseconds: a typed array, so updates allocate nothing */
  readonly totals: Float64Array
  readonly counts: Histogram.Counts
}

export interface WindowConfig {
  readonly slotMillis: number
  readonly slots: number
}

export interface Window {
  readonly slots: Array<Slot | undefined>
  /** when the pair was first seen (the window does not reach before it) */
  readonly createdAt: number
  /** the latest interval recorded into (an integer, cheap to store) */
  lastEpoch: number
}

export const makeWindow = (config: WindowConfig, now: number): Window => ({
  slots: new Array<Slot | undefined>(config.slots).fill(undefined),
  createdAt: now,
  lastEpoch: epochOf(config, now)
})

/** The interval a time falls in: a small integer, cheap to pass around (no number box). */
export const epochOf = (config: WindowConfig, now: number): number => Math.floor(now / config.slotMillis)

/**
 * Records one call of `micros` microseconds (see `Histogram.toMicros`) in interval `epoch`.
 * Allocation-free once the slot exists: every argument is a small integer or a reference.
 */
export const record = (window: Window, config: WindowConfig, epoch: number, micros: number, failed: boolean): void => {
  const index = epoch % config.slots
  let slot = window.slots[index]
  if (slot === undefined) {
    slot = { epoch, count: 0, errors: 0, totals: new Float64Array(2), counts: Histogram.make() }
    window.slots[index] = slot
  } else if (slot.epoch !== epoch) {
    // an older interval: it has slid out of the window
    slot.epoch = epoch
    slot.count = 0
    slot.errors = 0
    slot.totals[0] = 0
    slot.totals[1] = 0
    slot.counts.fill(0)
  }
  slot.count++
  if (failed) slot.errors++
  const totals = slot.totals
  totals[0] += micros
  if (micros > totals[1]!) totals[1] = micros
  Histogram.recordMicros(slot.counts, micros)
  if (epoch > window.lastEpoch) window.lastEpoch = epoch
}

export interface Latency {
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

export interface Summary {
  readonly count: number
  readonly errors: number
  readonly errorRate: number
  /** calls per second over the part of the window the pair has existed (at least 1 s) */
  readonly throughput: number
  /** milliseconds; all 0 when count is 0 */
  readonly latency: Latency
}

const percentiles = [0.5, 0.95, 0.99] as const

/** Whether a slot still belongs to the window ending at `now`. */
const live = (slot: Slot | undefined, config: WindowConfig, now: number): slot is Slot => {
  if (slot === undefined) return false
  const current = Math.floor(now / config.slotMillis)
  return slot.epoch <= current && slot.epoch > current - config.slots
}

/** Whether the window holds no call at `now` (the pair can be forgotten). */
export const idle = (window: Window, config: WindowConfig, now: number): boolean =>
  window.slots.every((slot) => !live(slot, config, now) || slot.count === 0)

/** The statistics of one or several windows (merged) at `now`. */
export const summarize = (windows: ReadonlyArray<Window>, config: WindowConfig, now: number): Summary => {
  let count = 0
  let errors = 0
  let sum = 0
  let max = 0
  let createdAt = Infinity
  const histograms: Array<Histogram.Counts> = []
  for (const window of windows) {
    if (window.createdAt < createdAt) createdAt = window.createdAt
    for (const slot of window.slots) {
      if (!live(slot, config, now) || slot.count === 0) continue
      count += slot.count
      errors += slot.errors
      sum += slot.totals[0]! / 1000
      if (slot.totals[1]! / 1000 > max) max = slot.totals[1]! / 1000
      histograms.push(slot.counts)
    }
  }
  const windowStart = (Math.floor(now / config.slotMillis) - config.slots + 1) * config.slotMillis
  const coveredMillis = now - Math.max(windowStart, createdAt)
  const throughput = count / Math.max(1, coveredMillis / 1000)
  if (count === 0) {
    return { count, errors, errorRate: 0, throughput: 0, latency: { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 } }
  }
  const [p50, p95, p99] = Histogram.quantiles(histograms, count, percentiles)
  // a bucket's middle can exceed the exact max: never report a quantile above it
  return {
    count,
    errors,
    errorRate: errors / count,
    throughput,
    latency: { p50: Math.min(p50!, max), p95: Math.min(p95!, max), p99: Math.min(p99!, max), max, mean: sum / count }
  }
}
