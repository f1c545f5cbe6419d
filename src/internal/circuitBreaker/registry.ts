/**
 * The effectful shell's state for `CircuitBreaker`: the named breakers, their metric series,
 * and the per-call guard that connects a protected effect to a breaker. Everything here runs
 * synchronously inside one run-loop step, so each decision is atomic.
 */
import type { Fiber } from "effect"
import { Cause, Clock, Context, Duration, Effect, Exit, Metric, PubSub } from "effect"
import type { ProtectionNotFound } from "../../Errors.js"
import { CircuitBreakerOpen, OperationTimeout } from "../../Errors.js"
import { fastConstructor } from "../runtime/errors.js"
import * as Names from "../../Telemetry.js"
import { notFound } from "./options.js"
import type { NormalizedPolicy } from "./policy.js"
import * as Circuit from "./circuit.js"
import { registerCounter, registerGauge } from "../runtime/observableMetric.js"
import type { Guard } from "../runtime/guardedCall.js"
import { guarded } from "../runtime/guardedCall.js"
import { isIgnored } from "../runtime/ignoredOutcome.js"

export interface Transition {
  readonly breaker: string
  readonly from: Circuit.StateName
  readonly to: Circuit.StateName
  /** epoch milliseconds, from effect's `Clock` */
  readonly at: number
  /** true when another process made this change (shared state in Redis) */
  readonly remote?: boolean
}

/**
 * Cluster-wide probe leases for breakers whose state is shared (see `CircuitBreakerRedis`):
 * `acquire` succeeds for at most `halfOpenMaxCalls` holders across all processes, each lease
 * expiring by itself so a crashed prober cannot hold it. `token` names one probe's lease.
 *
 * `acquire` is bounded in time and cleans up after itself: when it ends without an answer
 * (timed out, failed, interrupted) after the command went out, it releases `token` in the
 * background, in case Redis runs the command late. After "acquired", the caller releases.
 */
export interface ProbeLeases {
  readonly acquire: (breaker: Breaker, token: string) => Effect.Effect<"acquired" | "taken" | "unavailable">
  /** gives the lease back in the background: no caller waits for Redis */
  readonly release: (breaker: Breaker, token: string) => void
  readonly newToken: () => string
}

export class Breaker {
  readonly circuit: Circuit.Circuit
  /** whether recording an outcome needs the clock (time windows, slow calls, rate rules) */
  readonly recordNeedsTime: boolean
  readonly removeSeries: Array<() => void> = []
  /** shared breakers: local transitions this process could not publish (Redis failed or timed out) */
  failedShares = 0
  readonly timeout: (<A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | OperationTimeout, R>) | undefined

  constructor(
    readonly name: string,
    readonly policy: NormalizedPolicy,
    readonly dynamic: boolean
  ) {
    this.circuit = Circuit.make(policy.core)
    this.recordNeedsTime = Circuit.needsTimeToRecord(policy.core) || this.circuit.outcomes !== undefined
    const callTimeoutMs = policy.callTimeoutMs
    if (callTimeoutMs === undefined) {
      this.timeout = undefined
    } else {
      const duration = Duration.millis(callTimeoutMs)
      const timedOut = Effect.fail(new OperationTimeout({ operation: name, timeout: duration }))
      const options = { duration, orElse: () => timedOut }
      this.timeout = (self) => Effect.timeoutOrElse(self, options)
    }
  }
}

const makeOpen = fastConstructor(CircuitBreakerOpen, "CircuitBreakerOpen", "circuit_breaker_open")

const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number => fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

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

export class Registry {
  readonly configured = new Map<string, Breaker>()
  /** breakers created on first use from `defaults`; Map order is least recently used first */
  readonly dynamic = new Map<string, Breaker>()
  private readonly transitionCounter: Metric.Counter<number>

  constructor(
    readonly defaults: NormalizedPolicy,
    policies: ReadonlyMap<string, NormalizedPolicy>,
    readonly maxDynamic: number,
    readonly context: Context.Context<never>,
    readonly pubsub: PubSub.PubSub<Transition>
  ) {
    this.transitionCounter = Metric.counter(Names.metrics.circuitBreakerTransitions, {
      description: "circuit breaker state transitions",
      incremental: true
    })
    for (const [name, policy] of policies) this.configured.set(name, this.create(name, policy, false))
  }

