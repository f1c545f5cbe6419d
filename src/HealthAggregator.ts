/**
 * Health checks, aggregated: one answer to "is this process healthy?", for probes, dashboards
 * and the HTTP endpoint (`HealthHttp`).
 *
 * **Details**
 *
 * - `register(name, check, { interval?, timeout?, critical? })` adds a check for the lifetime
 *   of the caller's scope. A check returns `"healthy"`, `"degraded"`, `"unhealthy"` or
 *   `{ status, details?, output? }`. A check that fails, dies, or exceeds its timeout is
 *   unhealthy; it never crashes the aggregator.
 * - Checks with an `interval` run in a background fiber; readers get their last result (and
 *   its age). Checks without one run on demand, concurrently, at most one run per check at a
 *   time, and their result is cached for `cacheTtl` so a flood of probes does not flood the
 *   dependencies.
 * - `systemHealth` never waits longer than the largest timeout of the checks it has to run.
 * - Status: `unhealthy` if a critical component is unhealthy, `degraded` if any component is
 *   not healthy, else `healthy`. Score: the weighted mean of healthy 1, degraded 0.5,
 *   unhealthy 0, critical components weighing 2, others 1 (1 with no component).
 * - Built-in components: this layer also provides `HealthComponents`, through which the
 *   circuit breaker, pool and memory manager layers built on top of it register themselves.
 * - Metric `foundation.health.status` {component}: 1 healthy, 0.5 degraded, 0 unhealthy.
 *
 * **Example** (A database check, read by the system health)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HealthAggregator } from "effect-foundation"
 *
 * const program = Effect.gen(function*() {
 *   const health = yield* HealthAggregator.HealthAggregator
 *   yield* health.register("db", Effect.succeed("healthy"), { critical: true, timeout: "500 millis" })
 *   return (yield* health.systemHealth).status
 * }).pipe(Effect.scoped, Effect.provide(HealthAggregator.layer()))
 * // => "healthy"
 * ```
 *
 * @since 0.1.0
 */
import type { Duration, Scope } from "effect"
import { Context, Effect, Layer } from "effect"
import type { InvalidConfig, ProtectionNotFound } from "./Errors.js"
import { make } from "./internal/health/aggregator.js"
import type { EntryKind } from "./internal/health/entry.js"
import { AggregatorOptions, CheckOptions as CheckOptionsStruct } from "./internal/health/options.js"
import { HealthComponents } from "./internal/runtime/healthComponents.js"

/**
 * A status: `healthy`, `degraded` (working, with reduced capacity or quality) or `unhealthy`.
 *
 * **Example** (Mapping a replica count to a status)
 *
 * ```ts
 * import type { HealthAggregator } from "effect-foundation"
 *
 * const statusOf = (up: number): HealthAggregator.HealthStatus =>
 *   up === 3 ? "healthy" : up > 0 ? "degraded" : "unhealthy"
 * statusOf(2) // => "degraded"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type HealthStatus = "healthy" | "degraded" | "unhealthy"

/**
 * What a check returns: a bare status, or a status with `details` (shown only when asked
 * for) and an `output` message saying why.
 *
 * **Example** (A check with details)
 *
 * ```ts
 * import { Effect } from "effect"
 * import type { HealthAggregator } from "effect-foundation"
 *
 * const queueDepth = (depth: number): Effect.Effect<HealthAggregator.CheckOutcome> =>
 *   Effect.succeed(depth < 1_000
 *     ? "healthy"
 *     : { status: "degraded", details: { depth }, output: `queue depth ${depth} over 1000` })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CheckOutcome =
  | HealthStatus
  | {
      readonly status: HealthStatus
      readonly details?: Record<string, unknown> | undefined
      readonly output?: string | undefined
    }

/**
 * The Schema of one check's options: `register` decodes them through it, strictly, under
 * `health.checks.<name>` (an unknown key fails with its path and the nearest option's name).
 *
 * **Example** (Decoding a check's options)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { HealthAggregator } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(HealthAggregator.CheckOptionsSchema)({ timeout: 500 })
 * // options.critical => false
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const CheckOptionsSchema = CheckOptionsStruct

/**
 * Options of one check (all optional). `interval` (a timer duration: positive, at most
 * 2^31 - 1 ms; default none): run in the background every interval (readers take the last
 * result); without it the check runs on demand. `timeout` (a timer duration; default: the
 * layer's `defaultTimeout`): past it the check is interrupted and unhealthy. `critical`
 * (default `false`): whether its being unhealthy makes the system unhealthy.
 *
 * **Example** (A critical check run every 15 seconds)
 *
 * ```ts
 * import type { HealthAggregator } from "effect-foundation"
 *
 * const options: HealthAggregator.CheckOptions = { interval: "15 seconds", timeout: "2 seconds", critical: true }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CheckOptions = typeof CheckOptionsSchema.Encoded

/**
 * The state of one check or built-in component. `checkedAt` is epoch milliseconds; `age` and
 * `duration` are `Duration`s.
 *
 * **Example** (How old the database check's result is)
 *
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { HealthAggregator } from "effect-foundation"
 *
 * const dbAgeMillis = HealthAggregator.HealthAggregator.use((health) =>
 *   Effect.map(health.status("db"), (db) => Duration.toMillis(db.age))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ComponentHealth {
  readonly status: HealthStatus
  readonly kind: EntryKind
  readonly critical: boolean
  /** true for checks with an interval: the result may be up to one interval old */
  readonly background: boolean
  readonly details: Record<string, unknown> | undefined
  readonly output: string | undefined
  /** when the result was produced */
  readonly checkedAt: number
  /** how old the result is at the time of the report */
  readonly age: Duration.Duration
  /** how long the check ran */
  readonly duration: Duration.Duration
}

