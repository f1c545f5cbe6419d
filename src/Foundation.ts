/**
 * Every service of effect-foundation from one configuration.
 *
 * **Details**
 *
 * `layer(config)` decodes the configuration with `Config.FoundationConfig` and builds the
 * circuit breakers, rate limiter, bulkheads, memory manager, performance monitor, health
 * aggregator (beneath the others, so breakers, bulkheads, pools and memory register as health
 * components) and the `Protection` profiles, and `Configuration`, through which `reload`
 * applies a new configuration to the running services. With `health.http` it also serves the health endpoint. Pools need
 * code (`acquire`), so they are built with `Pool.layer`; `poolOptions(config, name)` reads a
 * pool's sizes from the configuration, and `layer(config, { pools: { db: { tag: Db, layer } } })`
 * builds the pool's layer on top of the aggregator (it reports as `pool:db`), provides `Db` and
 * lets profiles name it.
 *
 * `layerConfig` reads the configuration through effect's `Config`: a JSON file named by
 * `FOUNDATION_CONFIG_FILE`, else the JSON in `FOUNDATION_CONFIG`, else nothing (defaults).
 *
 * **Example** (All services from one object)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Foundation, Protection } from "effect-foundation"
 *
 * const Live = Foundation.layer({
 *   circuitBreaker: { breakers: { payments: { failureThreshold: 5, resetTimeout: "30 seconds" } } },
 *   rateLimiter: { rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } } },
 *   protections: { checkout: { rateLimit: { rule: "api" }, circuitBreaker: "payments", timeout: 2000 } }
 * })
 * const program = Protection.Protection.use((i) => i.execute("checkout", Effect.succeed("ok"), { key: "u1" }))
 * // Effect.runPromise(program.pipe(Effect.provide(Live))) // => "ok"
 * ```
 *
 * @since 0.1.0
 */
import type { HttpServerError } from "effect/http"
import { Config as EffectConfig, type Context, Effect, Layer } from "effect"
import type * as Bulkhead from "./Bulkhead.js"
import type * as CircuitBreaker from "./CircuitBreaker.js"
import * as Config from "./Config.js"
import { InvalidConfig } from "./Errors.js"
import type * as HealthAggregator from "./HealthAggregator.js"
import { Configuration, fromDecoded } from "./internal/foundation/build.js"
import { loadFrom, poolSizing } from "./internal/foundation/load.js"
import type { ReloadReport as Report } from "./internal/foundation/reload.js"
import type { SharedStoreError } from "./internal/foundation/sharedStores.js"
import type { HealthComponents } from "./internal/runtime/healthComponents.js"
import type * as MemoryManager from "./MemoryManager.js"
import type * as PerformanceMonitor from "./PerformanceMonitor.js"
import type * as Pool from "./Pool.js"
import type * as Protection from "./Protection.js"
import type * as RateLimiter from "./RateLimiter.js"

/**
 * Everything `layer` provides.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | Bulkhead.Bulkhead
  | CircuitBreaker.CircuitBreaker
  | RateLimiter.RateLimiter
  | MemoryManager.MemoryManager
  | PerformanceMonitor.PerformanceMonitor
  | HealthAggregator.HealthAggregator
  | HealthComponents
  | Protection.Protection
  | Configuration

/**
 * A pool for `Options.pools`: the `tag` profiles reach it by, and the `layer` that builds it
 * (`Pool.layer(tag, ...)`), which `Foundation` builds on top of its health aggregator so the
 * pool reports as component `pool:<name>` (the pool's `name`: give the same one).
 *
 * **Example** (A pool that Foundation builds)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { type Foundation, Pool } from "effect-foundation"
 *
 * class Db extends Context.Service<Db, Pool.Pool<number>>()("app/Db") {}
 * const db: Foundation.PoolLayer<Db> = { tag: Db, layer: Pool.layer(Db, { name: "db", size: 4, acquire: Effect.succeed(1) }) }
 * ```
 *
 * @since 0.3.0
 * @category pools
 */
export interface PoolLayer<Self = any, E = any, R = any> {
  readonly tag: Context.Key<Self, any> // any: a Key is invariant in its service
  readonly layer: Layer.Layer<Self, E, R>
}

