/**
 * The effectful shell's state for `CircuitBreaker`: the named breakers, their policies and
 * metric series, and how transitions are published. The per-call guard is in `guard.ts`.
 */
import type { Context, PubSub as PubSubType } from "effect"
import { Duration, Effect, Metric, PubSub } from "effect"
import type { ProtectionNotFound } from "../../Errors.js"
import { OperationTimeout } from "../../Errors.js"
import * as Names from "../../Telemetry.js"
import { notFound } from "./options.js"
import type { NormalizedPolicy } from "./policy.js"
import * as Circuit from "./circuit.js"
import * as Operator from "./operator.js"
import { reconfigure } from "./reconfigure.js"
import { registerCounter, registerGauge } from "../runtime/observableMetric.js"

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
  recordNeedsTime = false
  readonly removeSeries: Array<() => void> = []
  /** shared breakers: local transitions this process could not publish (Redis failed or timed out) */
  failedShares = 0
  /** state changes since the breaker was created */
  transitions = 0
  timeout: (<A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | OperationTimeout, R>) | undefined = undefined

  constructor(
    readonly name: string,
    public policy: NormalizedPolicy,
    public dynamic: boolean
  ) {
    this.circuit = Circuit.make(policy.core)
    this.setPolicy(policy)
  }

  /** the policy and what is precomputed from it (the circuit's statistics are `reconfigure`'s) */
  setPolicy(policy: NormalizedPolicy): void {
    this.policy = policy
    this.recordNeedsTime = Circuit.needsTimeToRecord(policy.core) || Circuit.hasRateRule(policy.core)
    const callTimeoutMs = policy.callTimeoutMs
    if (callTimeoutMs === undefined) {
      this.timeout = undefined
    } else {
      const duration = Duration.millis(callTimeoutMs)
      const timedOut = Effect.fail(new OperationTimeout({ operation: this.name, timeout: duration }))
      const options = { duration, orElse: () => timedOut }
      this.timeout = (self) => Effect.timeoutOrElse(self, options)
    }
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
    readonly pubsub: PubSubType.PubSub<Transition>
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
      // the least recently used breaker that is not isolated (an operator's isolation must
      // last until released); all of them isolated: the least recently used anyway
      let evicted = this.dynamic.values().next().value!
      for (const candidate of this.dynamic.values()) {
        if (candidate.circuit.isolations === 0) {
          evicted = candidate
          break
        }
      }
      this.dynamic.delete(evicted.name)
      for (const remove of evicted.removeSeries) remove()
    }
    const created = this.create(name, this.defaults, true)
    this.dynamic.set(name, created)
    return created
  }

  /**
   * Gives breaker `name` a new policy (see `reconfigure.ts` for what is kept). A name not in
   * `breakers` becomes a configured breaker: created if it does not exist, no longer evicted.
   */
  configure(name: string, policy: NormalizedPolicy, now: number): void {
    let breaker = this.configured.get(name)
    if (breaker === undefined) {
      breaker = this.dynamic.get(name)
      if (breaker !== undefined) {
        this.dynamic.delete(name)
        breaker.dynamic = false
      } else {
        breaker = this.create(name, policy, false)
      }
      this.configured.set(name, breaker)
    }
    const from = breaker.circuit.state
    const before = breaker.policy.core
    breaker.setPolicy(policy)
    if (reconfigure(breaker.circuit, before, policy.core, now)) this.transition(breaker, from, breaker.circuit.state, now)
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
    // an operator's choice in this process wins: forced open, disabled, metrics-only
    if (circuit.isolations > 0 || circuit.mode !== Circuit.NORMAL) return
    const from = circuit.state
    if (to === "Open") {
      if (from === Circuit.OPEN && Math.abs(circuit.reopenAt - (now + remainingMs)) < 5) return
      Circuit.toOpen(circuit, now, breaker.policy.core, circuit.attempt)
      circuit.reopenAt = now + Math.max(0, remainingMs)
    } else {
      if (from === Circuit.CLOSED) return
      Operator.reset(circuit)
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

  /**
   * Publishes a state change: one event, one count in the transitions metric, one log line.
   * `from === to` (a `reset` of a Closed breaker, a `trip` of an Open one) is not a change:
   * nothing is published, but a shared breaker still shares its state (a `trip` of an Open
   * breaker moves its reopening time).
   */
  transition(breaker: Breaker, from: Circuit.StateCode, to: Circuit.StateCode, at: number, remote = false): void {
    if (!remote && to !== Circuit.HALF_OPEN && this.onShare !== undefined) this.onShare(breaker)
    if (from === to) return
    breaker.transitions++
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
