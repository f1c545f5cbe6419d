import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { InvalidConfig } from "../../../src/Errors.js"
import { parseAlertThreshold, parseMonitorOptions } from "../../../src/internal/performance/config.js"

describe("performance options", () => {
  it("the defaults: a 60-second window in 6 slots of 10 seconds", () => {
    expect(parseMonitorOptions(undefined)).toEqual({
      window: { slotMillis: 10_000, slots: 6 },
      windowMillis: 60_000,
      maxOperations: 1_000,
      minSamples: 20,
      baseline: { alpha: 0.1, sensitivity: 3, warmup: 10, latencyFloor: 0.1, errorRateFloor: 0.01 }
    })
  })

  it("a window of exactly 1 ms per slot is accepted; shorter slots are not", () => {
    expect(parseMonitorOptions({ window: 100, slots: 100 })).toMatchObject({ window: { slotMillis: 1, slots: 100 } })
    expect(parseMonitorOptions({ window: 99, slots: 100 })).toMatchObject({ _tag: "InvalidConfig", path: "performance.slots" })
  })

  it("a latency threshold is a Duration.Input in milliseconds, 0 included; NaN and negatives are not", () => {
    expect(parseAlertThreshold("s", "o", "latency_p99", Duration.seconds(1))).toBe(1_000)
    expect(parseAlertThreshold("s", "o", "latency_p99", "250 millis")).toBe(250)
    expect(parseAlertThreshold("s", "o", "latency_p99", 0)).toBe(0)
    // the rest of Duration.Input, as record takes it
    expect(parseAlertThreshold("s", "o", "latency_p99", 5_000_000n)).toBe(5)
    expect(parseAlertThreshold("s", "o", "latency_p99", [1, 500_000_000])).toBe(1_500)
    expect(parseAlertThreshold("s", "o", "latency_p99", { seconds: 1, milliseconds: 5 })).toBe(1_005)
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY, "soon", "Infinity", [Number.NaN, 0], { seconds: Number.NaN }]) {
      const error = parseAlertThreshold("s", "o", "latency_p99", bad)
      expect(error).toBeInstanceOf(InvalidConfig)
      expect((error as InvalidConfig).path).toBe("performance.alerts.s.o.latency_p99")
    }
  })

  it("an error-rate threshold is a rate in [0, 1]", () => {
    expect(parseAlertThreshold("s", "o", "error_rate", 0)).toBe(0)
    expect(parseAlertThreshold("s", "o", "error_rate", 1)).toBe(1)
    expect(parseAlertThreshold("s", "o", "error_rate", 1.01)).toMatchObject({ path: "performance.alerts.s.o.error_rate" })
  })
})
