import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import type { Policy } from "../../../src/internal/circuitBreaker/circuit.js"
import * as Circuit from "../../../src/internal/circuitBreaker/circuit.js"
import { reconfigure } from "../../../src/internal/circuitBreaker/reconfigure.js"

const int = (minimum: number, maximum: number) => Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum, maximum })))

const policyWith = (slidingWindowSize: number, failureThreshold: number): Policy => ({
  failureThreshold,
  // failures 1 ms apart never fall within it (a threshold of 2 or more never trips): the rings fill up
  monitorWindowMs: 1,
  failureRateThreshold: 1,
  slowCallRateThreshold: 1,
  slowCallDurationMs: 10,
  minimumCalls: 1_000,
  slidingWindowSize,
  slidingWindowMs: undefined,
  slidingWindowBuckets: 10,
  resetTimeoutMs: 1_000,
  backoffFactor: 1,
  backoffMaxMs: 1_000,
  halfOpenMaxCalls: 1,
  maxWaitInHalfOpenMs: 1_000,
  callTimeoutMs: undefined
})

describe("reconfigure", () => {
  it.prop(
    "a count window keeps exactly its most recent outcomes that fit the new size, and the failure times likewise",
    {
      before: int(1, 12),
      after: int(1, 12),
      thresholdBefore: int(2, 6),
      thresholdAfter: int(2, 6),
      outcomes: Schema.Array(Schema.Struct({ failed: Schema.Boolean, slow: Schema.Boolean })).pipe(Schema.check(Schema.isMaxLength(30)))
    },
    ({ after, before, outcomes, thresholdAfter, thresholdBefore }) => {
      const old = policyWith(before, thresholdBefore)
      const next = policyWith(after, thresholdAfter)
      const circuit = Circuit.make(old)
      outcomes.forEach((o, i) => {
        Circuit.record(circuit, circuit.generation, o.failed, o.slow, i, old)
      })
      reconfigure(circuit, old, next, outcomes.length)
      const kept = outcomes.slice(-before).slice(-after)
      expect(circuit.outcomesCount).toBe(kept.length)
      expect(circuit.windowFailures).toBe(kept.filter((o) => o.failed).length)
      expect(circuit.windowSlow).toBe(kept.filter((o) => o.slow).length)
      const failureTimes = outcomes.flatMap((o, i) => (o.failed ? [i] : []))
      const keptTimes = failureTimes.slice(-thresholdBefore).slice(-thresholdAfter)
      expect(circuit.failureTimesCount).toBe(keptTimes.length)
      const ring = circuit.failureTimes!
      const inRing = Array.from(
        { length: circuit.failureTimesCount },
        (_, i) => ring[(circuit.failureTimesNext - circuit.failureTimesCount + i + ring.length) % ring.length]
      )
      expect(inRing).toEqual(keptTimes)
      // recording more keeps the ring consistent: the same as a circuit that only ever had the new policy
      const fresh = Circuit.make(next)
      kept.forEach((o, i) => {
        Circuit.record(fresh, fresh.generation, o.failed, o.slow, i, next)
      })
      Circuit.record(circuit, circuit.generation, false, false, 99, next)
      Circuit.record(fresh, fresh.generation, false, false, 99, next)
      expect([circuit.outcomesCount, circuit.windowFailures, circuit.windowSlow]).toEqual([
        fresh.outcomesCount,
        fresh.windowFailures,
        fresh.windowSlow
      ])
    }
  )
})
