/**
 * Typed resource pools that never leak and never stop handing out (Poolboy's vocabulary:
 * `size`, `maxOverflow`, checkout timeout, status).
 *
 * **Details**
 *
 * - `size` resources are the base; under load up to `maxOverflow` more are created, and they
 *   are destroyed again once idle for `idleTimeout` (default 30 seconds). Creation is lazy by
 *   default; `minIdle` keeps that many idle resources ready (created at start and topped up).
 * - A checkout waits at most `checkoutTimeout` (default 5 seconds), then fails
 *   `PoolCheckoutTimeout`. Waiters are served first come, first served. While a checkout waits,
 *   the resource it waits for may be being created: the timeout covers that too.
 * - `validate` runs when an already-used resource is handed out; a failing or dead resource is
 *   destroyed and replaced. `maxLifetime` retires a resource when it comes back (or sits idle)
 *   after its lifetime, minus up to `lifetimeJitter` (10%) so resources do not all retire at once.
 * - A failing `acquire` fails the caller it was started for with the typed error and frees its
 *   slot; `release` failures are logged, never raised.
 * - An `acquire` running longer than `acquireTimeout` (default 30 seconds) is interrupted and
 *   counted as failed; its slot is freed at once and the waiters get a new attempt. If it
 *   returns a resource anyway, that resource is released, never handed out.
 * - A resource is returned when its use ends, fails or is interrupted, and destroyed when the
 *   use died (a defect). Closing the layer's scope stops checkouts, waits for resources in use
 *   (up to `shutdownTimeout`) and releases every resource exactly once.
 *
 * **Example** (A pool of connections)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * interface Connection { readonly query: (sql: string) => Effect.Effect<number> }
 * class DbPool extends Context.Service<DbPool, Pool.Pool<Connection>>()("app/DbPool") {}
 *
 * const DbPoolLive = Pool.layer(DbPool, {
 *   acquire: Effect.succeed<Connection>({ query: () => Effect.succeed(1) }),
 *   size: 10,
 *   maxOverflow: 5,
 *   checkoutTimeout: "2 seconds"
 * })
 * const program = Pool.use(DbPool, (connection) => connection.query("select 1"))
 * Effect.runPromise(program.pipe(Effect.provide(DbPoolLive))) // => 1
 * ```
 *
 * @since 0.1.0
 */
import type { Context, Duration, Scope } from "effect"
import { Effect, Layer } from "effect"
import { dual } from "effect/Function"
import type { InvalidConfig, PoolCheckoutTimeout } from "./Errors.js"
import { makeShell } from "./internal/pool/shell.js"

/**
 * A pool's counters. `overflow` is how many resources exist above `size`; `checkouts` counts
 * served checkouts and `reused` those served by a resource that had served before, so
 * `reused / checkouts` is the reuse ratio.
 *
 * @since 0.1.0
 * @category models
 */
export interface Status {
  readonly size: number
  readonly maxOverflow: number
  readonly idle: number
  readonly inUse: number
  readonly overflow: number
  readonly waiting: number
  /** acquisitions in flight */
  readonly creating: number
  readonly created: number
  readonly destroyed: number
  readonly checkouts: number
  readonly reused: number
  /** checkouts that timed out */
  readonly timeouts: number
  /** acquisitions that failed, died or exceeded `acquireTimeout` */
  readonly acquireFailures: number
  /** acquisitions given up after `acquireTimeout` (also counted in `acquireFailures`) */
  readonly acquireTimeouts: number
}

/**
 * The pool service: what `Pool.layer` provides under your tag.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pool<in out A, in out E = never> {
  readonly name: string
  /** checks a resource out, runs `f` with it, and returns (or destroys) it whatever happens */
  readonly use: <B, E2, R2>(
    f: (resource: A) => Effect.Effect<B, E2, R2>
  ) => Effect.Effect<B, E | E2 | PoolCheckoutTimeout, R2>
  readonly status: Effect.Effect<Status>
  /** the same as `status`, read synchronously (for dashboards and logs) */
  readonly statusUnsafe: () => Status
}

