/**
 * Typed resource pools that never leak and never stop handing out (Poolboy's vocabulary:
 * `size`, `maxOverflow`, checkout timeout, status).
 *
 * **Details**
 *
 * - `size` resources are the base, up to `maxOverflow` more under load (destroyed once idle
 *   for `idleTimeout`); `minIdle` keeps that many idle resources ready.
 * - A checkout waits at most `checkoutTimeout` (`PoolCheckoutTimeout`), by priority then first
 *   come, first served; over `maxWaiting` waiters it fails `PoolExhausted` at once.
 * - `validate` checks a used resource before handing it out; `maxLifetime` retires resources.
 * - A failing `acquire` fails the caller it was started for; one running past
 *   `acquireTimeout` is given up. `release` failures are logged, never raised.
 * - A resource is returned when its use ends, fails or is interrupted, and destroyed when the
 *   use died. Closing the scope waits for resources in use (up to `shutdownTimeout`) and
 *   releases every resource exactly once. The full rules: docs/pool.md.
 *
 * **Example** (A pool of connections)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * class DbPool extends Context.Service<DbPool, Pool.Pool<number>>()("app/DbPool") {}
 * const DbPoolLive = Pool.layer(DbPool, { acquire: Effect.succeed(1), size: 10, maxOverflow: 5 })
 * const program = Pool.use(DbPool, (connection) => Effect.succeed(connection + 1))
 * Effect.runPromise(program.pipe(Effect.provide(DbPoolLive))) // => 2
 * ```
 *
 * @since 0.1.0
 */
import type { Duration, Scope } from "effect"
import { Context, Effect, Layer } from "effect"
import { dual } from "effect/Function"
import type { InvalidConfig, OperationTimeout, PoolCheckoutTimeout, PoolExhausted } from "./Errors.js"
import * as PoolConfig from "./internal/pool/config.js"
import type { ResizeSchema } from "./internal/pool/resize.js"
import { makeShell } from "./internal/pool/shell.js"
import type { UseCombinator } from "./internal/pool/types.js"

/**
 * A pool's counters. `overflow`: resources above `size`; `creating`: acquisitions in flight;
 * `reused / checkouts` is the reuse ratio; `timeouts`: checkouts timed out; `exhausted`:
 * refused over `maxWaiting`; `acquireFailures`: acquisitions failed, died or past
 * `acquireTimeout`, those last also in `acquireTimeouts`.
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
  readonly creating: number
  readonly created: number
  readonly destroyed: number
  readonly checkouts: number
  readonly reused: number
  readonly timeouts: number
  readonly exhausted: number
  readonly acquireFailures: number
  readonly acquireTimeouts: number
}

/**
 * What a checkout itself can fail with: no resource in time, or a full queue.
 *
 * @since 0.3.0
 * @category errors
 */
export type CheckoutError = PoolCheckoutTimeout | PoolExhausted

/**
 * The pool service: what `Pool.layer` provides under your tag.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pool<in out A, in out E = never> {
  readonly name: string
  /**
   * checks a resource out, runs `f` with it, and returns (or destroys) it whatever happens;
   * `options` (see `CheckoutOptions`) set this checkout's timeout and priority
   */
  readonly use: {
    <B, E2, R2>(f: (resource: A) => Effect.Effect<B, E2, R2>): Effect.Effect<B, E | E2 | CheckoutError, R2>
    <B, E2, R2>(
      f: (resource: A) => Effect.Effect<B, E2, R2>,
      options: CheckoutOptions
    ): Effect.Effect<B, E | E2 | CheckoutError | InvalidConfig, R2>
  }
  /**
   * waits until `minIdle` resources exist (idle or in use), at most `readyTimeout`, then fails
   * `OperationTimeout` (generic-pool's `ready()`); at once when `minIdle` is 0
   */
  readonly ready: Effect.Effect<void, OperationTimeout>
  /** changes the sizing at run time (see `Pool.resize`) */
  readonly resize: (sizing: Resize) => Effect.Effect<void, InvalidConfig>
  readonly status: Effect.Effect<Status>
  /** the same as `status`, read synchronously (for dashboards and logs) */
  readonly statusUnsafe: () => Status
}

