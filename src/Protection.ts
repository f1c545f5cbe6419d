/**
 * The facade: one call applies every protection a policy names, in the right order.
 *
 * **Details**
 *
 * Order, outermost first: rate limit -> memory guard -> circuit breaker -> pool checkout ->
 * timeout -> the effect. A rejection at one stage never reaches the next: a rate-limited call
 * is not a breaker failure, no pool checkout happens while the breaker is open, and a pool
 * checkout timeout is not a breaker failure (our pool being busy says nothing about the
 * dependency) unless `poolTimeoutIsFailure` says so. For a policy written as a literal, the
 * error type is exactly the union of what the chosen stages can produce, so `Effect.catchTag`
 * is checked; a policy whose type leaves a stage open (an `Protection.Policy` variable)
 * counts that stage in, errors and services alike (see `PolicyError`).
 *
 * Each protected call gets one span, `foundation.protect` (not one per stage), with the
 * profile and stages as attributes and, on rejection, `error.type` = the error's `code`, and
 * one `foundation.protection.duration` observation {profile, outcome}.
 *
 * **Example** (A protected call)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Protection } from "effect-foundation"
 *
 * const getUser = (id: string) =>
 *   Effect.succeed({ id }).pipe(
 *     Protection.protect({
 *       rateLimit: { rule: "api", key: id },
 *       circuitBreaker: "users",
 *       timeout: "2 seconds"
 *     }),
 *     Effect.catchTag("RateLimited", (e) => Effect.fail(`slow down: ${e.retryAfter}`))
 *   )
 * ```
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Context, Effect, Layer } from "effect"
import { dual } from "effect/Function"
import type * as Bulkhead from "./Bulkhead.js"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as Config from "./Config.js"
import type {
  BulkheadFull,
  CircuitBreakerOpen,
  MemoryPressure,
  OperationTimeout,
  PoolCheckoutTimeout,
  PoolExhausted,
  ProtectionError,
  RateLimited,
  StoreUnavailable
} from "./Errors.js"
import { InvalidConfig, ProtectionNotFound } from "./Errors.js"
import { makeProfiles } from "./internal/protection/profiles.js"
import type { PolicyInput } from "./internal/protection/stages.js"
import * as Stages from "./internal/protection/stages.js"
import { timeoutStage } from "./internal/protection/timeout.js"
import * as MemoryManager from "./MemoryManager.js"
import * as PerformanceMonitor from "./PerformanceMonitor.js"
import type * as Pool from "./Pool.js"
import * as RateLimiter from "./RateLimiter.js"

/**
 * Which stages to apply. Every field is optional.
 *
 * - `rateLimit: { rule, key, cost? }`: the `RateLimiter` rule and the caller's key.
 * - `memory: true`: shed load under memory or event-loop pressure (`MemoryManager.guard`).
 * - `circuitBreaker: name`: the `CircuitBreaker` to go through.
 * - `bulkhead: name`: the `Bulkhead` to go through, inside the breaker and outside the pool
 *   (a full bulkhead, like a busy pool, is not a breaker failure).
 * - `checkoutTimeout`: with `protectWith`, how long this call waits for a pool resource
 *   (default: the pool's `checkoutTimeout`); `protect` fails `InvalidConfig` with it.
 * - `timeout`: interrupt the effect after this long; it fails `OperationTimeout`.
 * - `monitor: { service, operation }`: record the effect's latency and outcome in the
 *   `PerformanceMonitor` (the dependency call itself: rejections are not latencies).
 * - `poolTimeoutIsFailure`: count a pool checkout timeout as a breaker failure (default false).
 * - `profile`: the name on the span and histogram (default: the breaker or rule name).
 * - `telemetry: false`: no span or histogram for this call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy extends PolicyInput {}

/**
 * Whether a policy of type `P` may run stage `K`: `P` has the key and its value type is more
 * than `undefined` (or `false`, for `memory`). A literal `{ circuitBreaker: "db" }` has no
 * `rateLimit` key, so no rate limit; `Policy` itself, where every field is optional, may run
 * every stage.
 */
type Names<P, K extends keyof PolicyInput> = K extends keyof P ? ([Exclude<P[K], undefined | false>] extends [never] ? false : true) : false

