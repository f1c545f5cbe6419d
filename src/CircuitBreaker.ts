/**
 * Circuit breakers: stop calling a dependency that keeps failing, give it time to recover,
 * and probe it before letting traffic through again.
 *
 * **When to use**
 *
 * Put a breaker in front of every call to something that can fail slowly or for a while (a
 * database, a payment API, a host). While it is open, calls fail at once with
 * `CircuitBreakerOpen` instead of piling up behind a dead dependency.
 *
 * **Details**
 *
 * Breakers are keyed by name. Names listed in `breakers` use their own policy; any other name
 * gets a breaker from `defaults` on first use (per-host breakers), up to `maxBreakers` of them,
 * least recently used evicted first. Trip rules (any of which opens the circuit): consecutive
 * failures, `failureThreshold` failures within `monitorWindow`, a failure rate over the last
 * `slidingWindowSize` calls, and a slow-call rate. See `docs/circuit-breaker.md`.
 *
 * Each call runs through effect's public `onExit` machinery. Setting the environment variable
 * `EFFECT_FOUNDATION_GUARDED_CALL=fast` uses a run-loop frame that behaves the same and costs
 * about 100 ns less per call; it is checked against the public path on first use, which wins
 * (with one warning) if they ever differ.
 *
 * **Example** (Protecting a call)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const charge = Effect.succeed("charged").pipe(CircuitBreaker.protect("payments"))
 *
 * const program = charge.pipe(
 *   Effect.catchTag("CircuitBreakerOpen", (error) => Effect.succeed(`later: ${error.message}`)),
 *   Effect.provide(CircuitBreaker.layer({
 *     breakers: { payments: { failureThreshold: 5, resetTimeout: "30 seconds" } }
 *   }))
 * )
 * // Effect.runPromise(program) // => "charged"
 * ```
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, PubSub, Stream } from "effect"
import { dual } from "effect/Function"
import type { CircuitBreakerOpen, InvalidConfig, OperationTimeout } from "./Errors.js"
import { ProtectionNotFound } from "./Errors.js"
import type { BreakerPolicyInput, NormalizedPolicy } from "./internal/circuitBreaker/policy.js"
import { normalize } from "./internal/circuitBreaker/policy.js"
import type { Breaker } from "./internal/circuitBreaker/registry.js"
import { BreakerGuard, Registry, serviceFrom } from "./internal/circuitBreaker/registry.js"
import type { Transition as TransitionEvent } from "./internal/circuitBreaker/registry.js"
import * as Circuit from "./internal/circuitBreaker/circuit.js"
import { healthComponents } from "./internal/circuitBreaker/health.js"
import { HealthComponents } from "./internal/runtime/healthComponents.js"
import { guarded } from "./internal/runtime/guardedCall.js"
import { Violations } from "./internal/runtime/validate.js"

/**
 * A breaker's policy. Every field is optional; with none, the breaker opens after 5
 * consecutive failures and stays open 30 seconds.
 *
 * - `failureThreshold`: failures that open the circuit: consecutive ones, or, with
 *   `monitorWindow`, within that window (Fuse's `{n, window}`). Default 5 when no rate rule
 *   is given.
 * - `failureRateThreshold` (0..1]: open when this share of the last `slidingWindowSize` calls
 *   (default 100) failed, once at least `minimumCalls` (default 10) were made.
 * - `slowCallDuration` + `slowCallRateThreshold`: open when this share of recent calls took
 *   at least `slowCallDuration` (a slow success still counts as slow).
 * - `resetTimeout` (default 30s): time Open before the next call becomes a probe.
 * - `backoff: { factor, max }`: each failed probe multiplies the next reset timeout by
 *   `factor`, up to `max`; a successful probe brings it back to `resetTimeout`.
 * - `halfOpenMaxCalls` (default 1): concurrent probes admitted in HalfOpen.
 * - `callTimeout`: a call running longer is interrupted, fails `OperationTimeout`, and counts
 *   as a failure. At most 2^31 - 1 ms (about 24.8 days), the longest a timer can wait.
 * - `maxWaitInHalfOpen` (default 60 s, or `callTimeout` when longer): how long probes may hold
 *   HalfOpen. A probe still running after it is counted as lost: the circuit reopens as of that
 *   moment (with backoff, like a failed probe) and the probe's late result is ignored. Without
 *   it, a probe that never returns (no `callTimeout`, a hung socket) would keep the breaker
 *   HalfOpen, rejecting every call, for good (resilience4j's `maxWaitDurationInHalfOpenState`).
 *   The default is longer than any sane call, so a slow probe is not cut short, and short
 *   enough that a lost probe costs about a minute. It must be >= `callTimeout` and at most
 *   2^31 - 1 ms. No timer is armed: the first call or result after the wait decides.
 * - `isFailure(cause)`: which failures count (default: every failure and defect). A failure it
 *   rejects counts as a success: the dependency answered. Interruption never counts.
 * - `critical`: when a `HealthAggregator` is present, an open breaker makes the system
 *   unhealthy rather than degraded.
 *
 * `resetTimeout`, `backoff.max`, `monitorWindow` and `slowCallDuration` are only compared with
 * the clock (no timer is armed), so the timer bound does not apply to them.
 *
 * **Example** (A probe that hangs is given up after 10 seconds)
 *
 * ```ts
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const layer = CircuitBreaker.layer({
 *   breakers: { payments: { failureThreshold: 5, resetTimeout: "30 seconds", maxWaitInHalfOpen: "10 seconds" } }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface BreakerPolicy extends BreakerPolicyInput {}

/**
 * @since 0.1.0
 * @category models
 */