/**
 * The aggregated health. `checkedAt` (epoch milliseconds) is when the report was built;
 * `duration` how long building it took.
 *
 * **Example** (Logging the components that are not healthy)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HealthAggregator } from "effect-foundation"
 *
 * const logProblems = Effect.flatMap(HealthAggregator.systemHealth, (report) =>
 *   Effect.forEach(
 *     Object.entries(report.components).filter(([, c]) => c.status !== "healthy"),
 *     ([name, c]) => Effect.logWarning(`${name} is ${c.status}: ${c.output ?? ""}`)
 *   ))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemHealth {
  readonly status: HealthStatus
  readonly score: number
  readonly components: Record<string, ComponentHealth>
  readonly checkedAt: number
  readonly duration: Duration.Duration
}

/**
 * The Schema of the layer's options: `layer`, the configuration file's `health` section (next
 * to `http`) and `Foundation` decode through it; an unknown key fails `InvalidConfig` with its
 * path and the nearest option's name.
 *
 * **Example** (Decoding options from JSON)
 *
 * ```ts
 * import { Duration, Schema } from "effect"
 * import { HealthAggregator } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(HealthAggregator.OptionsSchema)({ cacheTtl: 0 })
 * Duration.toMillis(options.defaultTimeout) // => 1000
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionsSchema = AggregatorOptions

/**
 * Layer options (all optional). `defaultTimeout` (a timer duration: positive, at most
 * 2^31 - 1 ms; default 1 second) applies to checks registered without a timeout and to
 * built-in components; `cacheTtl` (a timer duration or 0; default 1 second) is how long an
 * on-demand check's result answers reads before the check runs again (0: run on every read).
 *
 * **Example** (Probes at most every 5 seconds reach the dependencies)
 *
 * ```ts
 * import { HealthAggregator } from "effect-foundation"
 *
 * const Health = HealthAggregator.layer({ cacheTtl: "5 seconds", defaultTimeout: "500 millis" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Options = typeof OptionsSchema.Encoded

/**
 * The HealthAggregator service.
 *
 * **Example** (Registering for the lifetime of a layer)
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { HealthAggregator } from "effect-foundation"
 *
 * const DbHealth = Layer.effectDiscard(
 *   HealthAggregator.HealthAggregator.use((health) =>
 *     health.register("db", Effect.succeed("healthy"), { critical: true })
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class HealthAggregator extends Context.Service<
  HealthAggregator,
  {
    /** adds a check until the caller's scope closes; a duplicate name is an `InvalidConfig` */
    readonly register: <E, R>(
      name: string,
      check: Effect.Effect<CheckOutcome, E, R>,
      options?: CheckOptions
    ) => Effect.Effect<void, InvalidConfig, Scope.Scope | R>
    /** every check and component */
    readonly systemHealth: Effect.Effect<SystemHealth>
    /** critical checks and components only: what a readiness probe asks */
    readonly readiness: Effect.Effect<SystemHealth>
    /** one check or component by name */
    readonly status: (name: string) => Effect.Effect<ComponentHealth, ProtectionNotFound>
    /** the names registered now */
    readonly names: Effect.Effect<ReadonlyArray<string>>
  }
>()("effect-foundation/HealthAggregator") {}

/**
 * Builds the aggregator, and the `HealthComponents` service through which protections built
 * on top of it report. The options are decoded through `OptionsSchema`, strictly: a bad or
 * unknown option fails `InvalidConfig` naming `health.<field>` (every violation listed).
 *
 * **Example** (Breakers appear as components when built on top of the aggregator)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { CircuitBreaker, HealthAggregator } from "effect-foundation"
 *
 * declare const breakers: Layer.Layer<CircuitBreaker.CircuitBreaker, never, never>
 * const App = breakers.pipe(Layer.provideMerge(HealthAggregator.layer({ cacheTtl: "2 seconds" })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<HealthAggregator | HealthComponents, InvalidConfig> =>
  Layer.effectContext(
    Effect.map(make(options), ({ registerComponent, service }) =>
      Context.make(HealthAggregator, service).pipe(Context.add(HealthComponents, HealthComponents.of({ register: registerComponent })))
    )
  )

/**
 * The system health, from the `HealthAggregator` in context.
 *
 * **Example** (The overall status)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HealthAggregator } from "effect-foundation"
 *
 * const status = HealthAggregator.systemHealth.pipe(
 *   Effect.map((report) => report.status),
 *   Effect.provide(HealthAggregator.layer())
 * )
 * // with no check registered:
 * // => "healthy"
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const systemHealth: Effect.Effect<SystemHealth, never, HealthAggregator> = HealthAggregator.use((health) => health.systemHealth)

/**
 * Registers a check with the `HealthAggregator` in context, until the scope closes.
 *
 * **Example** (A background check every 10 seconds)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HealthAggregator } from "effect-foundation"
 *
 * const registration = HealthAggregator.register("cache", Effect.succeed("healthy"), { interval: "10 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const register = <E, R>(
  name: string,
  check: Effect.Effect<CheckOutcome, E, R>,
  options?: CheckOptions
): Effect.Effect<void, InvalidConfig, HealthAggregator | Scope.Scope | R> =>
  HealthAggregator.use((health) => health.register(name, check, options))
