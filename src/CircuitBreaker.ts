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
 * least recently used evicted first; with `maxBreakers: 0` any other name fails
 * `ProtectionNotFound`, suggesting the nearest one. Trip rules (any opens the circuit): consecutive
 * failures, `failureThreshold` failures within `monitorWindow`, a failure rate and a slow-call
 * rate over a window of calls or of time. Operators can `trip`, `reset`, `isolate`,
 * `setMode` and `configure` a breaker at run time. See `docs/circuit-breaker.md`.
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
import type { Scope, Stream } from "effect"
import { Context, Effect, Layer } from "effect"
import type { CircuitBreakerOpen, InvalidConfig, OperationTimeout, ProtectionNotFound } from "./Errors.js"
import type { PolicyWithCode } from "./internal/circuitBreaker/options.js"
import { OptionsSchema as OptionsSchemaStruct } from "./internal/circuitBreaker/options.js"
import { PolicySchema as PolicySchemaStruct } from "./internal/circuitBreaker/policy.js"
import type { Transition as TransitionEvent } from "./internal/circuitBreaker/registry.js"
import type { BreakerStatus as StatusModel } from "./internal/circuitBreaker/status.js"
import type * as Circuit from "./internal/circuitBreaker/circuit.js"
import { makeProtect } from "./internal/circuitBreaker/protect.js"
import { makeService, registryOf as registryOfService } from "./internal/circuitBreaker/service.js"

/**
 * The Schema of one breaker's policy, data only: each field with its constraint and default
 * (see `BreakerPolicy`), the rules between fields as checks. `layer`, the configuration file
 * and `Foundation` decode through it.
 *
 * **Example** (The defaults a policy decodes to)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const policy = Schema.decodeUnknownSync(CircuitBreaker.PolicySchema)({ failureThreshold: 3 })
 * // policy.halfOpenMaxCalls => 1
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const PolicySchema = PolicySchemaStruct

/**
 * A breaker's policy: `PolicySchema`'s fields plus the code part, `isFailure`. Every field is
 * optional; with none, the breaker opens after 5 consecutive failures and stays open 30 s.
 *
 * - `failureThreshold`: failures that open the circuit: consecutive ones, or, with
 *   `monitorWindow`, within that window. Default 5 when no rate rule is given.
 * - `failureRateThreshold` (0..1]: open when this share of the last `slidingWindowSize` calls
 *   (default max(100, `minimumCalls`)) failed, once at least `minimumCalls` (default 10) ran.
 * - `slidingWindowDuration` (instead of `slidingWindowSize`): the rate rules look back over
 *   this time, in `slidingWindowBuckets` (default 10) buckets, so old calls leave the window;
 *   `minimumCalls` is then the minimum throughput within it.
 * - `slowCallDuration` + `slowCallRateThreshold` (together or not at all): open when this
 *   share of recent calls took at least `slowCallDuration` (a slow success counts as slow).
 * - `resetTimeout` (default 30 s): time Open before the next call becomes a probe.
 * - `backoff: { factor >= 1, max >= resetTimeout }`: each failed probe multiplies the next
 *   reset timeout by `factor`, up to `max`; a successful probe brings it back.
 * - `halfOpenMaxCalls` (default 1): the probes HalfOpen admits; once all returned it reopens if
 *   their failure rate reaches `failureRateThreshold` (no rate rule: any failure) or their
 *   slow-call rate `slowCallRateThreshold`, else closes (early reopen once certain).
 * - `callTimeout`: a longer call is interrupted, fails `OperationTimeout` and counts as a failure.
 * - `maxWaitInHalfOpen` (default 60 s, or `callTimeout` when longer; must be >= `callTimeout`):
 *   how long probes may hold HalfOpen; a probe still running then is lost, the circuit reopens
 *   (with backoff) and its late result is ignored, so a hung probe cannot block for good.
 * - `isFailure(cause)` (code, not in the Schema): which failures count (default: every failure
 *   and defect); one it rejects counts as a success. Interruption never counts.
 * - `critical` (default false): with a `HealthAggregator`, an open breaker makes the system
 *   unhealthy rather than degraded.
 *
 * `callTimeout` and `maxWaitInHalfOpen` bound a wait: at most 2^31 - 1 ms (about 24.8 days).
 * `resetTimeout`, `backoff.max`, `monitorWindow` and `slowCallDuration` are only compared with
 * the clock, so that bound does not apply to them.
 *
 * **Example** (A probe that hangs is given up after 10 seconds)
 *
 * ```ts
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const layer = CircuitBreaker.layer({ breakers: { payments: { resetTimeout: "30 seconds", maxWaitInHalfOpen: "10 seconds" } } })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface BreakerPolicy extends PolicyWithCode {}

/**
 * @since 0.1.0
 * @category models
 */
export type State = Circuit.StateName

/**
 * A breaker's state and counts (totals since the breaker was created), as `status` reports
 * them: `state`, `mode`, the totals, `transitions`, and when they apply `lastFailureAt`,
 * `openedAt`, `retryAfter`, the rate rules' `window` and a shared breaker's `failedShares`.
 *
 * @since 0.1.0
 * @category models
 */
