import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { Level } from "../../../src/internal/memory/pressure.js"
import {
  defaultThresholds,
  levelIndex,
  levels,
  longerDelay,
  nextEventLoopShedding,
  nextLevel,
  ratiosOf
} from "../../../src/internal/memory/pressure.js"
import { parseCgroupLimit, readCgroupLimit } from "../../../src/internal/memory/source.js"

const rawLevel = (ratio: number): Level =>
  ratio >= defaultThresholds.critical
    ? "critical"
    : ratio >= defaultThresholds.high
      ? "high"
      : ratio >= defaultThresholds.medium
        ? "medium"
        : "low"

describe("memory pressure levels", () => {
  it("rises straight to the level a ratio reaches, from any level below", () => {
    expect(nextLevel("low", 0.99, defaultThresholds, 0.05)).toBe("critical")
    expect(nextLevel("medium", 0.86, defaultThresholds, 0.05)).toBe("high")
    expect(nextLevel("low", 0.2, defaultThresholds, 0.05)).toBe("low")
  })

  it("hysteresis: never below the raw level, never more than one band of hysteresis above it (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1.2, noNaN: true }), { minLength: 1, maxLength: 100 }), (ratios) => {
        let level: Level = "low"
        for (const ratio of ratios) {
          level = nextLevel(level, ratio, defaultThresholds, 0.05)
          // at or above what the ratio alone says ...
          if (levelIndex(level) < levelIndex(rawLevel(ratio))) return false
          // ... and only above it while within 0.05 of the next threshold up
          if (levelIndex(level) > levelIndex(rawLevel(ratio + 0.05))) return false
        }
        return true
      })
    )
  })

  it("a ratio oscillating within the hysteresis band never changes the level (no flapping)", () => {
    let level: Level = nextLevel("low", 0.86, defaultThresholds, 0.05)
    const seen = new Set<Level>()
    for (let i = 0; i < 100; i++) {
      level = nextLevel(level, i % 2 === 0 ? 0.84 : 0.851, defaultThresholds, 0.05)
      seen.add(level)
    }
    expect([...seen]).toEqual(["high"])
    expect(levels).toHaveLength(4)
  })

  it("the worse of heap and cgroup ratios wins; a zero or missing limit reads as no pressure", () => {
    const base = { heapUsed: 50, heapTotal: 100, heapLimit: 100, rss: 90, external: 0, eventLoop: undefined }
    expect(ratiosOf({ ...base, cgroupLimit: 100 })).toEqual({ heapUsedRatio: 0.5, rssRatio: 0.9, ratio: 0.9 })
    expect(ratiosOf({ ...base, cgroupLimit: undefined })).toEqual({ heapUsedRatio: 0.5, rssRatio: undefined, ratio: 0.5 })
    expect(ratiosOf({ ...base, heapLimit: 0, cgroupLimit: 0 }).ratio).toBe(0)
    expect(ratiosOf({ ...base, heapUsed: Number.NaN, cgroupLimit: undefined }).ratio).toBe(0)
  })

  it("event-loop shedding starts above maxDelay and stops under maxDelay x (1 - hysteresis)", () => {
    expect(nextEventLoopShedding(false, 100, 100, 0.2)).toBe(false)
    expect(nextEventLoopShedding(false, 101, 100, 0.2)).toBe(true)
    expect(nextEventLoopShedding(true, 81, 100, 0.2)).toBe(true)
    expect(nextEventLoopShedding(true, 80, 100, 0.2)).toBe(true)
    expect(nextEventLoopShedding(true, 79, 100, 0.2)).toBe(false)
    expect(nextEventLoopShedding(true, 500, undefined, 0.2)).toBe(false)
    expect(nextEventLoopShedding(true, undefined, 100, 0.2)).toBe(false)
    expect(longerDelay(undefined, undefined)).toBeUndefined()
    expect(longerDelay(3, undefined)).toBe(3)
    expect(longerDelay(undefined, 4)).toBe(4)
    expect(longerDelay(3, 4)).toBe(4)
  })

  it("parses cgroup limits: v2 'max' and v1's near-2^63 mean no limit", () => {
    expect(parseCgroupLimit("max\n")).toBeUndefined()
    expect(parseCgroupLimit("9223372036854771712\n")).toBeUndefined()
    expect(parseCgroupLimit("536870912\n")).toBe(536870912)
    expect(parseCgroupLimit("")).toBeUndefined()
    expect(parseCgroupLimit("garbage")).toBeUndefined()
    expect(readCgroupLimit(["/nonexistent/memory.max"])).toBeUndefined()
  })
})
