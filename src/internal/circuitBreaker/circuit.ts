/**
 * The circuit breaker state machine: deterministic, effect-free functions over one breaker's
 * plain state. Time is an argument (milliseconds), never read here. The shell
 * (`CircuitBreaker.ts`) owns the state, reads the clock, and publishes transitions.
 *
 * For speed the functions update the state object they are given in place (a closed,
 * successful call must not allocate) and report what happened through their return value and
 * the `generation` counter, which grows by one on every transition. The model-based property
 * test checks this machine against a small immutable reference model.
 *
 * States: Closed -> Open when a trip rule fires; Open -> HalfOpen once `reopenAt` has passed
 * (checked lazily at admission: no timer); HalfOpen admits `halfOpenMaxCalls` probes and
 * decides on their results (`probeVerdict`): closed, or reopened with the reset timeout grown
 * by the backoff factor. Results of calls admitted under an older generation
 * are ignored: a slow call admitted while Closed cannot close a circuit that has since opened.
 *
 * A probe that neither returns nor is interrupted would hold HalfOpen for good, so probes have
 * a deadline (`maxWaitInHalfOpenMs` after the first probe of a busy period was admitted). It
 * needs no timer either: the first admission or result at or after the deadline reopens the
 * circuit *as of the deadline*, exactly as a timer firing then would have, so a call arriving
 * a reset timeout after the deadline probes at once. Results of the lost probes are then stale.
 */

import * as TimeWindow from "./timeWindow.js"

export type StateName = "Closed" | "HalfOpen" | "Open"

export const CLOSED = 0
export const HALF_OPEN = 1
export const OPEN = 2
export type StateCode = typeof CLOSED | typeof HALF_OPEN | typeof OPEN

export const stateNames: ReadonlyArray<StateName> = ["Closed", "HalfOpen", "Open"]

/** How the breaker is run (an operator's choice); forced open (`isolations > 0`) overrides it. */
export type ModeName = "normal" | "disabled" | "metricsOnly"
export const NORMAL = 0
/** always admits, records nothing but the totals, never changes state */
export const DISABLED = 1
/** always admits, records its statistics as usual, never trips */
export const METRICS_ONLY = 2
export type ModeCode = typeof NORMAL | typeof DISABLED | typeof METRICS_ONLY
export const modeNames: ReadonlyArray<ModeName> = ["normal", "disabled", "metricsOnly"]

/** A validated policy, durations in milliseconds. */
export interface Policy {
  /** consecutive failures (or failures within `monitorWindowMs`) that open the circuit */
  readonly failureThreshold: number | undefined
  readonly monitorWindowMs: number | undefined
  readonly failureRateThreshold: number | undefined
  readonly slowCallRateThreshold: number | undefined
  readonly slowCallDurationMs: number | undefined
  readonly minimumCalls: number
  /** calls the rate rules look back over (count-based window) */
  readonly slidingWindowSize: number
  /** set: the rate rules look back over this time instead, in `slidingWindowBuckets` buckets */
  readonly slidingWindowMs: number | undefined
  readonly slidingWindowBuckets: number
  readonly resetTimeoutMs: number
  readonly backoffFactor: number
  readonly backoffMaxMs: number
  readonly halfOpenMaxCalls: number
  /** how long probes may hold HalfOpen before they count as lost and the circuit reopens */
  readonly maxWaitInHalfOpenMs: number
  /** a call running longer is interrupted (the shell arms the timer); bounds a probe's verdict */
  readonly callTimeoutMs: number | undefined
}

export interface Circuit {
  state: StateCode
  mode: ModeCode
  /** open isolations (forced open until each is released); > 0: Open with no reopening time */
  isolations: number
  /** grows by one on every transition; permits carry the generation they were issued in */
  generation: number
  // --- Closed: trip-rule statistics
  consecutiveFailures: number
  /** ring of the last `failureThreshold` failure times (monitorWindow rule only) */
  failureTimes: Float64Array | undefined
  failureTimesNext: number
  failureTimesCount: number
  /** ring of the last `slidingWindowSize` outcomes: bit 1 failure, bit 2 slow (rate rules only) */
  outcomes: Uint8Array | undefined
  outcomesNext: number
  outcomesCount: number
  windowFailures: number
  windowSlow: number
  /** the time-based window, instead of `outcomes`, when the policy has `slidingWindowMs` */
  timeWindow: TimeWindow.TimeWindow | undefined
  // --- Open
  openedAt: number
  reopenAt: number
  /** openings in a row without a successful probe: the backoff exponent */
  attempt: number
  // --- HalfOpen
  probesInFlight: number
  /** when the probes in flight count as lost (set as the first of them is admitted) */
  probeDeadline: number
  /** probes of this HalfOpen period that returned a result, and how many of them failed / were slow */
  probeResults: number
  probeFailures: number
  probeSlow: number
  /** when the last probe was admitted (with `callTimeoutMs`, its verdict is due by then + that) */
  lastProbeAt: number
  // --- totals since creation (metrics and status)
  successes: number
  failures: number
  rejected: number
  /** when the last failure was recorded (epoch ms); -1: never */
  lastFailureAt: number
}

