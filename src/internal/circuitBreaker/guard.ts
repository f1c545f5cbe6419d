/**
 * The per-call guard that connects a protected effect to a breaker of a `Registry`: admission
 * (the core's decision, plus a cluster probe lease for shared breakers) and the recording of
 * the outcome. Everything runs synchronously inside one run-loop step, so each decision is atomic.
 */
import type { Fiber } from "effect"
import { Cause, Clock, Context, Duration, Effect, Exit } from "effect"
import type { OperationTimeout, ProtectionNotFound } from "../../Errors.js"
import { CircuitBreakerOpen } from "../../Errors.js"
import * as Circuit from "./circuit.js"
import type { Guard } from "../runtime/guardedCall.js"
import { guarded } from "../runtime/guardedCall.js"
import { isIgnored } from "../runtime/ignoredOutcome.js"
import type { Ignore } from "./ignore.js"
import { isIgnoredBy } from "./ignore.js"
import type { Breaker, ProbeLeases, Registry } from "./registry.js"

/**
 * A rejection's error, a new instance each time (callers may keep or annotate it), built like
 * `fastConstructor` (no stack trace) with its fields set directly: a rejection is the hot path
 * of an open breaker. A constructor function rather than `Object.create` and five property
 * additions: each instance starts with its final shape, which measured about 40% cheaper.
 */
const OpenError = function (this: Record<string, unknown>, breaker: string, state: "Open" | "HalfOpen", retryAfter: Duration.Duration) {
  this._tag = "CircuitBreakerOpen"
  this.code = "circuit_breaker_open"
  this.breaker = breaker
  this.state = state
  this.retryAfter = retryAfter
} as unknown as new (
  breaker: string,
  state: "Open" | "HalfOpen",
  retryAfter: Duration.Duration
) => CircuitBreakerOpen
OpenError.prototype = CircuitBreakerOpen.prototype

const makeOpen = (breaker: string, state: "Open" | "HalfOpen", retryAfter: Duration.Duration): CircuitBreakerOpen =>
  new OpenError(breaker, state, retryAfter)

// the retryAfter of the last rejection: rejections in the same millisecond share the
// (immutable) Duration instead of allocating one each
let lastRetryMs = Number.NaN
let lastRetryAfter: Duration.Duration = Duration.zero
const retryAfterOf = (millis: number): Duration.Duration => {
  if (millis !== lastRetryMs) {
    lastRetryAfter = Duration.millis(millis)
    lastRetryMs = millis
  }
  return lastRetryAfter
}

const isFailureOf = (breaker: Breaker, cause: Cause.Cause<unknown>): boolean => {
  const classify = breaker.policy.isFailure
  if (classify === undefined) return true
  try {
    return classify(cause) === true
  } catch {
    // a classifier that throws cannot tell us the call was fine
    return true
  }
}

/** Where a call's clock comes from: the running fiber's, or a cache of it. */
export interface ClockSource {
  readonly clockOf: (fiber: Fiber.Fiber<unknown, unknown>) => Clock.Clock
}

/** The running fiber's own clock, looked up each time. */
export const fiberClocks: ClockSource = {
  clockOf: (fiber) => fiber.getRef(Clock.Clock)
}

/**
 * Admission of what takes no slot, decided before any exit frame exists: a Closed breaker's
 * permit (nothing is held, so losing it to an interruption before the frame loses nothing),
 * or an Open breaker's rejection before its time. `undefined`: a probe (HalfOpen, or Open whose
 * time has come), which takes a slot and must be admitted inside the call's frame.
 */
export const admitWithoutSlot = (
  clocks: ClockSource,
  breaker: Breaker,
  fiber: Fiber.Fiber<unknown, unknown>
): Permit | Effect.Effect<never, CircuitBreakerOpen> | undefined => {
  const circuit = breaker.circuit
  if (circuit.state === Circuit.CLOSED) {
    // Closed needs no clock unless calls are timed: the common case costs a few field reads
    if (breaker.policy.core.slowCallDurationMs === undefined) return circuit.generation
    // a slow-call policy times every call from its admission
    return { generation: circuit.generation, startedAt: clocks.clockOf(fiber).currentTimeMillisUnsafe() }
  }
  if (circuit.state !== Circuit.OPEN) return undefined
  const now = clocks.clockOf(fiber).currentTimeMillisUnsafe()
  if (now >= circuit.reopenAt) return undefined
  circuit.rejected++
  return Effect.fail(makeOpen(breaker.name, "Open", retryAfterOf(circuit.reopenAt - now)))
}

/** Records a success on `breaker` for the call admitted with `permit`. */
export const recordSuccess = (
  clocks: ClockSource,
  registry: Registry,
  breaker: Breaker,
  permit: Permit,
  fiber: Fiber.Fiber<unknown, unknown>
): void => {
  const circuit = breaker.circuit
  if (!breaker.recordNeedsTime && circuit.state === Circuit.CLOSED && permit === circuit.generation) {
    circuit.successes++
    circuit.consecutiveFailures = 0
    return
  }
  complete(clocks, registry, breaker, permit, false, fiber)
}