export type State = Circuit.StateName

/**
 * A breaker's state and counts (totals since the breaker was created).
 *
 * @since 0.1.0
 * @category models
 */
export interface BreakerStatus {
  readonly breaker: string
  readonly state: State
  readonly failures: number
  readonly successes: number
  readonly rejected: number
  readonly consecutiveFailures: number
  /** epoch milliseconds when it last opened (Open and HalfOpen only) */
  readonly openedAt?: number
  /** time until the next probe may run (Open only; zero once due: the next call probes) */
  readonly retryAfter?: Duration.Duration
  /**
   * Shared breakers (`CircuitBreakerRedis`) only: this breaker's local transitions that could
   * not be published to the other processes (Redis failed or did not answer in time). Each is
   * also logged as a warning.
   */
  readonly failedShares?: number
}

/**
 * One state change, published on `transitions`.
 *
 * @since 0.1.0
 * @category models
 */
export type Transition = TransitionEvent

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** the policy of breakers created on first use of an unlisted name */
  readonly defaults?: BreakerPolicy
  readonly breakers?: Readonly<Record<string, BreakerPolicy>>
  /** cap on breakers created from `defaults` (default 1000); least recently used evicted first */
  readonly maxBreakers?: number
}

/**
 * The circuit breaker service.
 *
 * @since 0.1.0
 * @category services
 */