/**
 * The errors a policy's stages can produce.
 *
 * **Details**
 *
 * A stage counts when the policy's type may name it: for a literal (what `protect` infers with
 * `const P`) that is exactly the stages written; for a type that leaves a stage open (the
 * `Policy` interface, a function returning `Policy`, `circuitBreaker: string | undefined`) the
 * stage counts too, since the value may name it at run time. Unions are taken member by member.
 *
 * - `rateLimit`: `RateLimited | StoreUnavailable` (a fail-closed rule whose store is down)
 * - `memory`: `MemoryPressure`
 * - `circuitBreaker`: `CircuitBreakerOpen | OperationTimeout` (the breaker's `callTimeout`)
 * - `bulkhead`: `BulkheadFull | ProtectionNotFound` (a bulkhead that is not configured)
 * - `timeout`: `OperationTimeout`
 * - `checkoutTimeout`: `InvalidConfig` (an invalid duration)
 *
 * **Gotchas**
 *
 * A type that omits a key says the value has none. A value with more stages than its declared
 * type (an object with a `rateLimit` assigned to `{ circuitBreaker: string }`) runs them all,
 * as with any structural type: declare `Policy` (or a type with `rateLimit?: never`) instead.
 *
 * **Example** (A literal narrows, a `Policy` variable widens)
 *
 * ```ts
 * import { Protection } from "effect-foundation"
 *
 * type OnlyBreaker = Protection.PolicyError<{ readonly circuitBreaker: "db" }>
 * // => CircuitBreakerOpen | OperationTimeout
 * type Anything = Protection.PolicyError<Protection.Policy>
 * // => RateLimited | StoreUnavailable | MemoryPressure | CircuitBreakerOpen | OperationTimeout
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type PolicyError<P extends Policy> = P extends unknown
  ?
      | (Names<P, "rateLimit"> extends true ? RateLimited | StoreUnavailable : never)
      | (Names<P, "memory"> extends true ? MemoryPressure : never)
      | (Names<P, "circuitBreaker"> extends true ? CircuitBreakerOpen | OperationTimeout : never)
      | (Names<P, "timeout"> extends true ? OperationTimeout : never)
      | (Names<P, "bulkhead"> extends true ? BulkheadFull | ProtectionNotFound : never)
      | (Names<P, "checkoutTimeout"> extends true ? InvalidConfig : never)
  : never

/**
 * The services a policy's stages need, by the rule of `PolicyError`: for an `Policy`
 * variable, all four (`RateLimiter`, `MemoryManager`, `CircuitBreaker`, `PerformanceMonitor`),
 * so a program that might run a stage cannot compile without its layer.
 *
 * @since 0.1.0
 * @category models
 */
export type PolicyServices<P extends Policy> = P extends unknown
  ?
      | (Names<P, "rateLimit"> extends true ? RateLimiter.RateLimiter : never)
      | (Names<P, "memory"> extends true ? MemoryManager.MemoryManager : never)
      | (Names<P, "circuitBreaker"> extends true ? CircuitBreaker.CircuitBreaker : never)
      | (Names<P, "monitor"> extends true ? PerformanceMonitor.PerformanceMonitor : never)
      | (Names<P, "bulkhead"> extends true ? Bulkhead.Bulkhead : never)
  : never