export type BreakerStatus = StatusModel

/**
 * How a breaker is run (`setMode`; resilience4j's DISABLED and METRICS_ONLY): `normal` (the
 * default) follows its policy; `disabled` always admits, never changes state and records only
 * the totals; `metricsOnly` always admits and never trips but records everything, so `status`
 * shows what the policy would do. An isolation overrides the mode (`status`: `"forcedOpen"`).
 *
 * @since 0.3.0
 * @category models
 */
export type Mode = Circuit.ModeName

/**
 * The handle of one isolation (`isolate`): `release` ends it; the breaker closes when the last
 * isolation is released. Releasing twice does nothing.
 *
 * **Example** (Forcing a breaker open during maintenance)
 *
 * ```ts
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const maintenance = CircuitBreaker.CircuitBreaker.use((breakers) => breakers.isolate("payments"))
 * // ... every call to "payments" fails CircuitBreakerOpen until `yield* isolation.release`
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface Isolation {
  readonly release: Effect.Effect<void>
}

/**
 * One state change, published on `transitions`.
 *
 * @since 0.1.0
 * @category models
 */
export type Transition = TransitionEvent

/**
 * The Schema of the options, data only: `{ defaults, breakers, maxBreakers }`. `layer`, the
 * configuration file's `circuitBreaker` section and `Foundation` decode through it, strictly:
 * an unknown key fails `InvalidConfig` with its path and the nearest option's name.
 *
 * **Example** (Decoding options from JSON)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(CircuitBreaker.OptionsSchema)({ breakers: { db: {} } })
 * // options.maxBreakers => 1000
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionsSchema = OptionsSchemaStruct

/**
 * The options as written in code: `OptionsSchema`'s, each policy with its code part.
 *
 * - `defaults`: the policy of breakers created on first use of a name not in `breakers`.
 * - `breakers`: breakers by name, each with its own policy.
 * - `maxBreakers` (default 1000): how many breakers may be created from `defaults`, least
 *   recently used evicted first. `0`: none, so only the names in `breakers` exist and any other
 *   fails `ProtectionNotFound` naming the nearest configured one (a typo cannot silently get a
 *   breaker of its own).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<typeof OptionsSchema.Encoded, "defaults" | "breakers"> {
  readonly defaults?: BreakerPolicy | undefined
  readonly breakers?: Readonly<Record<string, BreakerPolicy>> | undefined
}

/**
 * The circuit breaker service.
 *
 * @since 0.1.0
 * @category services
 */
