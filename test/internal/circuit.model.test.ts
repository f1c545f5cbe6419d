/**
 * Model-based property test: random sequences of calls (outcome, duration), clock advances,
 * trips and resets, run through the core state machine and through a small immutable
 * reference model written from the spec; they must agree after every step.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import type { Policy } from "../../src/internal/circuit.js"
import * as Circuit from "../../src/internal/circuit.js"

const int = (minimum: number, maximum: number) => Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum, maximum })))

const PolicySchema = Schema.Struct({
  failureThreshold: int(1, 4),
  /** 0: consecutive failures */
  monitorWindow: int(0, 16),
  /** 0: no rate rule */
  failureRatePercent: int(0, 100),
  slowRatePercent: int(0, 100),
  slowCallDuration: int(1, 6),
  minimumCalls: int(1, 5),
  extraWindow: int(0, 4),
  resetTimeout: int(1, 20),
  backoffFactor: int(1, 3),
  backoffMaxExtra: int(0, 60)
})

const Op = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("call"), outcome: Schema.Literals(["success", "failure", "interrupt"]), duration: int(0, 8) }),
  Schema.Struct({ kind: Schema.Literal("advance"), millis: int(0, 50) }),
  Schema.Struct({ kind: Schema.Literal("trip") }),
  Schema.Struct({ kind: Schema.Literal("reset") })
])
type Op = typeof Op.Type

// Times are drawn in steps of STEP ms so that events land exactly on window and timeout
// boundaries often: off-by-one comparisons are caught.
const STEP = 500

const toPolicy = (p: typeof PolicySchema.Type): Policy => {
  const minimumCalls = p.minimumCalls
  return {
    failureThreshold: p.failureThreshold,
    monitorWindowMs: p.monitorWindow === 0 ? undefined : p.monitorWindow * STEP,
    failureRateThreshold: p.failureRatePercent === 0 ? undefined : p.failureRatePercent / 100,
    slowCallRateThreshold: p.slowRatePercent === 0 ? undefined : p.slowRatePercent / 100,
    slowCallDurationMs: p.slowRatePercent === 0 ? undefined : p.slowCallDuration * STEP,
    minimumCalls,
    slidingWindowSize: minimumCalls + p.extraWindow,
    resetTimeoutMs: p.resetTimeout * STEP,
    backoffFactor: p.backoffFactor,
    backoffMaxMs: (p.resetTimeout + p.backoffMaxExtra) * STEP,
    halfOpenMaxCalls: 1
  }
}

// ---- the reference model: plain immutable values, every rule recomputed from scratch ----
interface Model {
  readonly state: Circuit.StateName
  readonly consecutive: number
  readonly failureTimes: ReadonlyArray<number>
  readonly outcomes: ReadonlyArray<{ readonly failed: boolean; readonly slow: boolean }>
  readonly reopenAt: number
  readonly attempt: number
}
const fresh: Model = { state: "Closed", consecutive: 0, failureTimes: [], outcomes: [], reopenAt: 0, attempt: 0 }
const timeoutFor = (policy: Policy, attempt: number) =>
  attempt === 0 ? policy.resetTimeoutMs : Math.min(policy.resetTimeoutMs * policy.backoffFactor ** attempt, policy.backoffMaxMs)
const opened = (policy: Policy, now: number, attempt: number): Model => ({
  ...fresh,
  state: "Open",
  attempt,
  reopenAt: now + timeoutFor(policy, attempt)
})
const trips = (m: Model, policy: Policy, now: number): boolean => {
  if (policy.failureThreshold !== undefined) {
    if (policy.monitorWindowMs === undefined) {
      if (m.consecutive >= policy.failureThreshold) return true
    } else if (m.failureTimes.filter((t) => now - t < policy.monitorWindowMs!).length >= policy.failureThreshold) {
      return true
    }
  }
  const n = m.outcomes.length
  if (n >= policy.minimumCalls) {
    if (policy.failureRateThreshold !== undefined && m.outcomes.filter((o) => o.failed).length / n >= policy.failureRateThreshold) return true
    if (policy.slowCallRateThreshold !== undefined && m.outcomes.filter((o) => o.slow).length / n >= policy.slowCallRateThreshold) return true
  }
  return false
}
const modelRecord = (m: Model, policy: Policy, failed: boolean, slow: boolean, now: number, probe: boolean): Model => {
  if (probe) return failed ? opened(policy, now, m.attempt + 1) : fresh
  const rateRules = policy.failureRateThreshold !== undefined || policy.slowCallRateThreshold !== undefined
  const next: Model = {
    ...m,
    consecutive: failed ? m.consecutive + 1 : 0,
    failureTimes: failed ? [...m.failureTimes, now] : m.failureTimes,
    outcomes: rateRules ? [...m.outcomes, { failed, slow }].slice(-policy.slidingWindowSize) : m.outcomes
  }
  return trips(next, policy, now) ? opened(policy, now, 0) : next
}