/**
 * One checkout's own options, decoded through `CheckoutOptionsSchema`:
 *
 * - `checkoutTimeout`: how long this checkout may wait, instead of the pool's `checkoutTimeout`
 *   (positive, at most 2^31 - 1 ms).
 * - `priority`: an integer >= 0; waiters are served by priority, 0 (the default) first, and
 *   first come, first served within a priority (generic-pool's `acquire(priority)`, same
 *   numbers). A newcomer never takes an idle resource ahead of a waiter, whatever its priority.
 *
 * **Gotchas**: bad options fail the checkout with `InvalidConfig`. Options are decoded once per
 * object: on a hot path pass the same object (a constant), and a checkout pays a lookup.
 *
 * **Example** (An urgent checkout with a short wait)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * class Db extends Context.Service<Db, Pool.Pool<number>>()("app/Db") {}
 * const urgent: Pool.CheckoutOptions = { checkoutTimeout: "200 millis", priority: 0 }
 * const query = Pool.use(Db, (connection) => Effect.succeed(connection), urgent)
 * ```
 *
 * @since 0.3.0
 * @category models
 */
export interface CheckoutOptions {
  readonly checkoutTimeout?: Duration.Input | undefined
  readonly priority?: number | undefined
}

/**
 * The Schema a checkout's options decode through (see `CheckoutOptions`).
 *
 * **Example** (Checking checkout options)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(Pool.CheckoutOptionsSchema)({ checkoutTimeout: 250, priority: 1 })
 * options.priority // => 1
 * ```
 *
 * @since 0.3.0
 * @category schemas
 */
export const CheckoutOptionsSchema = PoolConfig.CheckoutOptionsSchema

/**
 * A pool's options, data only: the one Schema `Pool.make`, `Pool.layer` and the configuration
 * file's `pools.<name>` section (`Config.PoolSizing`, the same Schema) decode through, so a
 * mistake reads the same everywhere. Durations are a `Duration`, a string (`"5 seconds"`) or
 * milliseconds.
 *
 * **Details**
 *
 * Every field, its constraint and default: docs/pool.md, "Options" (the same rules as the
 * Schema's annotations). Required: `size`. Everything else has a default or is off.
 *
 * `acquireTimeout` bounds one `acquire`: past it the acquisition is interrupted, counted
 * failed (`reason: "timeout"`) and its slot freed; nobody is failed by it, and a resource it
 * returns later is released, never handed out (docs/pool.md, "Failures").
 *
 * **Gotchas**: decoding is strict: an unknown key fails with its path and the nearest known key
 * (`checkoutTimout: unknown option "checkoutTimout"; did you mean "checkoutTimeout"?`).
 * `minIdle <= size` is checked once both fields are valid on their own.
 *
 * **Example** (Checking a sizing without building a pool)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * const sizing = Schema.decodeUnknownSync(Pool.OptionsSchema)({ size: 4, checkoutTimeout: 500 })
 * sizing.maxOverflow // => 0
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionsSchema = PoolConfig.OptionsSchema

/**
 * A pool's options as written, data only: the input type of `OptionsSchema`, which is also
 * the encoded type of the configuration's `pools.<name>` section.
 *
 * @since 0.2.0
 * @category models
 */
export type Sizing = typeof OptionsSchema.Encoded

/**
 * The code part of a pool's options: what no configuration file can hold. Checked beside the
 * Schema when the pool is built: a missing `acquire` or a `release` that is not a function
 * fails `InvalidConfig` naming it, listed with the other violations.
 *
 * @since 0.2.0
 * @category models
 */
export interface Code<A, E, R> {
  /** creates a resource */
  readonly acquire: Effect.Effect<A, E, R>
  /** destroys a resource; failures are logged and the resource counts as destroyed */
  readonly release?: ((resource: A) => Effect.Effect<unknown, unknown, R>) | undefined
  /** runs when an already-used resource is handed out; false, a failure or a defect replaces it */
  readonly validate?: ((resource: A) => Effect.Effect<boolean, unknown, R>) | undefined
}