/**
 * The `pools` option: by name, a `PoolLayer` (built by `Foundation`, reporting health), or a
 * bare tag (its layer provided beneath `Foundation`, where it cannot see the aggregator and so
 * reports no health).
 *
 * @since 0.3.0
 * @category pools
 */
export type Pools = Readonly<Record<string, PoolLayer | Context.Key<any, any>>>

/**
 * The services, errors and requirements the pool layers of `P` add to `Foundation.layer`'s.
 *
 * @since 0.3.0
 * @category pools
 */
export type PoolServices<P extends Pools> = { [K in keyof P]: P[K] extends PoolLayer<infer S, any, any> ? S : never }[keyof P]
/**
 * @since 0.3.0
 * @category pools
 */
export type PoolErrors<P extends Pools> = { [K in keyof P]: P[K] extends PoolLayer<any, infer E, any> ? E : never }[keyof P]
/**
 * @since 0.3.0
 * @category pools
 */
export type PoolRequirements<P extends Pools> = Exclude<
  { [K in keyof P]: P[K] extends PoolLayer<any, any, infer R> ? R : never }[keyof P],
  Exclude<Services, Protection.Protection> // built on top of the protections: those are there
>

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<P extends Pools = Pools> {
  /**
   * pools the profiles may name: `{ db: { tag: Db, layer: DbLive } }` builds `DbLive` on top of
   * the health aggregator (so it reports as `pool:db`) and provides `Db`; a bare tag
   * (`{ db: Db }`) needs its layer provided beneath this one, and reports no health
   */
  readonly pools?: P
  /**
   * builds the rate limiter from the `rateLimiter` section's rules, decoded by
   * `RateLimiter.RuleSchema` (durations as `Duration`, defaults filled in), instead of the
   * in-memory one, e.g.
   * `(rules) => RateLimiterRedis.layer({ rules }).pipe(Layer.provide(RateLimiterRedis.layerClient(...)))`
   */
  readonly rateLimiter?: (rules: Readonly<Record<string, RateLimiter.RateRule>>) => Layer.Layer<RateLimiter.RateLimiter, InvalidConfig>
  /**
   * builds the circuit breakers from the decoded options instead of the in-process ones, e.g.
   * `(options) => CircuitBreakerRedis.layer(options).pipe(Layer.provide(RateLimiterRedis.layerClient(...)))`
   */
  readonly circuitBreaker?: (options: CircuitBreaker.Options) => Layer.Layer<CircuitBreaker.CircuitBreaker, InvalidConfig>
}

/**
 * What building every service can fail with: a configuration mistake, the health endpoint's
 * port, or (with a `redis` section) the first connection to Redis.
 */
type BuildError = InvalidConfig | HttpServerError.ServeError | SharedStoreError

// the pool layers' services, errors and requirements, which the layer's type cannot follow
const withPoolTypes = <P extends Pools>(
  layer: Layer.Layer<Services, BuildError>
): Layer.Layer<Services | PoolServices<P>, BuildError | PoolErrors<P>, PoolRequirements<P>> => layer as Layer.Layer<any, any, any>