/**
 * Records a failure, a defect or an interruption. Interruption (or an outcome the caller
 * marked as ignored, or `protect`'s `ignore` accepts) is neither a success nor a failure; a
 * probe gives its slot back.
 */
export const recordFailure = (
  clocks: ClockSource,
  registry: Registry,
  breaker: Breaker,
  permit: Permit,
  cause: Cause.Cause<unknown>,
  ignore: Ignore | undefined,
  fiber: Fiber.Fiber<unknown, unknown>
): void => {
  if (Cause.hasInterruptsOnly(cause) || isIgnored(cause) || (ignore !== undefined && isIgnoredBy(ignore, cause))) {
    Circuit.release(breaker.circuit, typeof permit === "number" ? permit : permit.generation)
    return
  }
  complete(clocks, registry, breaker, permit, isFailureOf(breaker, cause), fiber)
}

/** Records a call's exit: what a call's own exit callback does (see `recordSuccess`, `recordFailure`). */
export const recordExit = (
  clocks: ClockSource,
  registry: Registry,
  breaker: Breaker,
  permit: Permit,
  exit: Exit.Exit<unknown, unknown>,
  ignore: Ignore | undefined,
  fiber: Fiber.Fiber<unknown, unknown>
): void => {
  if (exit._tag === "Success") recordSuccess(clocks, registry, breaker, permit, fiber)
  else recordFailure(clocks, registry, breaker, permit, exit.cause, ignore, fiber)
}

const complete = (
  clocks: ClockSource,
  registry: Registry,
  breaker: Breaker,
  permit: Permit,
  failed: boolean,
  fiber: Fiber.Fiber<unknown, unknown>
): void => {
  const circuit = breaker.circuit
  const now = clocks.clockOf(fiber).currentTimeMillisUnsafe()
  const from = circuit.state
  const generation = circuit.generation
  const slowMs = breaker.policy.core.slowCallDurationMs
  const slow = slowMs !== undefined && typeof permit !== "number" && now - permit.startedAt >= slowMs
  Circuit.record(circuit, typeof permit === "number" ? permit : permit.generation, failed, slow, now, breaker.policy.core)
  if (circuit.generation !== generation) registry.transition(breaker, from, circuit.state, now)
}

/** A permit under a slow-call policy also carries when the call started. */
export interface TimedPermit {
  readonly generation: number
  readonly startedAt: number
}
export type Permit = number | TimedPermit

/**
 * Connects one protected effect to a breaker. The breaker is resolved when the effect runs,
 * not when it is built, so a protected effect value can be built once and run many times.
 * `current` is scratch space between `admit` and `wrap` (called back to back, synchronously);
 * a name resolves to the same breaker until it is evicted, so concurrent runs of one effect
 * value agree on it.
 */
export class BreakerGuard implements Guard<Permit, CircuitBreakerOpen | ProtectionNotFound> {
  current: Breaker | undefined = undefined
  /** `protect`'s `ignore` option: read only when a call fails, so unused it costs nothing */
  ignore: Ignore | undefined = undefined

  constructor(
    readonly registry: Registry,
    readonly name: string
  ) {}

  /** the running fiber's clock (a guard that caches its context's services caches it too) */
  clockOf(fiber: Fiber.Fiber<unknown, unknown>): Clock.Clock {
    return fiber.getRef(Clock.Clock)
  }

  /**
   * Admission before the guarded call's exit frame exists (see `Guard.admitEarly`): a Closed
   * breaker's permit holds no slot, and an Open breaker's rejection takes nothing; a probe
   * (HalfOpen, or Open whose time has come) is admitted inside the frame, by `admit`.
   */
  admitEarly(fiber: Fiber.Fiber<unknown, unknown>): Permit | Effect.Effect<never, CircuitBreakerOpen | ProtectionNotFound> | undefined {
    const breaker = this.registry.resolve(this.name)
    if (breaker === undefined) return Effect.fail(this.registry.notFound(this.name))
    const early = admitWithoutSlot(this, breaker, fiber)
    if (early !== undefined) this.current = breaker
    return early
  }

  admit(fiber: Fiber.Fiber<unknown, unknown>): Permit | Effect.Effect<never, CircuitBreakerOpen | ProtectionNotFound> {
    const breaker = this.registry.resolve(this.name)
    if (breaker === undefined) return Effect.fail(this.registry.notFound(this.name))
    return this.admitTo(breaker, fiber)
  }