  /**
   * The breaker for `name`, created from the defaults on first use; undefined when the name is
   * not configured and no breaker may be created (`maxBreakers: 0`).
   */
  resolve(name: string): Breaker | undefined {
    const configured = this.configured.get(name)
    if (configured !== undefined) return configured
    const dynamic = this.dynamic.get(name)
    if (dynamic !== undefined) {
      // move to the most recently used end
      this.dynamic.delete(name)
      this.dynamic.set(name, dynamic)
      return dynamic
    }
    if (this.maxDynamic === 0) return undefined
    if (this.dynamic.size >= this.maxDynamic) {
      const [evictedName, evicted] = this.dynamic.entries().next().value!
      this.dynamic.delete(evictedName)
      for (const remove of evicted.removeSeries) remove()
    }
    const created = this.create(name, this.defaults, true)
    this.dynamic.set(name, created)
    return created
  }

  find(name: string): Breaker | undefined {
    return this.configured.get(name) ?? this.dynamic.get(name)
  }

  /** `ProtectionNotFound` for `name`, naming the nearest breaker there is */
  notFound(name: string): ProtectionNotFound {
    return notFound(
      name,
      this.all().map((breaker) => breaker.name)
    )
  }

  /**
   * Applies a state another process published: Open until `now + remainingMs`, or Closed.
   * Published again to this process's `transitions` with `remote: true`.
   */
  applyRemote(name: string, to: "Open" | "Closed", remainingMs: number, now: number): void {
    const breaker = this.resolve(name)
    // a name this process may not have a breaker for (`maxBreakers: 0`): nothing to apply
    if (breaker === undefined) return
    const circuit = breaker.circuit
    const from = circuit.state
    if (to === "Open") {
      if (from === Circuit.OPEN && Math.abs(circuit.reopenAt - (now + remainingMs)) < 5) return
      Circuit.toOpen(circuit, now, breaker.policy.core, circuit.attempt)
      circuit.reopenAt = now + Math.max(0, remainingMs)
    } else {
      if (from === Circuit.CLOSED) return
      Circuit.reset(circuit)
    }
    this.transition(breaker, from, circuit.state, now, true)
  }

  all(): Array<Breaker> {
    return [...this.configured.values(), ...this.dynamic.values()]
  }

  close(): void {
    for (const breaker of this.all()) for (const remove of breaker.removeSeries) remove()
  }

  /** set by a shared-state layer; undefined for a process-local breaker */
  leases: ProbeLeases | undefined = undefined
  /** set by a shared-state layer: called on every local transition to Open or Closed */
  onShare: ((breaker: Breaker) => void) | undefined = undefined

  /** publishes what one `Circuit.admit` did: one transition, or HalfOpen -> Open -> HalfOpen */
  admitted(breaker: Breaker, from: Circuit.StateCode, generationBefore: number, now: number): void {
    const to = breaker.circuit.state
    if (breaker.circuit.generation - generationBefore === 2) {
      this.transition(breaker, from, Circuit.OPEN, now)
      this.transition(breaker, Circuit.OPEN, to, now)
    } else {
      this.transition(breaker, from, to, now)
    }
  }

  transition(breaker: Breaker, from: Circuit.StateCode, to: Circuit.StateCode, at: number, remote = false): void {
    if (!remote && to !== Circuit.HALF_OPEN && this.onShare !== undefined) this.onShare(breaker)
    const event: Transition = {
      breaker: breaker.name,
      from: Circuit.stateNames[from]!,
      to: Circuit.stateNames[to]!,
      at,
      ...(remote ? { remote: true } : {})
    }
    Metric.withAttributes(this.transitionCounter, { breaker: breaker.name, from: event.from, to: event.to }).updateUnsafe(1, this.context)
    PubSub.publishUnsafe(this.pubsub, event)
  }