/**
 * How to build a pool. Durations are `Duration.Input` (`"5 seconds"`, millis, `Duration`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<A, E, R> {
  readonly acquire: Effect.Effect<A, E, R>
  /** destroys a resource; failures are logged and the resource counts as destroyed */
  readonly release?: ((resource: A) => Effect.Effect<unknown, unknown, R>) | undefined
  /** runs when an already-used resource is handed out; false, a failure or a defect replaces it */
  readonly validate?: ((resource: A) => Effect.Effect<boolean, unknown, R>) | undefined
  /** base number of resources (integer >= 1) */
  readonly size: number
  /** extra resources allowed under load (integer >= 0, default 0) */
  readonly maxOverflow?: number | undefined
  /** idle resources kept ready, created eagerly (integer in [0, size], default 0: lazy) */
  readonly minIdle?: number | undefined
  /** which idle resource a checkout takes: "lifo" (default) keeps a warm one, "fifo" spreads use */
  readonly strategy?: "fifo" | "lifo" | undefined
  /** longest wait for a resource (default 5 seconds, at most 2^31 - 1 ms) */
  readonly checkoutTimeout?: Duration.Input | undefined
  /**
   * The longest one `acquire` may run (default 30 seconds, at most 2^31 - 1 ms).
   *
   * **Details**
   *
   * Past it the acquisition is interrupted and counted as failed (`acquireFailures`,
   * `acquireTimeouts`, metric `foundation.pool.acquire_failures` with `reason: "timeout"`),
   * and its slot is freed at once: a hung dependency can hold a slot for this long, never for
   * good. Nobody is failed by it: the waiter it was started for keeps its place, a new attempt
   * starts for the waiters, and each waiter is still bounded by `checkoutTimeout`. If the
   * acquire ignores the interruption and returns later, that resource is released, never
   * handed out. The default is tarn's `createTimeoutMillis`: far above a healthy connect (TLS
   * included), well below the minutes an unanswered TCP connect can take.
   *
   * **Example** (Give up on a connect after 3 seconds)
   *
   * ```ts
   * import { Effect } from "effect"
   * import { Pool } from "effect-foundation"
   *
   * const program = Effect.scoped(Effect.gen(function*() {
   *   const pool = yield* Pool.make({ acquire: Effect.succeed("connection"), size: 4, acquireTimeout: "3 seconds" })
   *   return yield* pool.use((connection) => Effect.succeed(connection.length))
   * }))
   * Effect.runPromise(program) // => 10
   * ```
   */
  readonly acquireTimeout?: Duration.Input | undefined
  /** how long an overflow resource may sit idle before it is destroyed (default 30 seconds) */
  readonly idleTimeout?: Duration.Input | undefined
  /** retire a resource after this long (default: never) */
  readonly maxLifetime?: Duration.Input | undefined
  /** fraction of maxLifetime subtracted at random per resource, in [0, 1) (default 0.1) */
  readonly lifetimeJitter?: number | undefined
  /** how long closing waits for resources in use and acquisitions running (default 30 seconds, at most 2^31 - 1 ms) */
  readonly shutdownTimeout?: Duration.Input | undefined
  /** log (once) a resource held longer than this, with the holder's span (default: off, at most 2^31 - 1 ms) */
  readonly leakWarning?: Duration.Input | undefined
  /** the pool's name in errors, metrics and health (default: the tag's key, or "pool") */
  readonly name?: string | undefined
}

/**
 * Builds a pool in the current scope; closing the scope shuts it down. Prefer `layer` in
 * applications; `make` suits tests and libraries that hold a pool privately.
 *
 * **Gotchas**
 *
 * Bad options, the code part included (a missing `acquire`, a `release` that is not a
 * function), fail with `InvalidConfig` naming the option in `path`; nothing throws.
 *
 * **Example** (A scoped pool)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* Pool.make({ acquire: Effect.succeed("resource"), size: 2 })
 *   return yield* pool.use((resource) => Effect.succeed(resource.length))
 * }))
 * Effect.runPromise(program) // => 8
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A, E, R>(
  options: Options<A, E, R>
): Effect.Effect<Pool<A, E>, InvalidConfig, R | Scope.Scope> => makeShell(options)

/**
 * Provides a pool under your own tag. Invalid options fail the layer with `InvalidConfig`
 * (every problem listed, the first one's path in `path`). When `HealthAggregator` is provided
 * beneath, the pool reports as component `pool:<name>`: degraded while exhausted with callers
 * waiting, and while acquisitions are failing or timing out (the last one failed within a
 * minute, or two `acquireTimeout`s if longer, and none succeeded since).
 *
 * **Example** (A pool layer)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * class Workers extends Context.Service<Workers, Pool.Pool<number>>()("app/Workers") {}
 * let next = 0
 * const WorkersLive = Pool.layer(Workers, { acquire: Effect.sync(() => next++), size: 4, strategy: "fifo" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <Self, A, E, R>(
  tag: Context.Key<Self, Pool<A, E>>,
  options: Options<A, E, R>
): Layer.Layer<Self, InvalidConfig, Exclude<R, Scope.Scope>> =>
  Layer.effect(tag, makeShell({ ...options, name: options?.name ?? tag.key }))

/**
 * Checks a resource out of the pool under `tag`, runs `f` with it and gives it back (or
 * destroys it when `f` died), whatever happens to the fiber.
 *
 * **Gotchas**
 *
 * Do not let the resource escape `f`: after `f` ends, another caller may hold it.
 *
 * **Example** (Both forms)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * class Workers extends Context.Service<Workers, Pool.Pool<number>>()("app/Workers") {}
 * const a = Pool.use(Workers, (worker) => Effect.succeed(worker * 2))
 * const b = Workers.pipe(Pool.use((worker: number) => Effect.succeed(worker * 2)))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const use: {
  <A, B, E2, R2>(
    f: (resource: A) => Effect.Effect<B, E2, R2>
  ): <Self, E>(tag: Context.Key<Self, Pool<A, E>>) => Effect.Effect<B, E | E2 | PoolCheckoutTimeout, R2 | Self>
  <Self, A, E, B, E2, R2>(
    tag: Context.Key<Self, Pool<A, E>>,
    f: (resource: A) => Effect.Effect<B, E2, R2>
  ): Effect.Effect<B, E | E2 | PoolCheckoutTimeout, R2 | Self>
} = dual(2, <Self, A, E, B, E2, R2>(
  tag: Context.Key<Self, Pool<A, E>>,
  f: (resource: A) => Effect.Effect<B, E2, R2>
): Effect.Effect<B, E | E2 | PoolCheckoutTimeout, R2 | Self> => Effect.flatMap(tag, (pool) => pool.use(f)))

/**
 * The pool's counters (see `Status`).
 *
 * **Example** (Reading the reuse ratio)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * class Workers extends Context.Service<Workers, Pool.Pool<number>>()("app/Workers") {}
 * const reuse = Effect.map(Pool.status(Workers), (s) => s.reused / Math.max(1, s.checkouts))
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const status = <Self, A, E>(tag: Context.Key<Self, Pool<A, E>>): Effect.Effect<Status, never, Self> =>
  Effect.flatMap(tag, (pool) => pool.status)
