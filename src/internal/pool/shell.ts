/**
 * The effectful shell of `Pool`: decodes the options (`config.ts`), builds the state machine
 * (`core.ts`) and the parts that act on it, and owns what outlives a call: the waiter timer
 * and housekeeping fibers, telemetry, health, and shutdown.
 *
 * - `waiters.ts`: the waiter a checkout parks on, its resumption, the timer expiring waiters
 * - `lifecycle.ts`: creation (with acquireTimeout), return, destruction, shutdown's drain
 * - `checkout.ts`: the fast and the validating checkout paths
 * - `housekeeping.ts`: leak warnings, eviction, minIdle top-ups
 */
import type { Context, Scope } from "effect"
import { Clock, Effect, Option } from "effect"
import type * as Errors from "../../Errors.js"
import type { Options, Pool, Status } from "../../Pool.js"
import { HealthComponents } from "../runtime/healthComponents.js"
import { checkoutInStep } from "../runtime/inStep.js"
import * as Checkout from "./checkout.js"
import * as PoolConfig from "./config.js"
import * as Core from "./core.js"
import type { Env } from "./env.js"
import * as Housekeeping from "./housekeeping.js"
import * as PoolHealth from "./health.js"
import * as Lifecycle from "./lifecycle.js"
import * as Resize from "./resize.js"
import * as PoolMetrics from "./metrics.js"
import * as Waiters from "./waiters.js"

export const makeShell = <A, E, R>(
  options: Options<A, E, R>,
  defaultName: string
): Effect.Effect<Pool<A, E>, Errors.InvalidConfig | Errors.OperationTimeout, R | Scope.Scope> =>
  Effect.gen(function* () {
    // decoded once here: the checkout path reads only the resolved numbers
    const config = yield* PoolConfig.resolve(options, defaultName)
    const context = yield* Effect.context<R | Scope.Scope>()
    const clock = yield* Clock.Clock
    const state = Core.make<A>({
      size: config.size,
      max: config.size + config.maxOverflow,
      minIdle: config.minIdle,
      maxWaiting: config.maxWaiting,
      lifo: config.lifo,
      evictToMinIdle: config.evictToMinIdle
    })
    const env: Env<A, R | Scope.Scope> = {
      config,
      state,
      context,
      spawn: Effect.runForkWith(context),
      now: () => clock.currentTimeMillisUnsafe(),
      held: new Set()
    }
    const histogram = new PoolMetrics.CheckoutHistogram()
    const waiters = Waiters.make(env)
    const lifecycle = Lifecycle.make(env, options.acquire, options.release)
    const { checkoutInStep: inStep, use } = Checkout.make<A, E, R | Scope.Scope>(env, lifecycle, waiters, histogram, options.validate)

    const statusUnsafe = (): Status => ({
      size: state.config.size,
      maxOverflow: state.config.max - state.config.size,
      idle: state.idle.length,
      inUse: state.inUse,
      overflow: Core.overflow(state),
      waiting: state.waiting,
      creating: state.creating,
      created: state.created,
      destroyed: state.destroyed,
      checkouts: state.checkouts,
      reused: state.reused,
      timeouts: state.timeouts,
      exhausted: state.exhausted,
      acquireFailures: state.acquireFailures,
      acquireTimeouts: state.acquireTimeouts
    })

    const removeMetrics = PoolMetrics.register(context as Context.Context<never>, config.name, state as Core.State<unknown>, histogram)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const { idle, waiters: dropped } = Core.close(state)
        waiters.interruptAll(dropped)
        return Effect.ensuring(lifecycle.shutdown(idle), Effect.sync(removeMetrics))
      })
    )

    waiters.start()
    yield* Effect.forkScoped(Housekeeping.make(env, lifecycle))
    if (options.validate !== undefined && config.validateIntervalMillis !== Infinity) {
      yield* Effect.forkScoped(Housekeeping.validation(env, lifecycle, options.validate))
    }
    lifecycle.startCreations(Core.creationsToStart(state, true))

    const healthWindowMillis = PoolHealth.recentFailureMillis(config.acquireTimeoutMillis)
    const components = yield* Effect.serviceOption(HealthComponents)
    if (Option.isSome(components)) {
      yield* components.value.register({
        name: `pool:${config.name}`,
        kind: "pool",
        critical: false,
        report: Effect.sync(() => PoolHealth.report(state, env.now(), healthWindowMillis))
      })
    }

    if (config.awaitReady) yield* lifecycle.ready
    const pool: Pool<A, E> = {
      name: config.name,
      use: use as Pool<A, E>["use"],
      ready: lifecycle.ready,
      resize: Resize.make(env, lifecycle),
      status: Effect.sync(statusUnsafe),
      statusUnsafe
    }
    // `Protection` runs the checkout in its own frame when the pool allows it
    return inStep === undefined ? pool : Object.defineProperty(pool, checkoutInStep, { value: inStep, enumerable: false })
  })