export class CircuitBreaker extends Context.Service<CircuitBreaker, {
  /** protects `self` with the breaker `breaker` */
  readonly execute: (
    breaker: string
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitBreakerOpen | OperationTimeout, R>
  readonly state: (breaker: string) => Effect.Effect<BreakerStatus, ProtectionNotFound>
  /** forces Closed, forgetting counts and backoff */
  readonly reset: (breaker: string) => Effect.Effect<void, ProtectionNotFound>
  /** forces Open for one reset timeout (creating the breaker from defaults if needed) */
  readonly trip: (breaker: string) => Effect.Effect<void>
  readonly names: Effect.Effect<ReadonlyArray<string>>
  /** every transition of every breaker, from subscription on */
  readonly transitions: Stream.Stream<Transition>
}>()("effect-foundation/CircuitBreaker") {}

/**
 * Builds the circuit breakers. Fails with `InvalidConfig` naming the breaker and field when a
 * policy is invalid (zero or negative thresholds or durations, rates outside (0, 1], NaN).
 *
 * **Example** (Per-host breakers from defaults)
 *
 * ```ts
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const layer = CircuitBreaker.layer({
 *   defaults: { failureRateThreshold: 0.5, minimumCalls: 20, resetTimeout: "10 seconds" },
 *   breakers: { payments: { failureThreshold: 3, backoff: { factor: 2, max: "5 minutes" } } },
 *   maxBreakers: 500
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<CircuitBreaker, InvalidConfig> =>
  Layer.effect(CircuitBreaker, make(options))

/**
 * Builds the service in the current scope (what `layer` does); useful inside other layers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options = {}) {
  const violations = new Violations()
  const defaults = normalize(options.defaults, "defaults", violations)
  const policies = new Map<string, NormalizedPolicy>()
  for (const [name, policy] of Object.entries(options.breakers ?? {})) {
    if (name.length === 0) violations.add("breakers", "names must be non-empty")
    const normalized = normalize(policy, `breakers.${name}`, violations)
    if (normalized !== undefined) policies.set(name, normalized)
  }
  const maxBreakers = violations.integer("maxBreakers", options.maxBreakers, 1) ?? 1000
  const invalid = violations.toError()
  if (invalid !== undefined) return yield* invalid

  const context = yield* Effect.context<never>()
  const pubsub = yield* PubSub.unbounded<Transition>()
  const registry = new Registry(defaults!, policies, maxBreakers, context, pubsub)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      registry.close()
      // do not keep a closed service's context alive through the protect cache
      if (lastService !== undefined && registryOf(lastService) === registry) {
        lastService = undefined
        lastContext = undefined
      }
    }).pipe(Effect.andThen(PubSub.shutdown(pubsub)))
  )

  yield* Stream.fromPubSub(pubsub).pipe(
    Stream.runForEach((t) =>
      Effect.logInfo(`circuit breaker "${t.breaker}": ${t.from} -> ${t.to}`).pipe(
        Effect.annotateLogs({ breaker: t.breaker, from: t.from, to: t.to })
      )
    ),
    Effect.forkScoped({ startImmediately: true })
  )
  yield* registerHealth(registry)

  const statusOf = (breaker: Breaker, now: number): BreakerStatus => {
    const c = breaker.circuit
    const open = c.state !== Circuit.CLOSED
    return {
      breaker: breaker.name,
      state: Circuit.stateNames[c.state]!,
      failures: c.failures,
      successes: c.successes,
      rejected: c.rejected,
      consecutiveFailures: c.consecutiveFailures,
      ...(open ? { openedAt: c.openedAt } : {}),
      ...(c.state === Circuit.OPEN ? { retryAfter: Duration.millis(Math.max(0, c.reopenAt - now)) } : {}),
      ...(registry.leases !== undefined ? { failedShares: breaker.failedShares } : {})
    }
  }
  const find = (name: string) =>
    Effect.suspend(() => {
      const breaker = registry.find(name)
      return breaker === undefined
        ? Effect.fail(new ProtectionNotFound({ kind: "circuit_breaker", protection: name }))
        : Effect.succeed(breaker)
    })
  return CircuitBreaker.of(withRegistry(registry, {
    execute: (breaker: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
      guarded(self, guardFor(registry, breaker, self)) as Effect.Effect<
        A,
        E | CircuitBreakerOpen | OperationTimeout,
        R
      >,
    state: (name: string) =>
      Effect.flatMap(find(name), (breaker) => Effect.map(Clock.currentTimeMillis, (now) => statusOf(breaker, now))),
    reset: (name: string) =>
      Effect.flatMap(find(name), (breaker) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            const from = breaker.circuit.state
            Circuit.reset(breaker.circuit)
            registry.transition(breaker, from, Circuit.CLOSED, now)
          }))),
    trip: (name: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const breaker = registry.resolve(name)
          const from = breaker.circuit.state
          Circuit.trip(breaker.circuit, now, breaker.policy.core)
          registry.transition(breaker, from, Circuit.OPEN, now)
        })),
    names: Effect.sync(() => registry.all().map((b) => b.name)),
    transitions: Stream.fromPubSub(pubsub)
  }))
})

// The service value carries its registry under a private symbol, so `protect` can reach the
// breakers without a lookup per call and tell our service from a test double.
const registryKey = Symbol.for("effect-foundation/CircuitBreaker/registry")
const withRegistry = <S extends object>(registry: Registry, service: S): S =>
  Object.defineProperty(service, registryKey, { value: registry, enumerable: false })

/** @internal the registry behind a service built by `make` (undefined for other implementations) */
export const registryOf = (service: CircuitBreaker["Service"]): Registry | undefined =>
  (service as unknown as Record<symbol, Registry | undefined>)[registryKey]

// The last context a protected call ran in, and its registry: a fiber's context changes rarely,
// so most calls skip the lookup.
let lastContext: unknown = undefined
let lastService: CircuitBreaker["Service"] | undefined = undefined

/**
 * Protects an effect with the named breaker of the `CircuitBreaker` in context.
 *
 * **Details**
 *
 * The breaker is looked up when the effect runs, so a protected effect can be built once and
 * run many times. A rejected call fails `CircuitBreakerOpen` (with `retryAfter`) without
 * running the effect; with a `callTimeout` in the policy, a slow call fails
 * `OperationTimeout`.
 *
 * **Example** (Data-last and data-first)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const a = Effect.succeed(1).pipe(CircuitBreaker.protect("db"))
 * const b = CircuitBreaker.protect(Effect.succeed(1), "db")
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const protect: {
  (breaker: string): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | CircuitBreakerOpen | OperationTimeout, R | CircuitBreaker>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    breaker: string
  ): Effect.Effect<A, E | CircuitBreakerOpen | OperationTimeout, R | CircuitBreaker>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, breaker: string) =>
  guarded(self, new ContextGuard(breaker, self)) as Effect.Effect<
    A,
    E | CircuitBreakerOpen | OperationTimeout,
    R | CircuitBreaker
  >)

/**
 * A guard that finds the service in the running fiber's context. With our own service it
 * works as that service's `BreakerGuard`; with any other implementation (a test double
 * provided with `Layer.succeed`) the call is handed to that implementation's `execute`.
 * (One protected effect value run at the same moment under two different services would
 * share the scratch field; effects are normally run under one service.)
 */
class ContextGuard extends BreakerGuard {
  constructor(name: string, self: Effect.Effect<any, any, any>) {
    super(undefined as unknown as Registry, name)
    this.self = self
  }
  override admit(fiber: Parameters<BreakerGuard["admit"]>[0]) {
    let service = lastService
    if (fiber.context !== lastContext || service === undefined) {
      service = serviceFrom(fiber, CircuitBreaker)
      lastContext = fiber.context
      lastService = service
    }
    const registry = registryOf(service)
    if (registry === undefined) return service.execute(this.name)(this.self!) as Effect.Effect<never, any>
    ;(this as { registry: Registry }).registry = registry
    return super.admit(fiber)
  }
}

const guardFor = (registry: Registry, name: string, self: Effect.Effect<any, any, any>): BreakerGuard => {
  const guard = new BreakerGuard(registry, name)
  guard.self = self
  return guard
}

const registerHealth = Effect.fnUntraced(function*(registry: Registry) {
  const components = yield* Effect.serviceOption(HealthComponents)
  if (components._tag === "None") return
  for (const component of healthComponents(registry)) yield* components.value.register(component)
})