  private admitTo(breaker: Breaker, fiber: Fiber.Fiber<unknown, unknown>): Permit | Effect.Effect<never, CircuitBreakerOpen> {
    this.current = breaker
    const circuit = breaker.circuit
    const timed = breaker.policy.core.slowCallDurationMs !== undefined
    // Closed needs no clock unless calls are timed: the common case costs a few field reads
    if (circuit.state === Circuit.CLOSED && !timed) return circuit.generation
    const now = this.clockOf(fiber).currentTimeMillisUnsafe()
    const from = circuit.state
    const generation = circuit.generation
    const permit = Circuit.admit(circuit, now, breaker.policy.core)
    if (circuit.generation !== generation) this.registry.admitted(breaker, from, generation, now)
    if (permit !== Circuit.REJECTED) {
      const admitted = timed ? { generation: permit, startedAt: now } : permit
      const leases = this.registry.leases
      // a probe of a shared breaker needs one of the cluster's probe leases first
      if (leases !== undefined && circuit.state === Circuit.HALF_OPEN) return this.probeWithLease(leases, breaker, admitted, now)
      return admitted
    }
    return Effect.fail(
      makeOpen(
        breaker.name,
        circuit.state === Circuit.OPEN ? "Open" : "HalfOpen",
        retryAfterOf(Circuit.retryAfter(circuit, now, breaker.policy.core))
      )
    )
  }

  /** set by `guarded` callers that need the effect in `probeWithLease` (see `CircuitBreaker`) */
  self: Effect.Effect<any, any, any> | undefined = undefined

  /**
   * A probe of a shared breaker: its local slot is taken; it runs once it holds a cluster
   * lease. Every exit gives the slot back or records the probe: interrupted while waiting for
   * the lease (the wait runs interruptible, the rest cannot be cut in between), lease taken by
   * another process, or the probe's own result.
   */
  private probeWithLease(leases: ProbeLeases, breaker: Breaker, permit: Permit, now: number): Effect.Effect<never, CircuitBreakerOpen> {
    const self = this.self!
    const circuit = breaker.circuit
    const generation = typeof permit === "number" ? permit : permit.generation
    const token = leases.newToken()
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.exit(restore(leases.acquire(breaker, token))), (lease) => {
        if (Exit.isFailure(lease)) {
          // interrupted while waiting for the lease: nothing ran, the slot goes back
          Circuit.release(circuit, generation)
          return lease
        }
        if (lease.value === "taken") {
          // another process is probing: give the local slot back and reject like a full HalfOpen
          Circuit.release(circuit, generation)
          circuit.rejected++
          return Effect.fail(makeOpen(breaker.name, "HalfOpen", retryAfterOf(Circuit.retryAfter(circuit, now, breaker.policy.core))))
        }
        // "unavailable": Redis is down or slow; the local breaker decides alone (reported by the layer)
        const probe = new PreAdmittedGuard(this.registry, breaker, permit, restore)
        probe.ignore = this.ignore
        if (lease.value === "acquired") probe.lease = { leases, token }
        return guarded(self, probe)
      })
    ) as Effect.Effect<never, CircuitBreakerOpen>
  }

  wrap<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OperationTimeout, R> {
    const timeout = this.current!.timeout
    return timeout === undefined ? self : timeout(self)
  }

  onSuccess(permit: Permit, fiber: Fiber.Fiber<unknown, unknown>): void {
    recordSuccess(this, this.registry, this.current!, permit, fiber)
  }

  onFailure(permit: Permit, cause: Cause.Cause<unknown>, fiber: Fiber.Fiber<unknown, unknown>): void {
    recordFailure(this, this.registry, this.current!, permit, cause, this.ignore, fiber)
  }
}

/**
 * A guard whose admission already happened (a probe that waited for its lease). It runs
 * inside the uninterruptible mask of `probeWithLease`: only the call itself is interruptible
 * (`restore`), and once its outcome is recorded the probe's cluster lease goes back.
 */
class PreAdmittedGuard extends BreakerGuard {
  lease: { readonly leases: ProbeLeases; readonly token: string } | undefined = undefined
  constructor(
    registry: Registry,
    breaker: Breaker,
    private readonly permit: Permit,
    private readonly restore: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  ) {
    super(registry, breaker.name)
    this.current = breaker
  }
  override admitEarly(): undefined {
    // a probe's slot and lease: admitted inside the frame only
    return undefined
  }
  override admit(): Permit {
    return this.permit
  }
  override wrap<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OperationTimeout, R> {
    return this.restore(super.wrap(self))
  }
  override onSuccess(permit: Permit, fiber: Fiber.Fiber<unknown, unknown>): void {
    try {
      super.onSuccess(permit, fiber)
    } finally {
      this.releaseLease()
    }
  }
  override onFailure(permit: Permit, cause: Cause.Cause<unknown>, fiber: Fiber.Fiber<unknown, unknown>): void {
    try {
      super.onFailure(permit, cause, fiber)
    } finally {
      this.releaseLease()
    }
  }
  private releaseLease(): void {
    if (this.lease !== undefined) this.lease.leases.release(this.current!, this.lease.token)
  }
}

/** Looks up the service in the running fiber's context (used by `protect`). */
export const serviceFrom = <S>(fiber: Fiber.Fiber<unknown, unknown>, tag: Context.Key<any, S>): S => Context.getUnsafe(fiber.context, tag)
