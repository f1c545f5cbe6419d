/**
 * A fixed-size log-linear latency histogram (the HDR histogram layout), written for the
 * PerformanceMonitor's hot path.
 *
 * Values are milliseconds, stored as whole microseconds. Below 2^SUB_BITS microseconds every
 * microsecond has its own bucket; above, each power of two is split into 2^(SUB_BITS - 1)
 * linear sub-buckets. A quantile is reported as the middle of its bucket, so:
 *
 * - relative error <= 2^-SUB_BITS = 1/64 (1.6 %) for values >= 64 µs,
 * - absolute error <= 0.5 µs below that (the rounding to whole microseconds),
 * - values above ~35.8 minutes (2^31 µs) fall into the last bucket (`max` stays exact).
 *
 * 864 buckets of `Uint32Array` = 3.4 KB per histogram, whatever the traffic. `record` is
 * allocation-free: a multiply, a round, a `clz32`, two shifts and an increment.
 *
 * Why not a library: `@datadog/sketches-js` (DDSketch) and `hdr-histogram-js` were measured in
 * bench/suites/performance-monitor.ts ("histogram record"); both cost more per record than this
 * layout (DDSketch takes a `Math.log` and may grow its store; hdr-histogram-js goes through
 * its generic bucket arithmetic) and neither gives a cheap "clear and reuse" for the ring of
 * window slots.
 */

/** sub-bucket bits: 2^SUB_BITS exact microsecond buckets, then 2^(SUB_BITS-1) per octave */
const SUB_BITS = 6
const SUB_COUNT = 1 << SUB_BITS // 64
const HALF = SUB_COUNT >> 1 // 32
/** the largest exponent kept: values up to 2^31 - 1 microseconds */
const MAX_EXPONENT = 30

/** number of buckets: 64 exact, then 32 per octave from 2^6 to 2^30 */
export const BUCKETS = SUB_COUNT + (MAX_EXPONENT - SUB_BITS + 1) * HALF // 864

/** the guaranteed relative error of a reported quantile (for values >= 64 µs) */
export const RELATIVE_ERROR = 1 / SUB_COUNT

const MAX_MICROS = 2 ** 31 - 1

/** bucket index of a value in microseconds (a non-negative integer) */
export const indexOf = (micros: number): number => {
  if (micros < SUB_COUNT) return micros
  const exponent = 31 - Math.clz32(micros) // >= SUB_BITS
  const shift = exponent - SUB_BITS + 1 // >= 1
  // micros >>> shift is in [HALF, SUB_COUNT): the linear position inside the octave
  return SUB_COUNT + (exponent - SUB_BITS) * HALF + ((micros >>> shift) - HALF)
}

/** the lowest value (microseconds) of a bucket, and its width */
const lowerOf = (index: number): number => {
  if (index < SUB_COUNT) return index
  const octave = ((index - SUB_COUNT) / HALF) | 0
  const position = (index - SUB_COUNT) % HALF
  const shift = octave + 1
  return (HALF + position) * 2 ** shift
}
const widthOf = (index: number): number => (index < SUB_COUNT ? 1 : 2 ** ((((index - SUB_COUNT) / HALF) | 0) + 1))

/** the value (milliseconds) reported for a bucket: its middle (exact below 64 µs) */
export const bucketValue = (index: number): number => (index < SUB_COUNT ? index / 1000 : (lowerOf(index) + widthOf(index) / 2) / 1000)

/** A histogram's counts. Plain typed array so slots can be cleared and reused. */
export type Counts = Uint32Array

export const make = (): Counts => new Uint32Array(BUCKETS)

/**
 * A duration in milliseconds as whole microseconds, clamped to [0, 2^31 - 1] (NaN and
 * negative durations count as 0). The result is a small integer: V8 passes it between
 * functions without allocating a number box, which a fractional millisecond value would need.
 */
export const toMicros = (millis: number): number => {
  const micros = Math.round(millis * 1000)
  return micros > 0 ? (micros > MAX_MICROS ? MAX_MICROS : micros) : 0
}

/** Records a duration already in whole microseconds (see `toMicros`). */
export const recordMicros = (counts: Counts, micros: number): void => {
  counts[indexOf(micros)]++
}

/** Records a duration in milliseconds. Negative and NaN durations count as 0. */
export const record = (counts: Counts, millis: number): void => {
  counts[indexOf(toMicros(millis))]++
}

/**
 * The values at the given quantiles (ascending, in [0, 1]) over the sum of several
 * histograms, in milliseconds. `total` is the sum of all their counts. Returns `NaN` for each
 * quantile when `total` is 0. The quantile q is the value of rank ceil(q * total) (1-based),
 * the usual "nearest rank" definition, clamped to rank 1.
 */
export const quantiles = (histograms: ReadonlyArray<Counts>, total: number, qs: ReadonlyArray<number>): Array<number> => {
  const out = new Array<number>(qs.length).fill(Number.NaN)
  if (total <= 0) return out
  let next = 0
  let rank = Math.max(1, Math.ceil(qs[0]! * total))
  let seen = 0
  for (let index = 0; index < BUCKETS && next < qs.length; index++) {
    for (let h = 0; h < histograms.length; h++) seen += histograms[h]![index]!
    while (next < qs.length && seen >= rank) {
      out[next] = bucketValue(index)
      next++
      if (next < qs.length) rank = Math.max(1, Math.ceil(qs[next]! * total))
    }
  }
  return out
}