  private create(name: string, policy: NormalizedPolicy, dynamic: boolean): Breaker {
    const breaker = new Breaker(name, policy, dynamic)
    const circuit = breaker.circuit
    const calls = Names.metrics.circuitBreakerCalls
    const description = "calls through the circuit breaker, by outcome"
    breaker.removeSeries.push(
      registerCounter(this.context, calls, description, { breaker: name, outcome: "success" }, () => circuit.successes),
      registerCounter(this.context, calls, description, { breaker: name, outcome: "failure" }, () => circuit.failures),
      registerCounter(this.context, calls, description, { breaker: name, outcome: "rejected" }, () => circuit.rejected),
      registerGauge(
        this.context,
        Names.metrics.circuitBreakerState,
        "circuit breaker state: 0 closed, 1 half-open, 2 open",
        { breaker: name },
        () => (circuit.state === Circuit.OPEN ? 2 : circuit.state === Circuit.HALF_OPEN ? 1 : 0)
      )
    )
    return breaker
  }
}

/** A permit under a slow-call policy also carries when the call started. */
interface TimedPermit {
  readonly generation: number
  readonly startedAt: number
}
type Permit = number | TimedPermit

/**
 * Connects one protected effect to a breaker. The breaker is resolved when the effect runs,
 * not when it is built, so a protected effect value can be built once and run many times.
 * `current` is scratch space between `admit` and `wrap` (called back to back, synchronously);
 * a name resolves to the same breaker until it is evicted, so concurrent runs of one effect
 * value agree on it.
 */
export class BreakerGuard implements Guard<Permit, CircuitBreakerOpen | ProtectionNotFound> {
  current: Breaker | undefined = undefined

  constructor(
    readonly registry: Registry,
    readonly name: string
  ) {}

  admit(fiber: Fiber.Fiber<unknown, unknown>): Permit | Effect.Effect<never, CircuitBreakerOpen | ProtectionNotFound> {
    const breaker = this.registry.resolve(this.name)
    if (breaker === undefined) return Effect.fail(this.registry.notFound(this.name))
    this.current = breaker
    const circuit = breaker.circuit
    const timed = breaker.policy.core.slowCallDurationMs !== undefined
    // Closed needs no clock unless calls are timed: the common case costs a few field reads
    if (circuit.state === Circuit.CLOSED && !timed) return circuit.generation
    const now = nowOf(fiber)
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
      makeOpen({
        breaker: breaker.name,
        state: circuit.state === Circuit.OPEN ? "Open" : "HalfOpen",
        retryAfter: Duration.millis(Circuit.retryAfter(circuit, now, breaker.policy.core))
      })
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
          return Effect.fail(
            makeOpen({
              breaker: breaker.name,
              state: "HalfOpen",
              retryAfter: Duration.millis(Circuit.retryAfter(circuit, now, breaker.policy.core))
            })
          )
        }
        // "unavailable": Redis is down or slow; the local breaker decides alone (reported by the layer)
        const probe = new PreAdmittedGuard(this.registry, breaker, permit, restore)
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
    const breaker = this.current!
    const circuit = breaker.circuit
    if (!breaker.recordNeedsTime && circuit.state === Circuit.CLOSED && permit === circuit.generation) {
      circuit.successes++
      circuit.consecutiveFailures = 0
      return
    }
    this.complete(breaker, permit, false, fiber)
  }

  onFailure(permit: Permit, cause: Cause.Cause<unknown>, fiber: Fiber.Fiber<unknown, unknown>): void {
    const breaker = this.current!
    if (Cause.hasInterruptsOnly(cause) || isIgnored(cause)) {
      // interruption (or an outcome the caller marked as ignored) is neither a success nor a
      // failure; a probe gives its slot back
      Circuit.release(breaker.circuit, typeof permit === "number" ? permit : permit.generation)
      return
    }
    this.complete(breaker, permit, isFailureOf(breaker, cause), fiber)
  }

  private complete(breaker: Breaker, permit: Permit, failed: boolean, fiber: Fiber.Fiber<unknown, unknown>): void {
    const circuit = breaker.circuit
    const now = nowOf(fiber)
    const from = circuit.state
    const generation = circuit.generation
    const slowMs = breaker.policy.core.slowCallDurationMs
    const slow = slowMs !== undefined && typeof permit !== "number" && now - permit.startedAt >= slowMs
    Circuit.record(circuit, typeof permit === "number" ? permit : permit.generation, failed, slow, now, breaker.policy.core)
    if (circuit.generation !== generation) this.registry.transition(breaker, from, circuit.state, now)
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