export class CircuitBreaker extends Context.Service<
  CircuitBreaker,
  {
    /** protects `self` with the breaker `breaker` (errors as for `protect`) */
    readonly execute: (breaker: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BreakerError, R>
    /** fails `ProtectionNotFound` (naming the nearest breaker) when `breaker` has none */
    readonly status: (breaker: string) => Effect.Effect<BreakerStatus, ProtectionNotFound>
    /**
     * forces Closed, forgetting counts and backoff (no event when already Closed); does nothing
     * while the breaker is isolated (only releasing the isolations ends that); fails
     * `ProtectionNotFound` as `status` does
     */
    readonly reset: (breaker: string) => Effect.Effect<void, ProtectionNotFound>
    /**
     * forces Open for one reset timeout from now (then the next call probes; to stay open, use
     * `isolate`): the base `resetTimeout` from Closed or HalfOpen; on an Open breaker the current
     * backed-off timeout, restarted, with no event. Does nothing while isolated or `disabled` /
     * `metricsOnly`. Creates the breaker from defaults if needed; fails `ProtectionNotFound` only
     * with `maxBreakers: 0` and a name not in `breakers`
     */
    readonly trip: (breaker: string) => Effect.Effect<void, ProtectionNotFound>
    /**
     * forces Open (infinite `retryAfter`, no probe) until the handle is released (cockatiel
     * `isolate()`); isolations nest, the last release closes it. Not found as for `trip`
     */
    readonly isolate: (breaker: string) => Effect.Effect<Isolation, ProtectionNotFound>
    /**
     * sets the breaker's mode (see `Mode`); a change starts it Closed with clean counts. Not
     * found as for `trip`
     */
    readonly setMode: (breaker: string, mode: Mode) => Effect.Effect<void, ProtectionNotFound>
    /** a new policy for `breaker` at run time; see `configure` */
    readonly configure: (breaker: string, policy: BreakerPolicy) => Effect.Effect<void, InvalidConfig>
    readonly names: Effect.Effect<ReadonlyArray<string>>
    /** every transition of every breaker, from subscription on */
    readonly transitions: Stream.Stream<Transition>
  }
>()("effect-foundation/CircuitBreaker") {}

/**
 * Builds the circuit breakers. The options are decoded through `OptionsSchema` (the code part
 * checked beside it), strictly: a bad or unknown option fails `InvalidConfig` whose `path`
 * names the first (`breakers.payments.failureThreshold`) and whose message lists every one as
 * `path: message`, an unknown key with the nearest option's name. The configuration file's
 * `circuitBreaker` section reads the same, each path under `circuitBreaker.`.
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
export const layer = (options: Options = {}): Layer.Layer<CircuitBreaker, InvalidConfig> => Layer.effect(CircuitBreaker, make(options))

/**
 * Builds the service in the current scope (what `layer` does); useful inside other layers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<CircuitBreaker["Service"], InvalidConfig, Scope.Scope> =>
  Effect.map(makeService(options), CircuitBreaker.of)

/** @internal the registry behind a service built by `make` (undefined for other implementations) */
export const registryOf = registryOfService

/**
 * Gives a breaker a new policy at run time (the service's `configure`).
 *
 * **Details**
 *
 * Decoded as `layer` decodes one of `breakers`: a bad policy fails `InvalidConfig` (paths under
 * `breakers.<name>.`) and changes nothing. A name not in `breakers` becomes a configured breaker
 * (created if needed, never evicted). Kept: the state (an Open breaker keeps its reopening time),
 * mode, isolations, backoff, totals and probes (the new `halfOpenMaxCalls` decides them); the trip
 * rules' counts where the window is of the same kind (a count window keeps its most recent calls
 * up to the new size; a time window only with the same duration and buckets). A change of window
 * kind, duration or buckets starts an empty window. The new rules apply from the next recorded
 * call: configuring never trips. See `docs/circuit-breaker.md`.
 *
 * **Example** (Tightening a breaker during an incident)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const tighten = CircuitBreaker.configure("payments", { failureRateThreshold: 0.2, minimumCalls: 20 })
 * const program = tighten.pipe(Effect.provide(CircuitBreaker.layer({ breakers: { payments: {} } })))
 * ```
 *
 * @since 0.3.0
 * @category operations
 */
export const configure = (breaker: string, policy: BreakerPolicy): Effect.Effect<void, InvalidConfig, CircuitBreaker> =>
  CircuitBreaker.use((service) => service.configure(breaker, policy))

/**
 * What a protected call can fail with besides its own errors. A type cannot know the policy,
 * so it names all three: `CircuitBreakerOpen` (rejected without running), `OperationTimeout`
 * (only when the breaker's policy has a `callTimeout`), `ProtectionNotFound` (only with
 * `maxBreakers: 0` and a name not in `breakers`).
 *
 * @since 0.2.0
 * @category models
 */
export type BreakerError = CircuitBreakerOpen | OperationTimeout | ProtectionNotFound

/**
 * The options of one protected call (`protect`).
 *
 * - `ignore(error)`: errors that say nothing about the dependency (your own pool or bulkhead
 *   being full, say). A call that fails with errors it accepts, and nothing else but
 *   interruptions, is neither a success nor a failure of the breaker: nothing is recorded and
 *   a probe gives its slot back. Asked only when a call fails; a defect is never ignored, nor
 *   is an error when `ignore` throws.
 *
 * @since 0.3.0
 * @category models
 */
export interface ProtectOptions<E = unknown> {
  readonly ignore?: ((error: E) => boolean) | undefined
}

/**
 * Protects an effect with the named breaker of the `CircuitBreaker` in context.
 *
 * **Details**
 *
 * The breaker is looked up when the effect runs, so a protected effect can be built once and
 * run many times. A rejected call fails `CircuitBreakerOpen` (with `retryAfter`) without
 * running the effect. The other errors depend on options no type can see:
 * `OperationTimeout` happens only when the policy has a `callTimeout`, and
 * `ProtectionNotFound` only with `maxBreakers: 0` for a name not in `breakers` (its message
 * names the nearest configured breaker). With `maxBreakers` above 0 an unlisted name gets a
 * breaker from `defaults`, so it never fails `ProtectionNotFound`. `options.ignore` (see
 * `ProtectOptions`) names errors that count neither way; invalid options (an unknown key) are
 * a defect, `InvalidConfig`. A service that is not `make`'s (a test double) gets no options.
 *
 * **Example** (Data-last, data-first, and ignoring our own capacity errors)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-foundation"
 *
 * const a = Effect.succeed(1).pipe(CircuitBreaker.protect("db"))
 * const b = CircuitBreaker.protect(Effect.succeed(1), "db")
 * const ownCapacity = (error: unknown) => (error as { code?: string }).code === "bulkhead_full"
 * const c = Effect.fail({ code: "bulkhead_full" }).pipe(CircuitBreaker.protect("db", { ignore: ownCapacity }))
 * // c fails with the same error, and the "db" breaker records nothing
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const protect: {
  (
    breaker: string,
    options?: ProtectOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BreakerError, R | CircuitBreaker>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    breaker: string,
    options?: ProtectOptions<E>
  ): Effect.Effect<A, E | BreakerError, R | CircuitBreaker>
} = makeProtect(CircuitBreaker) as typeof protect
