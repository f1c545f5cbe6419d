/**
 * The named profiles of `Protection.layer`: installing one (decode, then check its
 * references against the services present), and running calls under it through the stages.
 */
import { Context, Effect, Exit, Option } from "effect"
import * as Bulkhead from "../../Bulkhead.js"
import * as CircuitBreaker from "../../CircuitBreaker.js"
import * as Config from "../../Config.js"
import type { ProtectionError } from "../../Errors.js"
import { InvalidConfig, ProtectionNotFound } from "../../Errors.js"
import type { Protection, Options, Policy, ProfileStatus } from "../../Protection.js"
import * as MemoryManager from "../../MemoryManager.js"
import * as PerformanceMonitor from "../../PerformanceMonitor.js"
import type * as Pool from "../../Pool.js"
import * as RateLimiter from "../../RateLimiter.js"
import type { Violation } from "../runtime/options.js"
import { invalidConfig } from "../runtime/options.js"
import { dangling } from "./references.js"
import * as Stages from "./stages.js"

/** A profile as installed: its configuration and what its calls fail with before any stage. */
interface Installed {
  readonly config: Config.Profile
  /** `execute`'s failure for a profile that names a pool */
  readonly needsPool: InvalidConfig | undefined
}

/** The service behind `Protection.layer`, on the protections present in the context. */
export const makeProfiles = Effect.fnUntraced(function* (options: Options) {
  const built = (yield* Effect.context<never>()) as Context.Context<any>
  // the protections present when the layer was built, which profiles run their stages against;
  // nothing else of the layer's context (its scope above all: what a call acquires is released
  // with the caller's scope, not when this layer closes)
  const services = Context.pick(
    CircuitBreaker.CircuitBreaker,
    RateLimiter.RateLimiter,
    Bulkhead.Bulkhead,
    MemoryManager.MemoryManager,
    PerformanceMonitor.PerformanceMonitor,
    ...Object.values(options.pools ?? {})
  )(built) as Context.Context<any>
  // replaced whole by `configure` (in one synchronous step), read by every call without an effect
  let profiles = new Map<string, Installed>()
  // A call runs in the caller's context with these services over it. A fiber keeps its context
  // across calls, so that context is made once per caller context, not per call, and the
  // stages' own caches of the last context they ran in keep hitting; a caller whose context
  // already holds these very services (one application layer) runs in its own. One entry,
  // cleared with the layer.
  let lastCaller: Context.Context<any> | undefined
  let lastMerged: Context.Context<any> | undefined
  const withServices = (caller: Context.Context<any>): Context.Context<any> => {
    if (caller !== lastCaller) {
      lastMerged = holdsServices(caller) ? caller : Context.merge(caller, services)
      lastCaller = caller
    }
    return lastMerged!
  }
  const holdsServices = (caller: Context.Context<any>): boolean => {
    for (const [key, service] of services.mapUnsafe) if (caller.mapUnsafe.get(key) !== service) return false
    return true
  }
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      lastCaller = undefined
      lastMerged = undefined
    })
  )
  const has = <S>(tag: Context.Key<any, S>) => Option.isSome(Context.getOption(services, tag))
  const pools = new Map<string, { readonly key: string; readonly pool: Pool.Pool<any, any> }>()
  for (const [name, tag] of Object.entries(options.pools ?? {})) {
    const pool = Context.getOption(built, tag)
    if (Option.isNone(pool)) {
      return yield* new InvalidConfig({ path: `pools.${name}`, message: `pools.${name}: the pool's layer is not provided` })
    }
    pools.set(name, { key: tag.key, pool: pool.value })
  }
  const breakerService = Context.getOption(services, CircuitBreaker.CircuitBreaker)
  const limiter = Context.getOption(services, RateLimiter.RateLimiter)
  const bulkheads = Context.getOption(services, Bulkhead.Bulkhead)
  // the breakers listed in the service's `breakers`, as the file checks its `breakers` section;
  // one created on first use from `defaults` is not a configured breaker. An implementation
  // other than ours (a test double) answers with its `names`.
  const configuredBreakers = Option.isNone(breakerService)
    ? Effect.succeed(undefined)
    : Effect.suspend(() => {
        const registry = CircuitBreaker.registryOf(breakerService.value)
        return registry === undefined ? breakerService.value.names : Effect.succeed([...registry.configured.keys()])
      })

  const validate = Effect.fnUntraced(function* (name: string, config: Config.Profile) {
    const base = `protections.${name}`
    const violations: Array<Violation> = []
    const missing = (field: string, what: string) => violations.push({ path: `${base}.${field}`, message: what })
    if (config.rateLimit !== undefined && Option.isNone(limiter)) missing("rateLimit", "no RateLimiter layer is provided")
    if (config.circuitBreaker !== undefined && Option.isNone(breakerService)) {
      missing("circuitBreaker", "no CircuitBreaker layer is provided")
    }
    if (config.bulkhead !== undefined && Option.isNone(bulkheads)) missing("bulkhead", "no Bulkhead layer is provided")
    if (config.monitor !== undefined && !has(PerformanceMonitor.PerformanceMonitor)) {
      missing("monitor", "no PerformanceMonitor layer is provided")
    }
    const issues = dangling(config, {
      breakers: yield* configuredBreakers,
      // the service's own list, not a store call: a Redis store that is down at start-up must
      // not make a configured rule look missing (its rule may well be failOpen)
      rules: Option.isNone(limiter) ? undefined : limiter.value.names,
      pools: [...pools.keys()],
      bulkheads: Option.isNone(bulkheads) ? undefined : yield* bulkheads.value.names,
      memory: has(MemoryManager.MemoryManager)
    })
    for (const { issue, path } of issues) violations.push({ path: [base, ...path].join("."), message: issue })
    const error = invalidConfig(violations)
    if (error !== undefined) return yield* error
  })

  const configure = (name: string, input: unknown) =>
    Effect.gen(function* () {
      const config = yield* Config.decodeProfile(input, `protections.${name}`)
      yield* validate(name, config)
      const needsPool =
        config.pool === undefined
          ? undefined
          : new InvalidConfig({
              path: `protections.${name}.pool`,
              message:
                `protections.${name}.pool: profile "${name}" checks a resource out of pool "${config.pool}", ` +
                `so it runs with executeWith(profile, pool, f), not execute`
            })
      profiles = new Map(profiles).set(name, { config, needsPool })
    })

  for (const [name, input] of Object.entries(options.profiles ?? {})) yield* configure(name, input)

  const notFound = (name: string) => Exit.fail(new ProtectionNotFound({ kind: "profile", protection: name }))
  /** `body` of the profile `name`, run on this layer's services; an unknown name fails at once (every method goes through here) */
  const run = <A, E>(name: string, body: (profile: Installed) => Effect.Effect<A, E, any>) =>
    Effect.withFiber((fiber): Effect.Effect<A, E | ProtectionNotFound, any> => {
      const found = profiles.get(name)
      if (found === undefined) return notFound(name)
      const context = withServices(fiber.context as Context.Context<any>)
      // a caller whose context holds the protections already runs the call as it is
      return context === fiber.context ? body(found) : Effect.updateContext(body(found), () => context)
    })
  const policyFor = (name: string, config: Config.Profile, key: string): Policy => {
    const policy: { -readonly [K in keyof Policy]: Policy[K] } = { profile: name }
    if (config.rateLimit !== undefined) {
      policy.rateLimit =
        config.rateLimit.cost === undefined
          ? { rule: config.rateLimit.rule, key }
          : { rule: config.rateLimit.rule, key, cost: config.rateLimit.cost }
    }
    if (config.memory !== undefined) policy.memory = config.memory
    if (config.circuitBreaker !== undefined) policy.circuitBreaker = config.circuitBreaker
    if (config.bulkhead !== undefined) policy.bulkhead = config.bulkhead
    if (config.timeout !== undefined) policy.timeout = config.timeout
    if (config.checkoutTimeout !== undefined) policy.checkoutTimeout = config.checkoutTimeout
    if (config.monitor !== undefined) policy.monitor = config.monitor
    if (config.poolTimeoutIsFailure !== undefined) policy.poolTimeoutIsFailure = config.poolTimeoutIsFailure
    return policy
  }
  const wrongPool = (name: string, config: Config.Profile, given: string) =>
    new InvalidConfig({
      path: `protections.${name}.pool`,
      message:
        config.pool === undefined
          ? `protections.${name}.pool: profile "${name}" names no pool, so executeWith has none to check out of ` +
            `(given ${given}); name one, or run it with execute`
          : `protections.${name}.pool: profile "${name}" checks out of pool "${config.pool}" (${
              pools.get(config.pool)?.key
            }), but executeWith was given ${given}`
    })

  const service: Protection["Service"] = {
    configure,
    execute: <A, E, R>(name: string, effect: Effect.Effect<A, E, R>, callOptions?: { readonly key?: string }) =>
      run(name, ({ config, needsPool }) =>
        needsPool !== undefined ? Exit.fail(needsPool) : Stages.protect(effect, policyFor(name, config, callOptions?.key ?? "global"))
      ) as Effect.Effect<A, E | ProtectionError | ProtectionNotFound | InvalidConfig, R>,
    executeWith: <Resource, PE, A, E, R>(
      name: string,
      tag: Context.Key<any, Pool.Pool<Resource, PE>>,
      f: (resource: Resource) => Effect.Effect<A, E, R>,
      callOptions?: { readonly key?: string }
    ) =>
      run(name, ({ config }) => {
        const entry = config.pool === undefined ? undefined : pools.get(config.pool)
        if (entry === undefined || entry.key !== tag.key) return Exit.fail(wrongPool(name, config, tag.key))
        // the tag, found in this layer's services: the checkout goes in one step with the rate
        // limit and the breaker, as in `protectWith`
        return Stages.protectWith(tag, policyFor(name, config, callOptions?.key ?? "global"), f)
      }) as Effect.Effect<A, E | PE | ProtectionError | ProtectionNotFound | InvalidConfig, R>,
    status: (name, statusOptions) =>
      run(name, ({ config }) =>
        Effect.gen(function* () {
          const breaker =
            config.circuitBreaker === undefined
              ? undefined
              : yield* Effect.option(CircuitBreaker.CircuitBreaker.use((s) => s.status(config.circuitBreaker!)))
          const limit =
            config.rateLimit === undefined
              ? undefined
              : yield* Effect.option(RateLimiter.RateLimiter.use((s) => s.status(config.rateLimit!.rule, statusOptions?.key ?? "global")))
          const pool = config.pool === undefined ? undefined : pools.get(config.pool)?.pool
          const status: { -readonly [K in keyof ProfileStatus]: ProfileStatus[K] } = { profile: name, config }
          if (breaker !== undefined && Option.isSome(breaker)) status.circuitBreaker = breaker.value
          if (limit !== undefined && Option.isSome(limit)) status.rateLimit = limit.value
          if (pool !== undefined) status.pool = pool.statusUnsafe()
          return status as ProfileStatus
        })
      ) as Effect.Effect<ProfileStatus, ProtectionNotFound>,
    names: Effect.sync(() => [...profiles.keys()])
  }
  return service
})
