/**
 * Bulkheads: a limit on how many calls run at once, per named part of the application, so a
 * slow dependency can take only its own share of the process (cockatiel's `bulkhead`,
 * resilience4j's `Bulkhead`, Polly's `ConcurrencyLimiter`). No resource is handed out: use a
 * `Pool` when the calls need one.
 *
 * **Details**
 *
 * - Each bulkhead has `maxConcurrent` slots. A call takes a slot, runs, and gives the slot back
 *   when it ends, whatever the ending: success, failure, defect or interruption.
 * - When every slot is taken, up to `maxWaiting` calls wait for one (default 0: none), first
 *   come, first served. Another call fails `BulkheadFull` at once; a waiting call that gets no
 *   slot within `waitTimeout` (default 5 seconds) fails `BulkheadFull` with `waited` set.
 *   A call interrupted while it waits leaves the queue.
 * - The limits can change at run time (`configure`); running calls are never interrupted.
 * - Metrics `foundation.bulkhead.running`, `foundation.bulkhead.waiting` (gauges) and
 *   `foundation.bulkhead.calls` (counter, `outcome`: `admitted`, `queue_full`, `timeout`),
 *   each with attribute `bulkhead`. With a `HealthAggregator` beneath, each bulkhead reports as
 *   component `bulkhead:<name>`. See `docs/bulkhead.md`.
 *
 * **Example** (At most 10 searches at once, 20 more waiting)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-foundation"
 *
 * const search = Effect.succeed(["result"]).pipe(Bulkhead.limit("search"))
 *
 * const program = search.pipe(
 *   Effect.catchTag("BulkheadFull", () => Effect.succeed([])),
 *   Effect.provide(Bulkhead.layer({ limits: { search: { maxConcurrent: 10, maxWaiting: 20, waitTimeout: "1 second" } } }))
 * )
 * Effect.runPromise(program) // => ["result"]
 * ```
 *
 * @since 0.2.0
 */
import type { Duration } from "effect"
import { Context, Effect, Layer } from "effect"
import { dual } from "effect/Function"
import type { BulkheadFull, InvalidConfig, ProtectionNotFound } from "./Errors.js"
import { type Compartment, SlotGuard } from "./internal/bulkhead/compartment.js"
import { LimitsSchema as LimitsSchemaStruct, OptionsSchema as OptionsSchemaStruct } from "./internal/bulkhead/options.js"
import { makeRegistry, type Registry } from "./internal/bulkhead/registry.js"
import { guarded, implementation } from "./internal/runtime/guardedCall.js"

/**
 * The Schema of one bulkhead's limits, data only. `layer`, the configuration file and
 * `configure` decode through it, strictly (an unknown key fails `InvalidConfig` with its path
 * and the nearest option's name).
 *
 * **Details**
 *
 * | field | constraint | default |
 * | --- | --- | --- |
 * | `maxConcurrent` | integer >= 1 | required |
 * | `maxWaiting` | integer >= 0 | 0 (a full bulkhead rejects at once) |
 * | `waitTimeout` | positive, at most 2^31 - 1 ms | 5 seconds |
 *
 * **Example** (The defaults the limits decode to)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Bulkhead } from "effect-foundation"
 *
 * const limits = Schema.decodeUnknownSync(Bulkhead.LimitsSchema)({ maxConcurrent: 4 })
 * limits.maxWaiting // => 0
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const LimitsSchema = LimitsSchemaStruct

/**
 * The Schema of the options, data only: `{ limits: { <name>: LimitsSchema } }`. `layer` and the
 * configuration file decode through it; its decoded value is valid input to `layer` again.
 *
 * **Example** (Decoding options from JSON)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Bulkhead } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(Bulkhead.OptionsSchema)({ limits: { search: { maxConcurrent: 10 } } })
 * const layer = Bulkhead.layer(options)
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionsSchema = OptionsSchemaStruct

/**
 * One bulkhead's limits as written: `maxConcurrent`, and optionally `maxWaiting` and
 * `waitTimeout` (a `Duration`, a string such as `"1 second"`, or milliseconds).
 *
 * @since 0.2.0
 * @category models
 */
export type LimitsInput = typeof LimitsSchema.Encoded

/**
 * One bulkhead's limits, decoded (what `status` reports).
 *
 * @since 0.2.0
 * @category models
 */
export interface Limits {
  readonly maxConcurrent: number
  readonly maxWaiting: number
  readonly waitTimeout: Duration.Duration
}

