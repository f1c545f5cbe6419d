/**
 * How `Foundation` builds every service from a decoded configuration: which layer sits on which,
 * so that breakers, pools and memory find the health aggregator, the profiles find every
 * service, and the reload control finds what it changes.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import * as Bulkhead from "../../Bulkhead.js"
import * as CircuitBreaker from "../../CircuitBreaker.js"
import * as Config from "../../Config.js"
import { InvalidConfig } from "../../Errors.js"
import type { Options, PoolLayer, Pools } from "../../Foundation.js"
import * as HealthAggregator from "../../HealthAggregator.js"
import * as HealthHttp from "../../HealthHttp.js"
import * as MemoryManager from "../../MemoryManager.js"
import * as PerformanceMonitor from "../../PerformanceMonitor.js"
import type * as Pool from "../../Pool.js"
import * as Protection from "../../Protection.js"
import * as RateLimiter from "../../RateLimiter.js"
import { sharedStores } from "./sharedStores.js"
import type { Change } from "./plan.js"
import { makeReloader, type Reloader } from "./reload.js"

/** The reload control `Foundation.layer` provides: the configuration in force, and `reload`. */
export class Configuration extends Context.Service<Configuration, Reloader<Config.FoundationConfig>>()(
  "effect-foundation/Foundation/Configuration"
) {}

const isPoolLayer = (pool: PoolLayer | Context.Key<any, any>): pool is PoolLayer => !Context.isKey(pool)

// Pool layers go on top of the protections, where they find the aggregator's HealthComponents
// and register `pool:<name>`; beneath Foundation (a bare tag) they cannot.
const withPools = <A, E, R>(protections: Layer.Layer<A, E, R>, pools: Pools | undefined): Layer.Layer<A, E, R> => {
  const layers = Object.values(pools ?? {}).flatMap((pool) => (isPoolLayer(pool) ? [pool.layer as unknown as Layer.Layer<never>] : []))
  return layers.length === 0 ? protections : Layer.mergeAll(layers[0]!, ...layers.slice(1)).pipe(Layer.provideMerge(protections))
}

const poolTags = (pools: Pools): Record<string, Context.Key<any, any>> =>
  Object.fromEntries(Object.entries(pools).map(([name, pool]) => [name, isPoolLayer(pool) ? pool.tag : pool]))

const encodeProfile = Schema.encodeSync(Config.Profile)
const encodeLimits = Schema.encodeSync(Bulkhead.LimitsSchema)

// Each change of a reload through the service that owns it; each decodes its input again, as
// its own entry point does.
const appliersLayer = (config: Config.FoundationConfig, pools: Pools | undefined) =>
  Layer.effect(
    Configuration,
    Effect.gen(function* () {
      const protection = yield* Protection.Protection
      const bulkheads = yield* Bulkhead.Bulkhead
      const breakers = yield* CircuitBreaker.CircuitBreaker
      const limiter = yield* RateLimiter.RateLimiter
      const services = yield* Effect.context<never>()
      const poolOf = (name: string) => {
        const tag = pools === undefined ? undefined : poolTags(pools)[name]
        return tag === undefined
          ? undefined
          : (Context.getOption(services, tag as Context.Key<any, Pool.Pool<unknown, unknown>>) as Option.Option<
              Pool.Pool<unknown, unknown>
            >)
      }
      const apply = (change: Change): Effect.Effect<void, InvalidConfig> => {
        switch (change.kind) {
          case "profile":
            return protection.configure(change.name, encodeProfile(change.profile as Config.Profile))
          case "pool": {
            const pool = poolOf(change.name)
            return pool === undefined || Option.isNone(pool)
              ? Effect.fail(
                  new InvalidConfig({
                    path: `pools.${change.name}`,
                    message: `pools.${change.name}: the pool's layer is not given to Foundation (options.pools), so a reload cannot resize it`
                  })
                )
              : pool.value.resize(change.sizes)
          }
          case "breaker":
            // a new name becomes a configured breaker; a known one keeps its state and counts
            return breakers.configure(change.name, change.policy as CircuitBreaker.BreakerPolicy)
          case "rule":
            // the plan adds no rule: this one exists; each key keeps what it consumed
            return limiter
              .setRule(change.name, change.rule as RateLimiter.RateRule)
              .pipe(
                Effect.catchTag("ProtectionNotFound", (error) =>
                  Effect.fail(new InvalidConfig({ path: `rateLimiter.rules.${change.name}`, message: error.message }))
                )
              )
          case "bulkhead":
            // the plan adds no bulkhead: this one exists, so only a limit can be refused
            return bulkheads
              .configure(change.name, encodeLimits(change.limits as Bulkhead.Limits))
              .pipe(
                Effect.catchTag("ProtectionNotFound", (error) =>
                  Effect.fail(new InvalidConfig({ path: `bulkhead.limits.${change.name}`, message: error.message }))
                )
              )
        }
      }
      return yield* makeReloader(config, Config.decode, { apply })
    })
  )

/** Every service from a decoded configuration (the layer `Foundation.layer` returns, untyped pools). */
export const fromDecoded = (config: Config.FoundationConfig, options: Options) => {
  // decoded by the same Schema CircuitBreaker.layer decodes with: it takes the decoded values as they are
  const breakerOptions: CircuitBreaker.Options = config.circuitBreaker ?? {}
  const rules = { ...(config.rateLimiter?.rules ?? {}) }
  const built = { rateLimiter: options.rateLimiter !== undefined, circuitBreaker: options.circuitBreaker !== undefined }
  const shared = config.redis === undefined ? undefined : sharedStores(config.redis, rules, breakerOptions, built)
  const breakers = shared?.breakers ?? options.circuitBreaker?.(breakerOptions) ?? CircuitBreaker.layer(breakerOptions)
  const limiter = shared?.limiter ?? options.rateLimiter?.(rules) ?? RateLimiter.layer({ rules })
  // decoded by the same Schema MemoryManager.layer decodes with: it takes the decoded values as they are
  const memoryLayer = MemoryManager.layer(config.memory)
  const health = HealthAggregator.layer({
    defaultTimeout: config.health?.defaultTimeout,
    cacheTtl: config.health?.cacheTtl
  })
  const protections = withPools(
    Layer.mergeAll(breakers, limiter, memoryLayer, PerformanceMonitor.layer(config.performance), Bulkhead.layer(config.bulkhead)).pipe(
      Layer.provideMerge(health)
    ),
    options.pools
  )
  // profiles go in encoded, as `Protection.configure` takes them
  const profiles = Protection.layer({
    profiles: Object.fromEntries(Object.entries(config.protections ?? {}).map(([name, p]) => [name, encodeProfile(p)])),
    ...(options.pools === undefined ? {} : { pools: poolTags(options.pools) })
  })
  const services = profiles.pipe(Layer.provideMerge(protections))
  const all = appliersLayer(config, options.pools).pipe(Layer.provideMerge(services))
  const http = config.health?.http
  if (http === undefined) return all
  // decoded by the same Schema HealthHttp.layer decodes with
  const endpoint = HealthHttp.layer(http)
  return Layer.merge(all, endpoint.pipe(Layer.provide(all)))
}