describe("circuit core against the reference model", () => {
  it.prop(
    "agrees on every admission, rejection, retryAfter and state",
    { policyInput: PolicySchema, ops: Schema.Array(Op).pipe(Schema.check(Schema.isMaxLength(60))) },
    ({ ops, policyInput }) => {
      const policy = toPolicy(policyInput)
      const circuit = Circuit.make(policy)
      let model = fresh
      let now = 1_000
      for (const op of ops as ReadonlyArray<Op>) {
        switch (op.kind) {
          case "advance":
            now += op.millis * STEP
            break
          case "trip":
            Circuit.trip(circuit, now, policy)
            model = opened(policy, now, model.state === "Open" ? model.attempt : 0)
            break
          case "reset":
            Circuit.reset(circuit)
            model = fresh
            break
          case "call": {
            // model admission
            let probe = false
            let admitted = true
            if (model.state === "Open" && now >= model.reopenAt) model = { ...model, state: "HalfOpen" }
            if (model.state === "Open") admitted = false
            else if (model.state === "HalfOpen") probe = true
            const expectedRetry = model.state === "Open" ? model.reopenAt - now : 0
            const permit = Circuit.admit(circuit, now, policy)
            expect(permit !== Circuit.REJECTED).toBe(admitted)
            if (!admitted) {
              expect(Circuit.retryAfter(circuit, now, policy)).toBe(expectedRetry)
              break
            }
            now += op.duration * STEP
            if (op.outcome === "interrupt") {
              Circuit.release(circuit, permit)
              break
            }
            const failed = op.outcome === "failure"
            const slow = policy.slowCallDurationMs !== undefined && op.duration * STEP >= policy.slowCallDurationMs
            Circuit.record(circuit, permit, failed, slow, now, policy)
            model = modelRecord(model, policy, failed, slow, now, probe)
            break
          }
        }
        expect(Circuit.stateNames[circuit.state]).toBe(model.state)
        if (model.state === "Open") expect(circuit.reopenAt).toBe(model.reopenAt)
        expect(circuit.attempt).toBe(model.attempt)
        if (model.state === "Closed") expect(circuit.consecutiveFailures).toBe(model.consecutive)
      }
    },
    { arbitrary: { runs: 2_000 } }
  )

  it("a result from an older generation is ignored, except for its counts", () => {
    const policy = toPolicy({
      failureThreshold: 1, monitorWindow: 0, failureRatePercent: 0, slowRatePercent: 0, slowCallDuration: 1,
      minimumCalls: 1, extraWindow: 0, resetTimeout: 2, backoffFactor: 1, backoffMaxExtra: 0
    })
    const circuit = Circuit.make(policy)
    const stale = Circuit.admit(circuit, 0, policy)
    const other = Circuit.admit(circuit, 0, policy)
    Circuit.record(circuit, other, true, false, 0, policy) // opens
    Circuit.record(circuit, stale, false, false, 10, policy) // a success admitted while closed
    expect(Circuit.stateNames[circuit.state]).toBe("Open")
    expect(circuit.successes).toBe(1)
  })

  it("half-open admits halfOpenMaxCalls probes and rejects the rest until one returns", () => {
    const policy: Policy = { ...toPolicy({
      failureThreshold: 1, monitorWindow: 0, failureRatePercent: 0, slowRatePercent: 0, slowCallDuration: 1,
      minimumCalls: 1, extraWindow: 0, resetTimeout: 2, backoffFactor: 1, backoffMaxExtra: 0
    }), halfOpenMaxCalls: 2 }
    const circuit = Circuit.make(policy)
    Circuit.trip(circuit, 0, policy)
    const a = Circuit.admit(circuit, 1_000, policy)
    const b = Circuit.admit(circuit, 1_000, policy)
    expect(Circuit.admit(circuit, 1_000, policy)).toBe(Circuit.REJECTED)
    Circuit.release(circuit, a) // interrupted probe gives its slot back
    const c = Circuit.admit(circuit, 1_001, policy)
    expect(c).not.toBe(Circuit.REJECTED)
    Circuit.record(circuit, b, false, false, 1_002, policy)
    expect(Circuit.stateNames[circuit.state]).toBe("Closed")
    Circuit.record(circuit, c, true, false, 1_003, policy) // stale: admitted in HalfOpen, circuit since closed
    expect(Circuit.stateNames[circuit.state]).toBe("Closed")
  })
})