export const make = (policy: Policy): Circuit => ({
  state: CLOSED,
  mode: NORMAL,
  isolations: 0,
  generation: 0,
  consecutiveFailures: 0,
  failureTimes:
    policy.failureThreshold !== undefined && policy.monitorWindowMs !== undefined ? new Float64Array(policy.failureThreshold) : undefined,
  failureTimesNext: 0,
  failureTimesCount: 0,
  outcomes: hasRateRule(policy) && policy.slidingWindowMs === undefined ? new Uint8Array(policy.slidingWindowSize) : undefined,
  outcomesNext: 0,
  outcomesCount: 0,
  windowFailures: 0,
  windowSlow: 0,
  timeWindow:
    hasRateRule(policy) && policy.slidingWindowMs !== undefined
      ? TimeWindow.make(policy.slidingWindowMs, policy.slidingWindowBuckets)
      : undefined,
  openedAt: 0,
  reopenAt: 0,
  attempt: 0,
  probesInFlight: 0,
  probeDeadline: 0,
  lastProbeAt: 0,
  probeResults: 0,
  probeFailures: 0,
  probeSlow: 0,
  successes: 0,
  failures: 0,
  rejected: 0,
  lastFailureAt: -1
})

export const hasRateRule = (policy: Policy): boolean =>
  policy.failureRateThreshold !== undefined || policy.slowCallRateThreshold !== undefined

/** Whether admission in `state` needs the current time (Closed does not). */
export const needsTimeToAdmit = (circuit: Circuit): boolean => circuit.state !== CLOSED

/** Whether recording an outcome needs the current time and the call's start time. */
export const needsTimeToRecord = (policy: Policy): boolean =>
  policy.monitorWindowMs !== undefined || policy.slowCallDurationMs !== undefined

/** Reset timeout for the current opening: base * factor^attempt, capped at the backoff max. */
export const currentResetTimeout = (circuit: Circuit, policy: Policy): number => resetTimeoutFor(circuit.attempt, policy)

const resetTimeoutFor = (attempt: number, policy: Policy): number =>
  attempt === 0 || policy.backoffFactor === 1
    ? policy.resetTimeoutMs
    : Math.min(policy.resetTimeoutMs * Math.pow(policy.backoffFactor, attempt), policy.backoffMaxMs)

/** Returned by `admit` when the call is rejected. */
export const REJECTED = -1

/**
 * Admission. Returns the permit (the generation, >= 0) or `REJECTED`. Moves Open to HalfOpen
 * when its time has come, and HalfOpen whose probes are overdue to Open (dated from their
 * deadline), then possibly on to HalfOpen again: the generation may grow by two.
 */
export const admit = (circuit: Circuit, now: number, policy: Policy): number => {
  if (circuit.state === CLOSED) return circuit.generation
  if (circuit.state === HALF_OPEN && circuit.probesInFlight > 0 && now >= circuit.probeDeadline) {
    loseProbes(circuit, policy)
  }
  if (circuit.state === OPEN) {
    if (now < circuit.reopenAt) {
      circuit.rejected++
      return REJECTED
    }
    // the first caller after the reset timeout becomes a probe
    toHalfOpen(circuit)
  }
  // each HalfOpen period runs at most halfOpenMaxCalls probes: in flight, or returned
  if (circuit.probesInFlight + circuit.probeResults >= policy.halfOpenMaxCalls) {
    circuit.rejected++
    return REJECTED
  }
  if (circuit.probesInFlight === 0) circuit.probeDeadline = now + policy.maxWaitInHalfOpenMs
  circuit.probesInFlight++
  circuit.lastProbeAt = now
  return circuit.generation
}

