/**
 * The facade: one call applies every protection a policy names, in the right order.
 *
 * **Details**
 *
 * Order, outermost first: rate limit -> memory guard -> circuit breaker -> pool checkout ->
 * timeout -> the effect. A rejection at one stage never reaches the next: a rate-limited call
 * is not a breaker failure, no pool checkout happens while the breaker is open, and a pool
 * checkout timeout is not a breaker failure (our pool being busy says nothing about the
 * dependency) unless `poolTimeoutIsFailure` says so. The error type is exactly the union of
 * what the chosen stages can produce, so `Effect.catchTag` is checked.
 *
 * Each protected call gets one span, `foundation.protect` (not one per stage), with the
 * profile and stages as attributes and, on rejection, `error.type` = the error's `code`, and
 * one `foundation.protection.duration` observation {profile, outcome}.
 *
 * **Example** (A protected call)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Infrastructure } from "effect-foundation"
 *
 * const getUser = (id: string) =>
 *   Effect.succeed({ id }).pipe(
 *     Infrastructure.protect({
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
import { Context, Effect, Layer, Option, Ref } from "effect"
import { dual } from "effect/Function"
import * as CircuitBreaker from "./CircuitBreaker.js"
import * as Config from "./Config.js"
import type {
  CircuitBreakerOpen,
  MemoryPressure,
  OperationTimeout,
  PoolCheckoutTimeout,
  ProtectionError,
  RateLimited,
  StoreUnavailable
} from "./Errors.js"
import { InvalidConfig, ProtectionNotFound } from "./Errors.js"
import type { PolicyInput } from "./internal/protection/stages.js"
import * as Protection from "./internal/protection/stages.js"
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
 * The errors a policy's stages can produce.
 *
 * @since 0.1.0
 * @category models
 */
export type PolicyError<P extends Policy> =
  | (P extends { readonly rateLimit: object } ? RateLimited | StoreUnavailable : never)
  | (P extends { readonly memory: true } ? MemoryPressure : never)
  | (P extends { readonly circuitBreaker: string } ? CircuitBreakerOpen | OperationTimeout : never)
  | (P extends { readonly timeout: Duration.Input } ? OperationTimeout : never)

/**
 * The services a policy's stages need.
 *
 * @since 0.1.0
 * @category models
 */
export type PolicyServices<P extends Policy> =
  | (P extends { readonly rateLimit: object } ? RateLimiter.RateLimiter : never)
  | (P extends { readonly memory: true } ? MemoryManager.MemoryManager : never)
  | (P extends { readonly circuitBreaker: string } ? CircuitBreaker.CircuitBreaker : never)
  | (P extends { readonly monitor: object } ? PerformanceMonitor.PerformanceMonitor : never)

/**
 * Applies every stage `policy` names to `self`.
 *
 * **Example** (Data-last and data-first)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Infrastructure } from "effect-foundation"
 *
 * const a = Effect.succeed(1).pipe(Infrastructure.protect({ circuitBreaker: "db", timeout: 500 }))
 * const b = Infrastructure.protect(Effect.succeed(1), { circuitBreaker: "db" })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const protect: {
  <const P extends Policy>(
    policy: P
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PolicyError<P>, R | PolicyServices<P>>
  <A, E, R, const P extends Policy>(
    self: Effect.Effect<A, E, R>,
    policy: P
  ): Effect.Effect<A, E | PolicyError<P>, R | PolicyServices<P>>
} = dual(2, Protection.protect)

/**
 * Applies `policy` around a pooled call: `f` runs with a resource checked out of the pool
 * `tag`, between the circuit breaker and the timeout.
 *
 * **Example** (A protected query on a pooled connection)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Infrastructure, Pool } from "effect-foundation"
 *
 * class Db extends Context.Service<Db, Pool.Pool<{ query: (q: string) => string }>>()("app/Db") {}
 * const users = Infrastructure.protectWith(Db, { circuitBreaker: "db", timeout: "1 second" }, (connection) =>
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
): Effect.Effect<A, E | PE | PoolCheckoutTimeout | PolicyError<P>, R | Self | PolicyServices<P>> =>
  Protection.protectWith(tag as unknown as Effect.Effect<Pool.Pool<Resource, PE>>, policy, f)

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
 * @since 0.1.0
 * @category services
 */
