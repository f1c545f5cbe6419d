/**
 * Model-based property test: random sequences of calls (outcome, duration), calls that start
 * and finish later (possibly never: hung probes), clock advances, trips and resets, isolations
 * and their releases, and mode changes, run through the core state machine (with the
 * operator's changes of operator.ts) and through a small immutable reference model written
 * from the spec; they must agree after every step.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import type { Policy } from "../../../src/internal/circuitBreaker/circuit.js"
import * as Circuit from "../../../src/internal/circuitBreaker/circuit.js"
import * as Operator from "../../../src/internal/circuitBreaker/operator.js"

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
  backoffMaxExtra: int(0, 60),
  halfOpenMaxCalls: int(1, 3),
  maxWaitInHalfOpen: int(1, 8),
  /** 0: no call timeout; else at most maxWaitInHalfOpen (as the schema requires) */
  callTimeout: int(0, 8)
})

const CallOp = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("call"), outcome: Schema.Literals(["success", "failure", "interrupt"]), duration: int(0, 8) }),
  Schema.Struct({ kind: Schema.Literal("advance"), millis: int(0, 12) }),
  // admitted now, finished by a later "finish" (or never)
  Schema.Struct({ kind: Schema.Literal("start") }),
  Schema.Struct({
    kind: Schema.Literal("finish"),
    index: int(0, 7),
    outcome: Schema.Literals(["success", "failure", "interrupt", "ignored"])
  }),
  Schema.Struct({ kind: Schema.Literal("trip") }),
  Schema.Struct({ kind: Schema.Literal("reset") })
])
const Op = Schema.Union([
  CallOp,
  // forced open until released (cockatiel `isolate`); a release of no isolation does nothing
  Schema.Struct({ kind: Schema.Literal("isolate") }),
  Schema.Struct({ kind: Schema.Literal("release") }),
  Schema.Struct({ kind: Schema.Literal("setMode"), mode: Schema.Literals(["normal", "disabled", "metricsOnly"]) })
])
type Op = typeof Op.Type

// Times are drawn in steps of STEP ms so that events land exactly on window and timeout
// boundaries often: off-by-one comparisons are caught.
const STEP = 500

const modeCodes: Record<Circuit.ModeName, Circuit.ModeCode> = {
  normal: Circuit.NORMAL,
  disabled: Circuit.DISABLED,
  metricsOnly: Circuit.METRICS_ONLY
}

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
    slidingWindowMs: undefined,
    slidingWindowBuckets: 10,
    resetTimeoutMs: p.resetTimeout * STEP,
    backoffFactor: p.backoffFactor,
    backoffMaxMs: (p.resetTimeout + p.backoffMaxExtra) * STEP,
    halfOpenMaxCalls: p.halfOpenMaxCalls,
    maxWaitInHalfOpenMs: p.maxWaitInHalfOpen * STEP,
    callTimeoutMs: p.callTimeout === 0 ? undefined : Math.min(p.callTimeout, p.maxWaitInHalfOpen) * STEP
  }
}

// ---- the reference model: plain immutable values, every rule recomputed from scratch ----
interface Model {
  readonly state: Circuit.StateName
  /** the operator's mode: disabled admits every call and records nothing; metricsOnly never trips */
  readonly mode: Circuit.ModeName
  /** > 0: forced open (every call rejected, retryAfter infinite) until the last release */
  readonly isolations: number
  /** every state change (trip and reset included) starts a new epoch; older results are stale */
  readonly epoch: number
  readonly consecutive: number
  readonly failureTimes: ReadonlyArray<number>
  readonly outcomes: ReadonlyArray<{ readonly failed: boolean; readonly slow: boolean }>
  readonly reopenAt: number
  readonly attempt: number
  readonly probes: number
  /** HalfOpen: the probes of this period that returned */
  readonly results: ReadonlyArray<{ readonly failed: boolean; readonly slow: boolean }>
  /** HalfOpen: when the probes in flight count as lost */
  readonly deadline: number
  /** HalfOpen: when the last probe was admitted */
  readonly lastProbeAt: number
}
const initial: Model = {
  state: "Closed",
  mode: "normal",
  isolations: 0,
  epoch: 0,
  consecutive: 0,
  failureTimes: [],
  outcomes: [],
  reopenAt: 0,
  attempt: 0,
  probes: 0,
  results: [],
  deadline: 0,
  lastProbeAt: 0
}
// an operator's mode and isolations outlive every state change
const closed = (m: Model): Model => ({ ...initial, mode: m.mode, isolations: m.isolations, epoch: m.epoch + 1 })
const timeoutFor = (policy: Policy, attempt: number) =>
  attempt === 0 ? policy.resetTimeoutMs : Math.min(policy.resetTimeoutMs * policy.backoffFactor ** attempt, policy.backoffMaxMs)
