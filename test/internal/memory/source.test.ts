/**
 * The Node source's event-loop delay meter, driven with scripted timer firings: a stall is in
 * exactly one reading, whichever runs first after it (the meter's timer or the reading).
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { makeDelayMeter } from "../../../src/internal/memory/source.js"

describe("event-loop delay meter", () => {
  /** drives a meter with a 10 ms timer from t = 0: `ticks` are the times the timer fired */
  const meterWith = (ticks: ReadonlyArray<number>) => {
    const meter = makeDelayMeter(10, 0)
    for (const at of ticks) meter.tick(at)
    return meter
  }
  const onTime = (from: number, to: number) => Array.from({ length: (to - from) / 10 }, (_, i) => from + 10 * (i + 1))

  it("an idle loop is about 0 late; nothing measured reads as no figures", () => {
    const meter = meterWith(onTime(0, 1_000))
    const reading = meter.read(1_000, 0.1)!
    expect(reading.utilization).toBe(0.1)
    expect(Duration.toMillis(reading.delayMax)).toBe(0)
    expect(Duration.toMillis(reading.delayP99)).toBeLessThan(0.001)
    expect(makeDelayMeter(10, 0).read(5, 0)).toBeUndefined()
  })

  it("a stall is one sample: delayMax shows it whatever the interval's count, the p99 only among 50 or fewer", () => {
    // 600 ms stall from 200 ms: the timer due at 210 fires at 800, 590 ms late
    const short = meterWith([...onTime(0, 200), 800, ...onTime(800, 1_000)]).read(1_000, 0.6)!
    expect(Duration.toMillis(short.delayMax)).toBe(590)
    expect(Duration.toMillis(short.delayP99)).toBeGreaterThan(500) // 41 samples: the p99 is the stall
    // the same stall in a 1.5 s interval (a check due during it runs when it ends, at 1_500)
    const straddling = meterWith([...onTime(0, 900), 1_500]).read(1_500, 0.4)!
    expect(Duration.toMillis(straddling.delayMax)).toBe(590)
    expect(Duration.toMillis(straddling.delayP99)).toBeLessThan(1) // 91 samples: the p99 hides it
  })

  it("a stall ending just before a reading is in that reading, and not again in the next", () => {
    // the reading's own timer ran first after the stall: the meter's timer had not fired yet
    const meter = meterWith(onTime(0, 400))
    const first = meter.read(1_000, 0.9)!
    expect(Duration.toMillis(first.delayMax)).toBe(590)
    meter.tick(1_000.5) // the overdue timer fires right after the reading
    for (const at of onTime(1_000.5, 1_990.5)) meter.tick(at)
    expect(Duration.toMillis(meter.read(2_000, 0.1)!.delayMax)).toBeLessThan(1)
  })

  it("a stall right after a reading is measured (Node's reset() forgets the last firing; the meter does not)", () => {
    const meter = meterWith(onTime(0, 1_000))
    expect(Duration.toMillis(meter.read(1_000, 0)!.delayMax)).toBe(0)
    // stall from 1_000 to 1_600: the timer due at 1_010 fires at 1_600
    for (const at of [1_600, ...onTime(1_600, 2_000)]) meter.tick(at)
    expect(Duration.toMillis(meter.read(2_000, 0.6)!.delayMax)).toBe(590)
  })
})