export class Infrastructure extends Context.Service<Infrastructure, {
  /** validates and installs (or replaces) a profile; an invalid one fails and keeps the old */
  readonly configure: (profile: string, config: unknown) => Effect.Effect<void, InvalidConfig>
  /** runs `effect` under the profile's stages; `key` is the rate limit key (default "global") */
  readonly execute: <A, E, R>(
    profile: string,
    effect: Effect.Effect<A, E, R>,
    options?: { readonly key?: string }
  ) => Effect.Effect<A, E | ProtectionError | StoreUnavailable | ProtectionNotFound, R>
  /** runs `f` with a resource of the profile's pool, under the profile's stages */
  readonly executeWith: <A, E, R>(
    profile: string,
    f: (resource: unknown) => Effect.Effect<A, E, R>,
    options?: { readonly key?: string }
  ) => Effect.Effect<A, E | ProtectionError | StoreUnavailable | ProtectionNotFound, R>
  readonly status: (profile: string, options?: { readonly key?: string }) => Effect.Effect<ProfileStatus, ProtectionNotFound>
  readonly list: Effect.Effect<ReadonlyArray<string>>
}>()("effect-foundation/Infrastructure") {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** profiles installed at start (the same input `configure` takes) */
  readonly profiles?: Readonly<Record<string, unknown>>
  /** pools profiles may name, by name */
  readonly pools?: Readonly<Record<string, Context.Key<any, any>>>
}