/** The probes in flight ran out of time: reopen as of their deadline, as a failed probe does. */
const loseProbes = (circuit: Circuit, policy: Policy): void => toOpen(circuit, circuit.probeDeadline, policy, circuit.attempt + 1)

/**
 * Milliseconds a rejected caller should wait. Open: until the reopening time (exact: the next
 * call then probes). HalfOpen with every probe slot taken: until the probes in flight have
 * their verdict, which is an upper bound, never a guess: they are lost at their deadline
 * (`maxWaitInHalfOpenMs` after the first of them started), and with `callTimeoutMs` each is
 * cut off that long after it started. By then the circuit is Closed (the retry is admitted) or
 * Open again (the retry is told the new reopening time). A probe answering sooner decides
 * sooner; the bound is tight when the policy has a call timeout.
 */
export const retryAfter = (circuit: Circuit, now: number, policy: Policy): number => {
  if (circuit.state === OPEN) return Math.max(0, circuit.reopenAt - now)
  if (circuit.state !== HALF_OPEN) return 0
  const verdictBy =
    policy.callTimeoutMs === undefined ? circuit.probeDeadline : Math.min(circuit.probeDeadline, circuit.lastProbeAt + policy.callTimeoutMs)
  return Math.max(0, verdictBy - now)
}

/**
 * Records a call admitted with `permit`. `failed`: the call counts as a failure; `slow`: it ran
 * at least `slowCallDuration`. Results from an older generation are ignored.
 */
export const record = (circuit: Circuit, permit: number, failed: boolean, slow: boolean, now: number, policy: Policy): void => {
  if (failed) {
    circuit.failures++
    circuit.lastFailureAt = now
  } else circuit.successes++
  if (permit !== circuit.generation) return
  if (circuit.state === HALF_OPEN) {
    // a result at or after the deadline comes from a probe already counted as lost
    if (now >= circuit.probeDeadline) {
      loseProbes(circuit, policy)
      return
    }
    circuit.probesInFlight--
    circuit.probeResults++
    if (failed) circuit.probeFailures++
    if (slow) circuit.probeSlow++
    const verdict = probeVerdict(circuit.probeResults, circuit.probeFailures, circuit.probeSlow, policy)
    if (verdict === REOPEN) toOpen(circuit, now, policy, circuit.attempt + 1)
    else if (verdict === CLOSE) toClosed(circuit)
    return
  }
  if (circuit.state !== CLOSED || circuit.mode === DISABLED) return
  if (failed) {
    circuit.consecutiveFailures++
  } else if (circuit.consecutiveFailures !== 0) {
    circuit.consecutiveFailures = 0
  }
  if (failed && circuit.failureTimes !== undefined) {
    const ring = circuit.failureTimes
    ring[circuit.failureTimesNext] = now
    circuit.failureTimesNext = (circuit.failureTimesNext + 1) % ring.length
    if (circuit.failureTimesCount < ring.length) circuit.failureTimesCount++
  }
  if (circuit.outcomes !== undefined) recordOutcome(circuit, (failed ? 1 : 0) | (slow ? 2 : 0))
  else if (circuit.timeWindow !== undefined) TimeWindow.add(circuit.timeWindow, now, failed, slow)
  if (circuit.mode === NORMAL && shouldTrip(circuit, now, policy)) toOpen(circuit, now, policy, 0)
}

export const PENDING = 0
export const CLOSE = 1
export const REOPEN = 2
export type Verdict = typeof PENDING | typeof CLOSE | typeof REOPEN

/**
 * What the probes of one HalfOpen period decide (resilience4j's
 * `permittedNumberOfCallsInHalfOpenState`): once `halfOpenMaxCalls` probes returned, the
 * circuit reopens if their failure rate reaches `failureRateThreshold` (without a rate rule:
 * if any of them failed) or their slow-call rate reaches `slowCallRateThreshold` (a slow
 * success counts), and closes otherwise. It reopens as soon as that is certain: when the
 * failures or slow calls so far reach the threshold whatever the remaining probes return.
 */
export const probeVerdict = (results: number, failures: number, slow: number, policy: Policy): Verdict => {
  const n = policy.halfOpenMaxCalls
  const rate = policy.failureRateThreshold
  if (rate === undefined ? failures > 0 : failures / n >= rate) return REOPEN
  if (policy.slowCallRateThreshold !== undefined && slow / n >= policy.slowCallRateThreshold) return REOPEN
  return results >= n ? CLOSE : PENDING
}