/**
 * Applies every stage `policy` names to `self`.
 *
 * **Example** (Data-last and data-first)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Protection } from "effect-foundation"
 *
 * const a = Effect.succeed(1).pipe(Protection.protect({ circuitBreaker: "db", timeout: 500 }))
 * const b = Protection.protect(Effect.succeed(1), { circuitBreaker: "db" })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const protect: {
  <const P extends Policy>(
    policy: P
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PolicyError<P>, R | PolicyServices<P>>
  <A, E, R, const P extends Policy>(self: Effect.Effect<A, E, R>, policy: P): Effect.Effect<A, E | PolicyError<P>, R | PolicyServices<P>>
} = dual(2, Stages.protect)

/**
 * Interrupts `self` after `duration` and fails with `OperationTimeout`: the timeout stage of
 * `protect`, for use on its own.
 *
 * **Details**
 *
 * Behaves as `Effect.timeoutOrElse`: `self` runs on a fiber of its own; when the deadline
 * passes first, that fiber is interrupted and its finalizers run before the caller sees
 * `OperationTimeout`; an interruption of the caller interrupts `self` too and stays an
 * interruption; a result at the deadline is a result.
 *
 * It costs less: one fiber per call (`Effect.timeoutOrElse` forks two and arms a timer per
 * call), and the deadlines of every pending call share one wake-up on the fiber's `Clock`
 * (so `TestClock.adjust` drives them). An effect that completes synchronously arms no timer.
 * The wake-up runs only while timed calls are pending: an idle process has no timer armed.
 *
 * `operation` names the call in the error (default `"anonymous"`).
 *
 * **Gotchas**
 *
 * When several calls are pending, an effect that completes at the very instant of its
 * deadline may lose to it (with `Effect.timeoutOrElse` the first timer armed wins that tie);
 * a call alone behaves exactly as `Effect.timeoutOrElse`.
 *
 * **Example** (A call that takes too long)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Protection } from "effect-foundation"
 *
 * const slow = Effect.sleep("1 minute").pipe(
 *   Protection.timeout("2 seconds", { operation: "users.get" }),
 *   Effect.catchTag("OperationTimeout", (e) => Effect.succeed(e.message))
 * )
 * // => 'operation "users.get" timed out after 2s'
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const timeout: {
  (
    duration: Duration.Input,
    options?: { readonly operation?: string }
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | OperationTimeout, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    duration: Duration.Input,
    options?: { readonly operation?: string }
  ): Effect.Effect<A, E | OperationTimeout, R>
} = ((first: any, second?: any, third?: any) =>
  // not `dual`: its data-last form would compile the stage again on every call of the result
  // (and it spreads its arguments into an array on every call)
  Effect.isEffect(first)
    ? timeoutStage(second, third?.operation ?? "anonymous")(first)
    : timeoutStage(first, second?.operation ?? "anonymous")) as any

/**
 * Applies `policy` around a pooled call: `f` runs with a resource checked out of the pool
 * `tag`, between the circuit breaker and the timeout.
 *
 * **Example** (A protected query on a pooled connection)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Protection, Pool } from "effect-foundation"
 *
 * class Db extends Context.Service<Db, Pool.Pool<{ query: (q: string) => string }>>()("app/Db") {}
 * const users = Protection.protectWith(Db, { circuitBreaker: "db", timeout: "1 second" }, (connection) =>
 *   Effect.sync(() => connection.query("select * from users")))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const protectWith = <Self, Resource, PE, const P extends Policy, A, E, R>(
  tag: Context.Key<Self, Pool.Pool<Resource, PE>>,
  policy: P,
  f: (resource: Resource) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | PE | PoolCheckoutTimeout | PoolExhausted | PolicyError<P>, R | Self | PolicyServices<P>> =>
  Stages.protectWith(tag as unknown as Effect.Effect<Pool.Pool<Resource, PE>>, policy, f)

/**
 * A profile's state in one value: its configuration, its breaker's status, its rule's status
 * for a key, and its pool's counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfileStatus {
  readonly profile: string
  readonly config: Config.Profile
  readonly circuitBreaker?: CircuitBreaker.BreakerStatus
  readonly rateLimit?: RateLimiter.RateStatus
  readonly pool?: Pool.Status
}

/**
 * Named protection profiles.
 *
 * **Details**
 *
 * - `configure(profile, config)` decodes `config` with `Config.Profile` (strictly: an unknown
 *   key fails with the nearest known one) and checks its references against the services the
 *   layer was built on, as the configuration file checks them against its sections: a breaker
 *   listed in the breakers' `breakers`, a rule of the rate limiter, a pool given to `layer`'s
 *   `pools`, a memory manager for `memory: true`. A dangling name fails `InvalidConfig` with the
 *   same path and message as in the file, suggesting the nearest configured name. An invalid
 *   profile keeps the old one.
 * - `execute(profile, effect)` runs `effect` under the profile's stages. A profile that names a
 *   pool fails `InvalidConfig` (path `protections.<profile>.pool`): it needs a resource, so it
 *   runs with `executeWith`.
 * - `executeWith(profile, pool, f)` checks a resource out of the profile's pool and runs `f` with
 *   it. `pool` is the pool's tag, which types the resource; it must be the tag the profile's
 *   pool name was given for in `layer`'s `pools`, else `InvalidConfig`.
 *
 * @since 0.1.0
 * @category services
 */
export class Protection extends Context.Service<
  Protection,
  {
    /** validates and installs (or replaces) a profile; an invalid one fails and keeps the old */
    readonly configure: (profile: string, config: unknown) => Effect.Effect<void, InvalidConfig>
    /**
     * runs `effect` under the profile's stages; `key` is the rate limit key (default "global");
     * `InvalidConfig` for a profile that names a pool (use `executeWith`)
     */
    readonly execute: <A, E, R>(
      profile: string,
      effect: Effect.Effect<A, E, R>,
      options?: { readonly key?: string }
    ) => Effect.Effect<A, E | ProtectionError | ProtectionNotFound | InvalidConfig, R>
    /**
     * runs `f` with a resource of the profile's pool, under the profile's stages; `pool` is that
     * pool's tag (`InvalidConfig` when the profile names no pool or another one)
     */
    readonly executeWith: <Resource, PE, A, E, R>(
      profile: string,
      pool: Context.Key<any, Pool.Pool<Resource, PE>>,
      f: (resource: Resource) => Effect.Effect<A, E, R>,
      options?: { readonly key?: string }
    ) => Effect.Effect<A, E | PE | ProtectionError | ProtectionNotFound | InvalidConfig, R>
    readonly status: (profile: string, options?: { readonly key?: string }) => Effect.Effect<ProfileStatus, ProtectionNotFound>
    readonly names: Effect.Effect<ReadonlyArray<string>>
  }
>()("effect-foundation/Protection") {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** profiles installed at start (the same input `configure` takes) */
  readonly profiles?: Readonly<Record<string, unknown>>
  /** pools profiles may name, by name: each pool's tag, its layer provided beneath this one */
  readonly pools?: Readonly<Record<string, Context.Key<any, any>>>
}

/**
 * Builds the profiles service on top of whichever protection services are present: a profile
 * naming a stage whose service is missing, or a breaker, rule or pool that is not configured,
 * is an `InvalidConfig`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Protection, InvalidConfig> =>
  Layer.effect(Protection, Effect.map(makeProfiles(options), Protection.of))