/**
 * How to build a pool: the data part (`Sizing`, decoded through `OptionsSchema`) and the code
 * part (`Code`).
 *
 * **Example** (Sizes from the configuration, acquire from code)
 *
 * ```ts
 * import { Effect } from "effect"
 * import type { Pool } from "effect-foundation"
 * const options: Pool.Options<string, never, never> = { size: 4, acquire: Effect.succeed("connection") }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<A, E, R> extends Sizing, Code<A, E, R> {}

/**
 * Builds a pool in the current scope; closing the scope shuts it down. Prefer `layer` in
 * applications; `make` suits tests and libraries that hold a pool privately. Bad options, the
 * code part included, fail `InvalidConfig` listing every violation as `path: message`
 * (`pool "db": acquire: must be an Effect that creates a resource, got nothing; ...`).
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
export const make = <A, E, R>(options: Options<A, E, R>): Effect.Effect<Pool<A, E>, InvalidConfig | OperationTimeout, R | Scope.Scope> =>
  makeShell(options, "pool")

/**
 * Provides a pool under your own tag. Invalid options fail the layer with `InvalidConfig`
 * (every problem listed, the first one's path in `path`). With `awaitReady: true` the layer is
 * built once `minIdle` resources exist, and fails `OperationTimeout` if they do not within
 * `readyTimeout` (an application that must not start without its database). When `HealthAggregator` is provided
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
): Layer.Layer<Self, InvalidConfig | OperationTimeout, Exclude<R, Scope.Scope>> => Layer.effect(tag, makeShell(options, tag.key))

/**
 * Checks a resource out of the pool under `tag`, runs `f` with it and gives it back (or
 * destroys it when `f` died), whatever happens to the fiber.
 *
 * **Gotchas**: do not let the resource escape `f`: after `f` ends, another caller may hold it.
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
export const use: UseCombinator = dual(
  (args) => Context.isKey(args[0]),
  <Self, A, E, B, E2, R2>(
    tag: Context.Key<Self, Pool<A, E>>,
    f: (resource: A) => Effect.Effect<B, E2, R2>,
    options?: CheckoutOptions
  ): Effect.Effect<B, E | E2 | CheckoutError | InvalidConfig, R2 | Self> =>
    Effect.flatMap(tag, (pool) => (options === undefined ? pool.use(f) : pool.use(f, options)))
)

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

/**
 * Waits until the pool under `tag` has `minIdle` resources (idle or in use), at most the pool's
 * `readyTimeout`, else fails `OperationTimeout` (generic-pool's `ready()`). Use it in a
 * readiness probe or before opening traffic; `awaitReady: true` does it at build time.
 *
 * **Gotchas**: waiting starts a top-up at once; a dependency that stays down makes it time out rather than
 * fail with the acquire's error (acquisitions are retried, not reported here).
 *
 * **Example** (Waiting for a warm pool)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * class Db extends Context.Service<Db, Pool.Pool<number>>()("app/Db") {}
 * const DbLive = Pool.layer(Db, { acquire: Effect.succeed(1), size: 4, minIdle: 2, readyTimeout: "5 seconds" })
 * const program = Effect.andThen(Pool.ready(Db), Pool.status(Db))
 * Effect.runPromise(program.pipe(Effect.provide(DbLive))).then((status) => status.idle) // => 2
 * ```
 *
 * @since 0.3.0
 * @category getters
 */
export const ready = <Self, A, E>(tag: Context.Key<Self, Pool<A, E>>): Effect.Effect<void, OperationTimeout, Self> =>
  Effect.flatMap(tag, (pool) => pool.ready)

/**
 * A runtime resize: the fields to change, the others keep their value. Decoded with the
 * constraints of `OptionsSchema` (`size` >= 1, `minIdle <= size`, ...); `maxWaiting: null`
 * removes the bound.
 *
 * @since 0.3.0
 * @category models
 */
export type Resize = typeof ResizeSchema.Encoded

/**
 * Changes the sizing of the pool under `tag` at run time (tarn has no equivalent; HikariCP's
 * `setMaximumPoolSize` on its MXBean). Bad values fail `InvalidConfig` and change nothing.
 *
 * **Details**
 *
 * Growing starts acquisitions at once for the waiters (and `minIdle`). Shrinking destroys idle
 * resources above the new maximum at once, longest idle first; resources in use are never
 * interrupted: each one returned while the pool is still above the maximum is destroyed
 * instead of pooled. Waiters keep their place and deadline; a lower `maxWaiting` refuses new
 * callers only.
 *
 * **Example** (Growing a pool under load)
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Pool } from "effect-foundation"
 *
 * class Db extends Context.Service<Db, Pool.Pool<number>>()("app/Db") {}
 * const grow = Effect.andThen(Pool.resize(Db, { size: 20, maxOverflow: 10 }), Pool.status(Db))
 * Effect.runPromise(grow.pipe(Effect.provide(Pool.layer(Db, { acquire: Effect.succeed(1), size: 4 })))).then((s) => s.size) // => 20
 * ```
 *
 * @since 0.3.0
 * @category combinators
 */
export const resize = <Self, A, E>(tag: Context.Key<Self, Pool<A, E>>, sizing: Resize): Effect.Effect<void, InvalidConfig, Self> =>
  Effect.flatMap(tag, (pool) => pool.resize(sizing))