/**
 * Builds every service from a configuration written in code. The parameter is typed, so a
 * literal with a misspelled key (`breakerz`) or an unknown algorithm is a compile error; the
 * configuration is also decoded (strictly: an unknown key fails with its path and the nearest
 * known one), so anything the type cannot say (a negative limit) fails with `InvalidConfig`.
 *
 * **Gotchas**
 *
 * Data from outside the program (a parsed file, a request body) is not a
 * `FoundationConfigInput` until it is decoded: use `layerConfig` (environment and file), or
 * `Config.decode(input)` with `layerDecoded`.
 *
 * **Example** (Everything from one literal)
 *
 * ```ts
 * import { Foundation } from "effect-foundation"
 *
 * const Live = Foundation.layer({
 *   circuitBreaker: { breakers: { payments: { failureThreshold: 5, resetTimeout: "30 seconds" } } },
 *   protections: { checkout: { circuitBreaker: "payments", timeout: "2 seconds" } }
 * })
 * ```
 *
 * **Example** (A pool built by Foundation: it reports as `pool:db`, and `Db` is provided)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Foundation, HealthAggregator, Pool } from "effect-foundation"
 *
 * class Db extends Context.Service<Db, Pool.Pool<number>>()("app/Db") {}
 * const config = { pools: { db: { size: 4 } }, protections: { query: { pool: "db", timeout: 1000 } } } as const
 * const DbLive = Pool.layer(Db, { ...Foundation.poolOptions(config, "db"), acquire: Effect.succeed(1) })
 * const Live = Foundation.layer(config, { pools: { db: { tag: Db, layer: DbLive } } })
 * const names = Effect.map(HealthAggregator.systemHealth, (report) => Object.keys(report.components))
 * // Effect.runPromise(names.pipe(Effect.provide(Live))) // => [..., "pool:db"]
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <P extends Pools = {}>(
  config: Config.FoundationConfigInput,
  options: Options<P> = {}
): Layer.Layer<Services | PoolServices<P>, BuildError | PoolErrors<P>, PoolRequirements<P>> =>
  withPoolTypes(Layer.unwrap(Effect.map(Config.decode(config), (decoded) => fromDecoded(decoded, options))))

/**
 * Builds every service from a configuration already decoded (by `Config.decode`, `load` or
 * `Foundation.config`): the entry for data that came from outside the program.
 *
 * **Example** (A JSON document from anywhere)
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Config, Foundation } from "effect-foundation"
 *
 * const fromJson = (text: string) =>
 *   Layer.unwrap(Effect.map(Config.decode(JSON.parse(text)), (config) => Foundation.layerDecoded(config)))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerDecoded = <P extends Pools = {}>(
  config: Config.FoundationConfig,
  options: Options<P> = {}
): Layer.Layer<Services | PoolServices<P>, BuildError | PoolErrors<P>, PoolRequirements<P>> => withPoolTypes(fromDecoded(config, options))

/**
 * Reads the configuration (see `load`) and builds every service.
 *
 * **Example** (Configured by the environment)
 *
 * ```ts
 * import { Foundation } from "effect-foundation"
 *
 * // FOUNDATION_CONFIG_FILE=/etc/app/foundation.json, or FOUNDATION_CONFIG='{"circuitBreaker":{...}}',
 * // or variables such as FOUNDATION_MEMORY_REJECT_AT=high
 * const Live = Foundation.layerConfig()
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <P extends Pools = {}>(
  options: Options<P> = {}
): Layer.Layer<Services | PoolServices<P>, BuildError | PoolErrors<P>, PoolRequirements<P>> =>
  withPoolTypes(Layer.unwrap(Effect.map(load, (decoded) => fromDecoded(decoded, options))))

/**
 * The whole configuration as an effect `Config`, read from the current `ConfigProvider` under
 * `foundation` (from the environment: `FOUNDATION_MEMORY_CHECK_INTERVAL=2 seconds`, with
 * `ConfigProvider.constantCase`; from a JSON provider: `{ foundation: { memory: { ... } } }`),
 * so it composes with an application's own `Config` values.
 *
 * **Example** (Next to the application's own settings)
 *
 * ```ts
 * import { Config as EffectConfig, Effect } from "effect"
 * import { Foundation } from "effect-foundation"
 *
 * const settings = EffectConfig.all({ port: EffectConfig.Int("PORT"), foundation: Foundation.config })
 * const program = Effect.gen(function*() {
 *   const { foundation, port } = yield* settings
 *   return { port, breakers: Object.keys(foundation.circuitBreaker?.breakers ?? {}) }
 * })
 * ```
 *
 * @since 0.2.0
 * @category loading
 */
export const config: EffectConfig.Config<Config.FoundationConfig> = EffectConfig.schema(Config.FoundationConfig, "foundation")

/**
 * The configuration as `layerConfig` finds it, decoded: the JSON file named by
 * `FOUNDATION_CONFIG_FILE`, else the JSON in `FOUNDATION_CONFIG`, else `Foundation.config`
 * (variables under `FOUNDATION_`; none set means every default).
 *
 * @since 0.1.0
 * @category loading
 */
export const load: Effect.Effect<Config.FoundationConfig, InvalidConfig> = loadFrom(config)

