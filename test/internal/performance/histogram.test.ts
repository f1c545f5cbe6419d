import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Histogram from "../../../src/internal/performance/histogram.js"
import * as Window from "../../../src/internal/performance/window.js"

/** the "nearest rank" quantile of a sorted array: the value of rank ceil(q * n), at least 1 */
const reference = (sorted: ReadonlyArray<number>, q: number): number => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!

/** the stated error: 1/64 relative, plus half a microsecond of rounding */
const within = (actual: number, expected: number): boolean =>
  Math.abs(actual - expected) <= expected * Histogram.RELATIVE_ERROR + 0.0005 + 1e-9

// latencies spread over nine orders of magnitude (1 µs .. 20 minutes), as real traffic is
const latency = fc.double({ min: -3, max: 6.08, noNaN: true }).map((exponent) => 10 ** exponent)

describe("histogram", () => {
  it("bucket indexes are monotonic and contiguous, and every value lands in its own bucket", () => {
    let previous = -1
    for (let micros = 0; micros < 1 << 16; micros++) {
      const index = Histogram.indexOf(micros)
      expect(index === previous || index === previous + 1).toBe(true)
      previous = index
    }
    expect(Histogram.indexOf(2 ** 31 - 1)).toBe(Histogram.BUCKETS - 1)
  })

  it("quantiles match a sorted-array reference within the stated relative error", () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 400 }), fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const counts = Histogram.make()
        for (const value of values) Histogram.record(counts, value)
        const sorted = [...values].sort((a, b) => a - b)
        const [p50, p99, pq] = Histogram.quantiles(
          [counts],
          values.length,
          [0.5, 0.99, q].sort((a, b) => a - b)
        )
        const sortedQs = [0.5, 0.99, q].sort((a, b) => a - b)
        const results = [p50!, p99!, pq!]
        return sortedQs.every((quantile, i) => within(results[i]!, reference(sorted, quantile)))
      }),
      { numRuns: 300 }
    )
  })

  it("the window's p50/p95/p99/max/mean match the reference, max and mean to the microsecond", () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 300 }), (values) => {
        const config = { slotMillis: 1_000, slots: 4 }
        const window = Window.makeWindow(config, 0)
        values.forEach((value, i) => {
          Window.record(window, config, Window.epochOf(config, i % 3_000), Histogram.toMicros(value), false)
        })
        const summary = Window.summarize([window], config, 2_999)
        const sorted = [...values].sort((a, b) => a - b)
        const mean = values.reduce((a, b) => a + b, 0) / values.length
        return (
          summary.count === values.length &&
          within(summary.latency.p50, reference(sorted, 0.5)) &&
          within(summary.latency.p95, reference(sorted, 0.95)) &&
          within(summary.latency.p99, reference(sorted, 0.99)) &&
          Math.abs(summary.latency.max - sorted[sorted.length - 1]!) <= 0.0005 &&
          Math.abs(summary.latency.mean - mean) <= 0.0005 + 1e-9 * mean
        )
      }),
      { numRuns: 200 }
    )
  })

  it("negative and NaN durations count as zero; huge ones land in the last bucket", () => {
    const counts = Histogram.make()
    Histogram.record(counts, -5)
    Histogram.record(counts, Number.NaN)
    Histogram.record(counts, 1e12)
    expect(counts[0]).toBe(2)
    expect(counts[Histogram.BUCKETS - 1]).toBe(1)
    expect(Histogram.quantiles([counts], 0, [0.5])).toEqual([Number.NaN])
  })

  it("memory is fixed: 864 four-byte buckets whatever the traffic", () => {
    const counts = Histogram.make()
    for (let i = 0; i < 100_000; i++) Histogram.record(counts, i / 10)
    expect(counts.byteLength).toBe(Histogram.BUCKETS * 4)
    expect(Histogram.BUCKETS).toBe(864)
  })
})