/**
 * An admitted call ended without a verdict on the dependency (it was interrupted, or the
 * caller marked its outcome as ignored, like a pool checkout timeout): nothing is recorded,
 * and a probe frees its slot (resilience4j's `releasePermission`).
 */
export const release = (circuit: Circuit, permit: number): void => {
  if (permit === circuit.generation && circuit.state === HALF_OPEN) circuit.probesInFlight--
}

const recordOutcome = (circuit: Circuit, outcome: number): void => {
  const ring = circuit.outcomes!
  if (circuit.outcomesCount === ring.length) {
    const evicted = ring[circuit.outcomesNext]!
    if (evicted & 1) circuit.windowFailures--
    if (evicted & 2) circuit.windowSlow--
  } else {
    circuit.outcomesCount++
  }
  ring[circuit.outcomesNext] = outcome
  circuit.outcomesNext = (circuit.outcomesNext + 1) % ring.length
  if (outcome & 1) circuit.windowFailures++
  if (outcome & 2) circuit.windowSlow++
}

/** The trip rules, any of which opens the circuit. */
export const shouldTrip = (circuit: Circuit, now: number, policy: Policy): boolean => {
  const threshold = policy.failureThreshold
  if (threshold !== undefined) {
    if (circuit.failureTimes === undefined) {
      if (circuit.consecutiveFailures >= threshold) return true
    } else if (circuit.failureTimesCount >= threshold) {
      // the oldest of the last `threshold` failures is the slot about to be overwritten
      const oldest = circuit.failureTimes[circuit.failureTimesNext]!
      if (now - oldest < policy.monitorWindowMs!) return true
    }
  }
  if (circuit.outcomes !== undefined) return rateTrips(circuit.outcomesCount, circuit.windowFailures, circuit.windowSlow, policy)
  const window = circuit.timeWindow
  if (window === undefined) return false
  TimeWindow.advance(window, now)
  return rateTrips(window.totalCalls, window.totalFailures, window.totalSlow, policy)
}

/** The rate rules on a window's counts: at least `minimumCalls`, and a rate at its threshold. */
const rateTrips = (calls: number, failures: number, slow: number, policy: Policy): boolean => {
  if (calls < policy.minimumCalls) return false
  if (policy.failureRateThreshold !== undefined && failures / calls >= policy.failureRateThreshold) return true
  return policy.slowCallRateThreshold !== undefined && slow / calls >= policy.slowCallRateThreshold
}

/** The rate rules' window as of `now` (undefined without a rate rule): what `status` reports. */
export const windowAt = (
  circuit: Circuit,
  now: number
): { readonly calls: number; readonly failures: number; readonly slow: number } | undefined => {
  if (circuit.outcomes !== undefined) return { calls: circuit.outcomesCount, failures: circuit.windowFailures, slow: circuit.windowSlow }
  const window = circuit.timeWindow
  if (window === undefined) return undefined
  TimeWindow.advance(window, now)
  return { calls: window.totalCalls, failures: window.totalFailures, slow: window.totalSlow }
}

export const clearStatistics = (circuit: Circuit): void => {
  circuit.consecutiveFailures = 0
  circuit.failureTimesNext = 0
  circuit.failureTimesCount = 0
  circuit.outcomesNext = 0
  circuit.outcomesCount = 0
  circuit.windowFailures = 0
  circuit.windowSlow = 0
  if (circuit.timeWindow !== undefined) TimeWindow.clear(circuit.timeWindow)
}

export const toOpen = (circuit: Circuit, now: number, policy: Policy, attempt: number): void => {
  circuit.state = OPEN
  circuit.generation++
  circuit.attempt = attempt
  circuit.openedAt = now
  circuit.reopenAt = now + currentResetTimeout(circuit, policy)
  circuit.probesInFlight = 0
  clearStatistics(circuit)
}

const toHalfOpen = (circuit: Circuit): void => {
  circuit.state = HALF_OPEN
  circuit.generation++
  circuit.probesInFlight = 0
  circuit.probeResults = 0
  circuit.probeFailures = 0
  circuit.probeSlow = 0
}

export const toClosed = (circuit: Circuit): void => {
  circuit.state = CLOSED
  circuit.generation++
  circuit.attempt = 0
  circuit.probesInFlight = 0
  clearStatistics(circuit)
}
