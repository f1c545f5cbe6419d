import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as TimeWindow from "../../../src/internal/circuitBreaker/timeWindow.js"

const int = (minimum: number, maximum: number) => Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum, maximum })))

const Event = Schema.Struct({ advance: int(0, 40), failed: Schema.Boolean, slow: Schema.Boolean, read: Schema.Boolean })

describe("time-based sliding window", () => {
  it.prop(
    "its totals are the events of the buckets still in the window, recomputed from scratch",
    {
      buckets: int(1, 8),
      bucketMs: int(1, 10),
      events: Schema.Array(Event).pipe(Schema.check(Schema.isMaxLength(60)))
    },
    ({ bucketMs, buckets, events }) => {
      const window = TimeWindow.make(bucketMs * buckets, buckets)
      const log: Array<{ readonly at: number; readonly failed: boolean; readonly slow: boolean }> = []
      let now = 0
      for (const event of events) {
        now += event.advance
        if (event.read) TimeWindow.advance(window, now)
        else {
          TimeWindow.add(window, now, event.failed, event.slow)
          log.push({ at: now, failed: event.failed, slow: event.slow })
        }
        // the window at `now`: the bucket now falls in and the buckets - 1 before it
        const oldest = (Math.floor(now / bucketMs) - buckets + 1) * bucketMs
        const inWindow = log.filter((e) => e.at >= oldest)
        expect(window.totalCalls).toBe(inWindow.length)
        expect(window.totalFailures).toBe(inWindow.filter((e) => e.failed).length)
        expect(window.totalSlow).toBe(inWindow.filter((e) => e.slow).length)
      }
    }
  )

  it("forgets everything once a whole window passed without calls, and clear empties it", () => {
    const window = TimeWindow.make(1_000, 10)
    TimeWindow.add(window, 50, true, false)
    TimeWindow.add(window, 950, true, true)
    expect([window.totalCalls, window.totalFailures, window.totalSlow]).toEqual([2, 2, 1])
    TimeWindow.advance(window, 1_099) // the bucket of 50 fell out
    expect(window.totalCalls).toBe(1)
    TimeWindow.advance(window, 5_000)
    expect(window.totalCalls).toBe(0)
    TimeWindow.add(window, 5_001, false, false)
    TimeWindow.clear(window)
    expect([window.totalCalls, window.totalFailures, window.totalSlow]).toEqual([0, 0, 0])
  })
})