/**
 * A pool's sizes and timings from the configuration, to spread into `Pool.layer` options.
 *
 * **Details**
 *
 * `config` is the configuration as given to `layer` (or `Config.decode`'s result); the sizing is
 * passed on as written, and `Pool.layer` validates it.
 *
 * **Gotchas**
 *
 * A name the configuration's `pools` does not have throws `InvalidConfig` synchronously (path
 * `pools.<name>`, naming the nearest configured pool, or listing them): a wiring mistake, found
 * when the layer is defined, so the call stays usable inside `Pool.layer`. For a typed failure
 * of the layer, build it in `Layer.unwrap(Effect.try(...))` (docs/protection.md).
 *
 * **Example** (Sizes from configuration, acquire from code)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Foundation, Pool } from "effect-foundation"
 *
 * class Db extends Context.Service<Db, Pool.Pool<number>>()("app/Db") {}
 * const DbLive = (config: unknown) =>
 *   Pool.layer(Db, { ...Foundation.poolOptions(config, "db"), acquire: Effect.succeed(1) })
 * ```
 *
 * @since 0.1.0
 * @category pools
 */
export const poolOptions = (config: unknown, name: string): Omit<Pool.Options<never, never, never>, "acquire" | "release" | "validate"> =>
  poolSizing(config, name) as never

/**
 * The encoded shape of one pool's sizing.
 *
 * @since 0.1.0
 * @category models
 */
export type PoolSizing = typeof Config.PoolSizing.Encoded

/**
 * The running configuration's control, provided by `layer`, `layerDecoded` and `layerConfig`:
 * `current` is the configuration in force, `reload(input)` applies a new one (see `reload`).
 *
 * @since 0.3.0
 * @category reload
 */
export { Configuration }

/**
 * What `reload` changed: each change as `{ kind, name }` (`kind` one of `"breaker"`, `"rule"`,
 * `"pool"`, `"bulkhead"`, `"profile"`), in the order applied; empty when the new configuration
 * says what the one in force says.
 *
 * @since 0.3.0
 * @category reload
 */
export type ReloadReport = Report

/**
 * Applies a whole new configuration to the running services, atomically: every change is
 * made, or none is.
 *
 * **Details**
 *
 * `input` is decoded by `Config.FoundationConfig` (a parsed file, a literal), then compared
 * with the configuration in force. What the services change while they run:
 *
 * - breaker policies under `circuitBreaker.breakers` (`CircuitBreaker.configure`: a breaker
 *   keeps its state and counts where the new policy allows),
 * - rate limit rules under `rateLimiter.rules` (`RateLimiter.setRule`: each key keeps what
 *   it consumed),
 * - a pool's `size`, `maxOverflow`, `minIdle` and `maxWaiting` (`Pool.resize`; the pool's
 *   layer given in `options.pools`),
 * - bulkhead limits (`Bulkhead.configure`) and protection profiles (`Protection.configure`).
 *
 * Entries may be changed, never removed; breakers and profiles may also be added (a new
 * rule, bulkhead or pool needs a restart). Anything else (`redis`, `health`,
 * `memory`, `performance`, the breakers' `defaults` and `maxBreakers`, a pool's timeouts, a
 * new pool) cannot change while the services run: such a configuration fails `InvalidConfig`
 * naming every path, and nothing is applied. Reloads run one at a time. Should a service
 * refuse a change, the changes already made are put back and the configuration in force
 * stays.
 *
 * **Example** (Reload from the file the service started with)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { readFile } from "node:fs/promises"
 * import { Foundation } from "effect-foundation"
 *
 * const reloadFile = (path: string) =>
 *   Effect.promise(() => readFile(path, "utf8")).pipe(
 *     Effect.flatMap((text) => Foundation.reload(JSON.parse(text))),
 *     Effect.tap((report) => Effect.log(`reloaded: ${report.changes.map((c) => `${c.kind} ${c.name}`).join(", ")}`))
 *   )
 * ```
 *
 * @since 0.3.0
 * @category reload
 */
export const reload = (input: unknown): Effect.Effect<ReloadReport, InvalidConfig, Configuration> =>
  Configuration.use((configuration) => configuration.reload(input))

/**
 * The configuration in force: the one the layer was built with, or the last one `reload`
 * applied.
 *
 * @since 0.3.0
 * @category reload
 */
export const current: Effect.Effect<Config.FoundationConfig, never, Configuration> = Configuration.use(
  (configuration) => configuration.current
)