const opened = (m: Model, policy: Policy, now: number, attempt: number): Model => ({
  ...initial,
  mode: m.mode,
  isolations: m.isolations,
  epoch: m.epoch + 1,
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
    if (policy.failureRateThreshold !== undefined && m.outcomes.filter((o) => o.failed).length / n >= policy.failureRateThreshold)
      return true
    if (policy.slowCallRateThreshold !== undefined && m.outcomes.filter((o) => o.slow).length / n >= policy.slowCallRateThreshold)
      return true
  }
  return false
}
/** what admission at `now` decides: the model after it, and whether the call runs */
const modelAdmit = (m: Model, policy: Policy, now: number): { readonly model: Model; readonly admitted: boolean } => {
  if (m.state === "Closed") return { model: m, admitted: true }
  // overdue probes: the circuit reopened at their deadline (as a timer would have done)
  if (m.state === "HalfOpen" && m.probes > 0 && now >= m.deadline) m = opened(m, policy, m.deadline, m.attempt + 1)
  if (m.state === "Open") {
    if (now < m.reopenAt) return { model: m, admitted: false }
    m = { ...m, state: "HalfOpen", epoch: m.epoch + 1, probes: 0, results: [] }
  }
  if (m.probes + m.results.length >= policy.halfOpenMaxCalls) return { model: m, admitted: false }
  return {
    model: { ...m, probes: m.probes + 1, deadline: m.probes === 0 ? now + policy.maxWaitInHalfOpenMs : m.deadline, lastProbeAt: now },
    admitted: true
  }
}
// HalfOpen: the probes in flight have their verdict by their deadline, or by the last one's
// call timeout when that is sooner (cockatiel's and Polly's "retry after" is the break duration;
// here it is the wait after which the state is known)
const modelRetryAfter = (m: Model, policy: Policy, now: number): number =>
  m.state === "Open"
    ? m.reopenAt - now
    : Math.max(0, Math.min(m.deadline, policy.callTimeoutMs === undefined ? Infinity : m.lastProbeAt + policy.callTimeoutMs) - now)
const modelRelease = (m: Model, epoch: number): Model => (epoch === m.epoch && m.state === "HalfOpen" ? { ...m, probes: m.probes - 1 } : m)
/**
 * The probes' verdict from the spec (resilience4j permittedNumberOfCallsInHalfOpenState): once
 * all halfOpenMaxCalls returned, reopen on a failure rate (any failure without a rate rule) or a
 * slow-call rate at or over the threshold, else close; reopen earlier once no remaining result
 * could change that.
 */
const modelVerdict = (results: ReadonlyArray<{ readonly failed: boolean; readonly slow: boolean }>, policy: Policy) => {
  const n = policy.halfOpenMaxCalls
  const failures = results.filter((r) => r.failed).length
  const slow = results.filter((r) => r.slow).length
  const reopensWith = (f: number, s: number) =>
    (policy.failureRateThreshold === undefined ? f > 0 : f / n >= policy.failureRateThreshold) ||
    (policy.slowCallRateThreshold !== undefined && s / n >= policy.slowCallRateThreshold)
  // certain: even if every remaining probe succeeds fast
  if (reopensWith(failures, slow)) return "reopen"
  return results.length >= n ? "close" : "pending"
}
const modelRecord = (m: Model, policy: Policy, epoch: number, failed: boolean, slow: boolean, now: number): Model => {
  if (epoch !== m.epoch) return m
  if (m.state === "HalfOpen") {
    if (now >= m.deadline) return opened(m, policy, m.deadline, m.attempt + 1)
    const next = { ...m, probes: m.probes - 1, results: [...m.results, { failed, slow }] }
    const verdict = modelVerdict(next.results, policy)
    return verdict === "reopen" ? opened(next, policy, now, m.attempt + 1) : verdict === "close" ? closed(next) : next
  }
  if (m.state !== "Closed" || m.mode === "disabled") return m
  const rateRules = policy.failureRateThreshold !== undefined || policy.slowCallRateThreshold !== undefined
  const next: Model = {
    ...m,
    consecutive: failed ? m.consecutive + 1 : 0,
    failureTimes: failed ? [...m.failureTimes, now] : m.failureTimes,
    outcomes: rateRules ? [...m.outcomes, { failed, slow }].slice(-policy.slidingWindowSize) : m.outcomes
  }
  return m.mode === "normal" && trips(next, policy, now) ? opened(next, policy, now, 0) : next
}
// operator's changes, from the spec of each operation
const modelTrip = (m: Model, policy: Policy, now: number): Model =>
  m.isolations > 0 || m.mode !== "normal" ? m : opened(m, policy, now, m.state === "Open" ? m.attempt : 0)
