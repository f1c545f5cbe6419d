import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Baselines from "../../../src/internal/performance/baseline.js"

const config: Baselines.BaselineConfig = { alpha: 0.1, sensitivity: 3, warmup: 5, latencyFloor: 0.1, errorRateFloor: 0.01 }

const learned = (values: ReadonlyArray<number>) => {
  const baseline = Baselines.emptyBaseline()
  for (const value of values) Baselines.learn(baseline, value, config.alpha, false)
  return baseline
}

describe("performance baselines", () => {
  it("converges to the mean of a steady series, with the deviation of its noise", () => {
    const baseline = learned(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 9 : 11)))
    expect(baseline.mean).toBeCloseTo(10, 0)
    expect(Math.sqrt(baseline.variance)).toBeGreaterThan(0.5)
    expect(Math.sqrt(baseline.variance)).toBeLessThan(1.5)
  })

  it("never alerts during warm-up", () => {
    expect(Baselines.upperBound(learned([1, 1, 1, 1]), "latency_p99", config)).toBe(Infinity)
    expect(Baselines.upperBound(learned([1, 1, 1, 1, 1]), "latency_p99", config)).toBeCloseTo(1.3)
  })

  it("a constant or steady-noise series never departs from its own baseline (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 10_000, noNaN: true }),
        fc.array(fc.double({ min: -0.05, max: 0.05, noNaN: true }), { minLength: 10, maxLength: 200 }),
        (level, noise) => {
          const baseline = Baselines.emptyBaseline()
          for (const n of noise) {
            const value = level * (1 + n)
            // within 5 % of a steady level: under the 10 % latency floor x 3, never an alert
            if (value > Baselines.upperBound(baseline, "latency_p99", config)) return false
            Baselines.learn(baseline, value, config.alpha, false)
          }
          return true
        }
      )
    )
  })

  it("the error-rate floor includes binomial noise: 5 % over 30 calls may read 10 % by chance", () => {
    const baseline = learned(Array.from({ length: 20 }, () => 0.05))
    expect(Baselines.upperBound(baseline, "error_rate", config, 30)).toBeGreaterThan(0.15)
    expect(Baselines.upperBound(baseline, "error_rate", config, 100_000)).toBeCloseTo(0.08, 2)
  })

  it("while alerting the deviation is frozen and the mean moves ten times slower", () => {
    const baseline = learned(Array.from({ length: 20 }, () => 10))
    const before = { ...baseline }
    Baselines.learn(baseline, 110, config.alpha, true)
    expect(baseline.variance).toBe(before.variance)
    expect(baseline.mean).toBeCloseTo(before.mean + 0.01 * (110 - before.mean))
  })

  it("decide: fire once, clear once, and clear on no data", () => {
    expect(Baselines.decide(undefined, 5, 4)).toBe("fire")
    expect(Baselines.decide({ since: 0 }, 5, 4)).toBe("none")
    expect(Baselines.decide({ since: 0 }, 4, 4)).toBe("clear")
    expect(Baselines.decide({ since: 0 }, undefined, 4)).toBe("clear")
    expect(Baselines.decide(undefined, undefined, 4)).toBe("none")
  })
})