/**
 * Builds the profiles service on top of whichever protection services are present: a profile
 * naming a stage whose service is missing is an `InvalidConfig`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Infrastructure, InvalidConfig> =>
  Layer.effect(Infrastructure, make(options))

const make = Effect.fnUntraced(function*(options: Options) {
  // the protections present when the layer was built; profiles run their stages against them
  const services = (yield* Effect.context<never>()) as Context.Context<any>
  const profiles = yield* Ref.make(new Map<string, { config: Config.Profile }>())
  const has = <S>(tag: Context.Key<any, S>) => Option.isSome(Context.getOption(services, tag))
  const pools = new Map<string, Pool.Pool<any, any>>()
  for (const [name, tag] of Object.entries(options.pools ?? {})) {
    const pool = Context.getOption(services, tag)
    if (Option.isNone(pool)) {
      return yield* new InvalidConfig({ path: `pools.${name}`, message: `pools.${name}: the pool's layer is not provided` })
    }
    pools.set(name, pool.value)
  }

  const validate = Effect.fnUntraced(function*(name: string, config: Config.Profile) {
    const base = `protections.${name}`
    const missing = (field: string, what: string) =>
      new InvalidConfig({ path: `${base}.${field}`, message: `${base}.${field}: ${what}` })
    if (config.circuitBreaker !== undefined && !has(CircuitBreaker.CircuitBreaker)) {
      return yield* missing("circuitBreaker", "no CircuitBreaker layer is provided")
    }
    if (config.rateLimit !== undefined) {
      const limiter = Context.getOption(services, RateLimiter.RateLimiter)
      if (Option.isNone(limiter)) return yield* missing("rateLimit", "no RateLimiter layer is provided")
      // the service's own list, not a store call: a Redis store that is down at start-up must
      // not make a configured rule look missing (its rule may well be failOpen)
      if (!limiter.value.rules.includes(config.rateLimit.rule)) {
        return yield* missing("rateLimit.rule", `no rule "${config.rateLimit.rule}" is configured`)
      }
    }
    if (config.pool !== undefined && !pools.has(config.pool)) {
      return yield* missing("pool", `no pool "${config.pool}" was given to Infrastructure.layer`)
    }
    if (config.memory === true && !has(MemoryManager.MemoryManager)) return yield* missing("memory", "no MemoryManager layer is provided")
    if (config.monitor !== undefined && !has(PerformanceMonitor.PerformanceMonitor)) {
      return yield* missing("monitor", "no PerformanceMonitor layer is provided")
    }
  })

  const configure = (name: string, input: unknown) =>
    Effect.gen(function*() {
      const config = yield* Config.decodeProfile(input, `protections.${name}`)
      yield* validate(name, config)
      yield* Ref.update(profiles, (all) => new Map(all).set(name, { config }))
    })

  for (const [name, input] of Object.entries(options.profiles ?? {})) yield* configure(name, input)

  const find = (name: string) =>
    Effect.flatMap(Ref.get(profiles), (all) => {
      const found = all.get(name)
      return found === undefined
        ? Effect.fail(new ProtectionNotFound({ kind: "profile", protection: name }))
        : Effect.succeed(found)
    })
  const policyFor = (name: string, config: Config.Profile, key: string): Policy => {
    const policy: { -readonly [K in keyof Policy]: Policy[K] } = { profile: name }
    if (config.rateLimit !== undefined) {
      policy.rateLimit = config.rateLimit.cost === undefined
        ? { rule: config.rateLimit.rule, key }
        : { rule: config.rateLimit.rule, key, cost: config.rateLimit.cost }
    }
    if (config.memory !== undefined) policy.memory = config.memory
    if (config.circuitBreaker !== undefined) policy.circuitBreaker = config.circuitBreaker
    if (config.timeout !== undefined) policy.timeout = config.timeout
    if (config.monitor !== undefined) policy.monitor = config.monitor
    if (config.poolTimeoutIsFailure !== undefined) policy.poolTimeoutIsFailure = config.poolTimeoutIsFailure
    return policy
  }

  return Infrastructure.of({
    configure,
    execute: (name, effect, callOptions) =>
      Effect.flatMap(find(name), ({ config }) =>
        Protection.protect(effect, policyFor(name, config, callOptions?.key ?? "global")).pipe(
          Effect.provideContext(services)
        )),
    executeWith: (name, f, callOptions) =>
      Effect.flatMap(find(name), ({ config }) => {
        const pool = config.pool === undefined ? undefined : pools.get(config.pool)
        if (pool === undefined) return Effect.fail(new ProtectionNotFound({ kind: "pool", protection: config.pool ?? name }))
        return Protection.protectWith(Effect.succeed(pool), policyFor(name, config, callOptions?.key ?? "global"), f).pipe(
          Effect.provideContext(services)
        )
      }),
    status: (name, statusOptions) =>
      Effect.flatMap(find(name), ({ config }) =>
        Effect.gen(function*() {
          const breaker = config.circuitBreaker === undefined
            ? undefined
            : yield* Effect.option(CircuitBreaker.CircuitBreaker.use((s) => s.state(config.circuitBreaker!)))
          const limit = config.rateLimit === undefined
            ? undefined
            : yield* Effect.option(
              RateLimiter.RateLimiter.use((s) => s.status(config.rateLimit!.rule, statusOptions?.key ?? "global"))
            )
          const pool = config.pool === undefined ? undefined : pools.get(config.pool)
          const status: { -readonly [K in keyof ProfileStatus]: ProfileStatus[K] } = { profile: name, config }
          if (breaker !== undefined && Option.isSome(breaker)) status.circuitBreaker = breaker.value
          if (limit !== undefined && Option.isSome(limit)) status.rateLimit = limit.value
          if (pool !== undefined) status.pool = pool.statusUnsafe()
          return status as ProfileStatus
        }).pipe(Effect.provideContext(services))),
    list: Effect.map(Ref.get(profiles), (all) => [...all.keys()])
  })
})