/**
 * The options as written: the input type of `OptionsSchema`.
 *
 * @since 0.2.0
 * @category models
 */
export type Options = typeof OptionsSchema.Encoded

/**
 * One bulkhead's state and limits. `admitted` counts calls given a slot; `rejected` calls
 * turned away at once (queue full, or over a lowered `maxWaiting`); `timedOut` waiters turned
 * away at `waitTimeout`. `running` may exceed `limits.maxConcurrent` for a while after the
 * limit was lowered.
 *
 * @since 0.2.0
 * @category models
 */
export interface Status {
  readonly bulkhead: string
  readonly running: number
  readonly waiting: number
  readonly limits: Limits
  readonly admitted: number
  readonly rejected: number
  readonly timedOut: number
}

/**
 * What a limited call can fail with besides its own errors: `BulkheadFull` (no slot: the
 * queue was full, or the wait timed out) and `ProtectionNotFound` (no bulkhead has that name).
 *
 * @since 0.2.0
 * @category models
 */
export type BulkheadError = BulkheadFull | ProtectionNotFound

/**
 * The bulkhead service.
 *
 * @since 0.2.0
 * @category services
 */
export class Bulkhead extends Context.Service<
  Bulkhead,
  {
    /** runs `self` in a slot of the bulkhead `bulkhead` (errors as for `limit`) */
    readonly execute: (bulkhead: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadError, R>
    /** fails `ProtectionNotFound` (naming the nearest bulkhead) when `bulkhead` has none */
    readonly status: (bulkhead: string) => Effect.Effect<Status, ProtectionNotFound>
    /** new limits, decoded through `LimitsSchema` (see `configure`) */
    readonly configure: (bulkhead: string, limits: LimitsInput) => Effect.Effect<void, InvalidConfig | ProtectionNotFound>
    readonly names: Effect.Effect<ReadonlyArray<string>>
  }
>()("effect-foundation/Bulkhead") {}

/**
 * Builds the service in the current scope (what `layer` does); closing the scope interrupts
 * the calls still waiting. Bad options fail `InvalidConfig`: `path` names the first violation
 * (`limits.search.maxConcurrent`), the message lists every one as `path: message`.
 *
 * **Example** (A scoped service)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-foundation"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const bulkheads = yield* Bulkhead.make({ limits: { reports: { maxConcurrent: 2 } } })
 *   return yield* bulkheads.names
 * }))
 * Effect.runPromise(program) // => ["reports"]
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function* (options: Options = {}) {
  const registry = yield* makeRegistry(options)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      // do not keep a closed service's context alive through the `limit` cache
      if (lastRegistry === registry) {
        lastService = undefined
        lastContext = undefined
        lastRegistry = undefined
      }
    })
  )
  const execute = (bulkhead: string) => {
    const compartment = registry.get(bulkhead)
    if (compartment === undefined) return <A, E, R>(_: Effect.Effect<A, E, R>) => Effect.fail(registry.notFound(bulkhead))
    return <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.suspend(() => compartment.run(self))
  }
  const service = Bulkhead.of({
    execute,
    status: (bulkhead) => registry.status(bulkhead),
    configure: (bulkhead, limits) => registry.configure(bulkhead, limits),
    names: Effect.sync(() => [...registry.compartments.keys()])
  })
  return Object.defineProperty(service, registryKey, { value: registry, enumerable: false })
})

/**
 * Provides the `Bulkhead` service. Invalid options fail the layer with `InvalidConfig` (see
 * `make`). When `HealthAggregator` is provided beneath, each bulkhead reports as component
 * `bulkhead:<name>`: degraded while every slot is taken and calls wait, or while it turned a
 * call away within the last minute; never unhealthy.
 *
 * **Example** (Two bulkheads)
 *
 * ```ts
 * import { Bulkhead } from "effect-foundation"
 *
 * const layer = Bulkhead.layer({
 *   limits: {
 *     search: { maxConcurrent: 10, maxWaiting: 50, waitTimeout: "500 millis" },
 *     exports: { maxConcurrent: 2 }
 *   }
 * })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Bulkhead, InvalidConfig> => Layer.effect(Bulkhead, make(options))

// The service value carries its registry under a private symbol, so `limit` reaches the
// bulkheads without going through `execute`, and tells our service from a test double.
const registryKey = Symbol.for("effect-foundation/Bulkhead/registry")
const registryOf = (service: Bulkhead["Service"]): Registry | undefined =>
  (service as unknown as Record<symbol, Registry | undefined>)[registryKey]

// The last context a limited call ran in, and its service: a fiber's context changes rarely,
// so most calls skip the lookup.
let lastContext: unknown
let lastService: Bulkhead["Service"] | undefined
let lastRegistry: Registry | undefined

/**
 * Runs an effect in a slot of the named bulkhead of the `Bulkhead` in context.
 *
 * **Details**
 *
 * The bulkhead is looked up when the effect runs, so a limited effect can be built once and
 * run many times. With a free slot and nobody waiting the call runs at once. Otherwise it
 * waits (when `maxWaiting` allows) for at most `waitTimeout`, first come, first served, or
 * fails `BulkheadFull`. A name with no bulkhead fails `ProtectionNotFound`, naming the nearest.
 *
 * **Example** (Data-last and data-first)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-foundation"
 *
 * const a = Effect.succeed(1).pipe(Bulkhead.limit("search"))
 * const b = Bulkhead.limit(Effect.succeed(1), "search")
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const limit: {
  (bulkhead: string): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadError, R | Bulkhead>
  <A, E, R>(self: Effect.Effect<A, E, R>, bulkhead: string): Effect.Effect<A, E | BulkheadError, R | Bulkhead>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, bulkhead: string): Effect.Effect<A, E | BulkheadError, R | Bulkhead> => {
  // the bulkhead found on the last run (and its fast-path guard), for the registry it came from
  let cachedRegistry: Registry | undefined
  let cached: Compartment | undefined
  let cachedGuard: SlotGuard<A, E, R> | undefined
  return Effect.withFiber((fiber) => {
    let service = lastService
    let registry = lastRegistry
    if (fiber.context !== lastContext || service === undefined) {
      service = Context.getUnsafe(fiber.context, Bulkhead)
      registry = registryOf(service)
      lastContext = fiber.context
      lastService = service
      lastRegistry = registry
    }
    if (registry === undefined) return service.execute(bulkhead)(self)
    if (registry !== cachedRegistry) {
      cachedRegistry = registry
      cached = registry.get(bulkhead)
      cachedGuard = cached === undefined || implementation() !== "fast" ? undefined : new SlotGuard(cached, self)
    }
    if (cached === undefined) return Effect.fail(registry.notFound(bulkhead))
    return cachedGuard === undefined ? cached.run(self) : guarded(self, cachedGuard)
  })
})

/**
 * The named bulkhead's state and limits (see `Status`).
 *
 * **Example** (How full is it?)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-foundation"
 *
 * const load = Effect.map(Bulkhead.status("search"), (s) => s.running / s.limits.maxConcurrent)
 * ```
 *
 * @since 0.2.0
 * @category getters
 */
export const status = (bulkhead: string): Effect.Effect<Status, ProtectionNotFound, Bulkhead> =>
  Bulkhead.use((service) => service.status(bulkhead))

/**
 * The configured bulkheads' names.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-foundation"
 *
 * const listed = Effect.map(Bulkhead.names, (names) => names.join(", "))
 * ```
 *
 * @since 0.2.0
 * @category getters
 */
export const names: Effect.Effect<ReadonlyArray<string>, never, Bulkhead> = Bulkhead.use((service) => service.names)

/**
 * Changes a bulkhead's limits at run time, decoded through `LimitsSchema` (a mistake fails
 * `InvalidConfig`, path under `limits.<name>`; an unknown name `ProtectionNotFound`). The new
 * limits replace the old ones whole: an omitted field takes its default.
 *
 * **Details**
 *
 * - Running calls are never interrupted. After `maxConcurrent` is lowered they finish, and
 *   new calls are admitted only once fewer than the new limit run.
 * - A raised `maxConcurrent` admits waiting calls at once.
 * - Waiting calls over a lowered `maxWaiting` fail `BulkheadFull` (the latest first; the
 *   earlier keep their place).
 * - A new `waitTimeout` applies to the calls already waiting too, counted from when each
 *   started; those already past it fail `BulkheadFull` at once.
 *
 * **Example** (Halving a bulkhead under load)
 *
 * ```ts
 * import { Bulkhead } from "effect-foundation"
 *
 * const shrink = Bulkhead.configure("search", { maxConcurrent: 5, maxWaiting: 10 })
 * ```
 *
 * @since 0.2.0
 * @category runtime control
 */
export const configure = (bulkhead: string, limits: LimitsInput): Effect.Effect<void, InvalidConfig | ProtectionNotFound, Bulkhead> =>
  Bulkhead.use((service) => service.configure(bulkhead, limits))