const modelReset = (m: Model): Model => (m.isolations > 0 ? m : closed(m))
// the first isolation forces Open with no reopening time and drops probes and statistics (a
// circuit already Open stays in its period: no call holds a permit of an Open period)
const modelIsolate = (m: Model): Model =>
  m.isolations > 0
    ? { ...m, isolations: m.isolations + 1 }
    : {
        ...m,
        isolations: 1,
        state: "Open",
        epoch: m.state === "Open" ? m.epoch : m.epoch + 1,
        reopenAt: Infinity,
        probes: 0,
        consecutive: 0,
        failureTimes: [],
        outcomes: []
      }
const modelReleaseIsolation = (m: Model): Model =>
  m.isolations === 0 ? m : m.isolations === 1 ? closed({ ...m, isolations: 0 }) : { ...m, isolations: m.isolations - 1 }
// a change of mode starts Closed with clean statistics, unless isolated (then at the last release)
const modelSetMode = (m: Model, mode: Circuit.ModeName): Model =>
  m.mode === mode ? m : m.isolations > 0 ? { ...m, mode } : closed({ ...m, mode })

const agreeOn = ({ ops, policyInput }: { readonly ops: ReadonlyArray<Op>; readonly policyInput: typeof PolicySchema.Type }) => {
  const policy = toPolicy(policyInput)
  const circuit = Circuit.make(policy)
  let model = initial
  let now = 1_000
  const running: Array<{ readonly permit: number; readonly epoch: number; readonly startedAt: number }> = []
  const slowAt = (startedAt: number) => policy.slowCallDurationMs !== undefined && now - startedAt >= policy.slowCallDurationMs
  const admitBoth = (): { readonly permit: number; readonly epoch: number } | undefined => {
    const decision = modelAdmit(model, policy, now)
    model = decision.model
    const permit = Circuit.admit(circuit, now, policy)
    expect(permit !== Circuit.REJECTED).toBe(decision.admitted)
    if (!decision.admitted) {
      expect(Circuit.retryAfter(circuit, now, policy)).toBe(modelRetryAfter(model, policy, now))
      return undefined
    }
    return { permit, epoch: model.epoch }
  }
  const finishBoth = (call: { readonly permit: number; readonly epoch: number; readonly startedAt: number }, outcome: string) => {
    if (outcome === "interrupt" || outcome === "ignored") {
      Circuit.release(circuit, call.permit)
      model = modelRelease(model, call.epoch)
      return
    }
    const failed = outcome === "failure"
    const slow = slowAt(call.startedAt)
    Circuit.record(circuit, call.permit, failed, slow, now, policy)
    model = modelRecord(model, policy, call.epoch, failed, slow, now)
  }
  for (const op of ops as ReadonlyArray<Op>) {
    switch (op.kind) {
      case "advance":
        now += op.millis * STEP
        break
      case "trip": {
        const next = modelTrip(model, policy, now)
        expect(Operator.trip(circuit, now, policy)).toBe(next !== model)
        model = next
        break
      }
      case "reset": {
        const next = modelReset(model)
        expect(Operator.reset(circuit)).toBe(next !== model)
        model = next
        break
      }
      case "isolate":
        Operator.isolate(circuit, now)
        model = modelIsolate(model)
        break
      case "release":
        Operator.releaseIsolation(circuit)
        model = modelReleaseIsolation(model)
        break
      case "setMode":
        Operator.setMode(circuit, modeCodes[op.mode])
        model = modelSetMode(model, op.mode)
        break
      case "start": {
        const admitted = admitBoth()
        if (admitted !== undefined) running.push({ ...admitted, startedAt: now })
        break
      }
      case "finish": {
        if (running.length === 0) break
        const [call] = running.splice(op.index % running.length, 1)
        finishBoth(call!, op.outcome)
        break
      }
      case "call": {
        const admitted = admitBoth()
        if (admitted === undefined) break
        const startedAt = now
        now += op.duration * STEP
        finishBoth({ ...admitted, startedAt }, op.outcome)
        break
      }
    }
    expect(Circuit.stateNames[circuit.state]).toBe(model.state)
    expect(circuit.isolations).toBe(model.isolations)
    expect(Circuit.modeNames[circuit.mode]).toBe(model.mode)
    // the spec's invariants, stated directly: forced open while isolated; a mode other than
    // normal never leaves Closed by itself
    if (model.isolations > 0) {
      expect(model.state).toBe("Open")
      expect(Circuit.retryAfter(circuit, now, policy)).toBe(Infinity)
    } else if (model.mode !== "normal") expect(model.state).toBe("Closed")
    if (model.state === "Open") expect(circuit.reopenAt).toBe(model.reopenAt)
    if (model.state === "HalfOpen") expect(circuit.probesInFlight).toBe(model.probes)
    expect(circuit.attempt).toBe(model.attempt)
    if (model.state === "Closed") expect(circuit.consecutiveFailures).toBe(model.consecutive)
  }
}

const opsOf = <S extends Schema.Top>(op: S) => Schema.Array(op).pipe(Schema.check(Schema.isMinLength(30), Schema.isMaxLength(80)))

describe("circuit core against the reference model", () => {
  it.prop("agrees on every admission, rejection, retryAfter and state", { policyInput: PolicySchema, ops: opsOf(CallOp) }, agreeOn, {
    arbitrary: { runs: 2_000 }
  })

  // the operator's isolations and modes on top of the same calls (a separate property, so that
  // the one above keeps exploring the normal mode's machine with every step)
  it.prop("agrees with isolations and modes: forced open, disabled, metrics-only", { policyInput: PolicySchema, ops: opsOf(Op) }, agreeOn, {
    arbitrary: { runs: 1_000 }
  })

  it("a result from an older generation is ignored, except for its counts", () => {
    const policy = toPolicy({
      failureThreshold: 1,
      monitorWindow: 0,
      failureRatePercent: 0,
      slowRatePercent: 0,
      slowCallDuration: 1,
      minimumCalls: 1,
      extraWindow: 0,
      resetTimeout: 2,
      backoffFactor: 1,
      backoffMaxExtra: 0,
      halfOpenMaxCalls: 1,
      maxWaitInHalfOpen: 20,
      callTimeout: 0
    })
    const circuit = Circuit.make(policy)
    const stale = Circuit.admit(circuit, 0, policy)
    const other = Circuit.admit(circuit, 0, policy)
    Circuit.record(circuit, other, true, false, 0, policy) // opens
    Circuit.record(circuit, stale, false, false, 10, policy) // a success admitted while closed
    expect(Circuit.stateNames[circuit.state]).toBe("Open")
    expect(circuit.successes).toBe(1)
  })

  // resilience4j CircuitBreakerStateMachineTest.shouldIncreaseCounterOnReleasePermission and
  // shouldOnlyPermitFourCallsInHalfOpenState: a released permission can be taken again; no more than N
  it("half-open admits halfOpenMaxCalls probes, a released one frees its slot, and the verdict waits for all", () => {
    const policy: Policy = {
      ...toPolicy({
        failureThreshold: 1,
        monitorWindow: 0,
        failureRatePercent: 0,
        slowRatePercent: 0,
        slowCallDuration: 1,
        minimumCalls: 1,
        extraWindow: 0,
        resetTimeout: 2,
        backoffFactor: 1,
        backoffMaxExtra: 0,
        halfOpenMaxCalls: 1,
        maxWaitInHalfOpen: 20,
        callTimeout: 0
      }),
      halfOpenMaxCalls: 2
    }
    const circuit = Circuit.make(policy)
    Operator.trip(circuit, 0, policy)
    const a = Circuit.admit(circuit, 1_000, policy)
    const b = Circuit.admit(circuit, 1_000, policy)
    expect(Circuit.admit(circuit, 1_000, policy)).toBe(Circuit.REJECTED)
    Circuit.release(circuit, a) // interrupted probe gives its slot back
    const c = Circuit.admit(circuit, 1_001, policy)
    expect(c).not.toBe(Circuit.REJECTED)
    Circuit.record(circuit, b, false, false, 1_002, policy)
    expect(Circuit.stateNames[circuit.state]).toBe("HalfOpen") // one of two results
    expect(Circuit.admit(circuit, 1_002, policy)).toBe(Circuit.REJECTED) // a returned probe keeps its slot
    Circuit.record(circuit, c, false, false, 1_003, policy)
    expect(Circuit.stateNames[circuit.state]).toBe("Closed")
  })

  // resilience4j CircuitBreakerStateMachineTest: shouldTransitionBackToOpenStateWhenFailureRateIsAboveThreshold
  // (3 of 4 failed, threshold 50%), shouldTransitionBackToOpenStateWhenSlowCallRateIsAboveThreshold (3 of 4
  // slow), shouldTransitionBackToClosedStateWhenFailureIsBelowThreshold (1 of 4 failed)
  it.each([
    { name: "3 of 4 probes failed", failures: 3, slow: 0, verdict: Circuit.REOPEN },
    { name: "3 of 4 probes slow", failures: 0, slow: 3, verdict: Circuit.REOPEN },
    { name: "1 of 4 probes failed", failures: 1, slow: 0, verdict: Circuit.CLOSE }
  ])("four probes at 50%: $name", ({ failures, slow, verdict }) => {
    const policy = { ...fourProbes }
    expect(Circuit.probeVerdict(4, failures, slow, policy)).toBe(verdict)
  })

  it.prop(
    "an early reopen is never contradicted, and a complete set is decided on its rates",
    {
      n: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 1, maximum: 8 }))),
      failurePercent: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 100 }))),
      slowPercent: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 100 }))),
      outcomes: Schema.Array(Schema.Literals(["ok", "failed", "slow", "failedSlow"])).pipe(Schema.check(Schema.isMaxLength(8)))
    },
    ({ failurePercent, n, outcomes, slowPercent }) => {
      const policy: Policy = {
        ...fourProbes,
        halfOpenMaxCalls: n,
        failureRateThreshold: failurePercent === 0 ? undefined : failurePercent / 100,
        slowCallRateThreshold: slowPercent === 0 ? undefined : slowPercent / 100
      }
      const all = [...outcomes, ...Array.from({ length: Math.max(0, n - outcomes.length) }, () => "ok" as const)].slice(0, n)
      const count = (upTo: number, kind: "failed" | "slow") =>
        all.slice(0, upTo).filter((o) => (kind === "failed" ? o.startsWith("failed") : o.toLowerCase().includes("slow"))).length
      const full = modelVerdict(
        all.map((o) => ({ failed: o.startsWith("failed"), slow: o.toLowerCase().includes("slow") })),
        policy
      )
      expect(Circuit.probeVerdict(n, count(n, "failed"), count(n, "slow"), policy)).toBe(full === "reopen" ? Circuit.REOPEN : Circuit.CLOSE)
      for (let k = 0; k < n; k++) {
        const early = Circuit.probeVerdict(k, count(k, "failed"), count(k, "slow"), policy)
        expect(early).not.toBe(Circuit.CLOSE) // never closes before every probe returned
        if (early === Circuit.REOPEN) expect(full).toBe("reopen")
      }
    }
  )
})

const fourProbes: Policy = {
  failureThreshold: undefined,
  monitorWindowMs: undefined,
  failureRateThreshold: 0.5,
  slowCallRateThreshold: 0.5,
  slowCallDurationMs: 4_000,
  minimumCalls: 5,
  slidingWindowSize: 20,
  slidingWindowMs: undefined,
  slidingWindowBuckets: 10,
  resetTimeoutMs: 5_000,
  backoffFactor: 1,
  backoffMaxMs: 5_000,
  halfOpenMaxCalls: 4,
  maxWaitInHalfOpenMs: 1_000,
  callTimeoutMs: undefined
}
