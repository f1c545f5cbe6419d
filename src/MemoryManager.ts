/**
 * Memory-pressure (and event-loop) load shedding with cleanup strategies.
 *
 * **Details**
 *
 * - A fiber owned by the layer's scope reads a `MemorySource` every `checkInterval` (default
 *   1 s). The pressure ratio is the worse of heap used / heap limit (`heap_size_limit`) and,
 *   in a cgroup with a memory limit, resident memory / that limit. Levels `low | medium |
 *   high | critical` rise at `thresholds` (default 0.7 / 0.85 / 0.95) and fall only
 *   `hysteresis` (default 0.05) below them.
 * - `registerCleanup(name, strategy, priority)` adds a strategy until the caller's scope
 *   closes. Reaching `high` runs them in priority order (lowest number first) until a fresh
 *   reading is below `high`; reaching `critical` runs all of them. While the level stays at or
 *   above `high` the run repeats at most every `cleanupCooldown` (default 10 s). A strategy
 *   that fails, dies or exceeds `cleanupTimeout` (default 5 s) is logged, reported and skipped.
 * - `guard` fails with `MemoryPressure` at or above `rejectAt` (default `critical`, `trigger:
 *   "memory"`), and, when `eventLoop.maxDelay` is set, while the event-loop stage sheds
 *   (`trigger: "event_loop"`, with `eventLoopDelay` and `maxEventLoopDelay`). Its `retryAfter`
 *   is the `checkInterval`: when the next reading may lift it. The guard reads a field the
 *   sampling fiber writes: no reading happens per call.
 * - Event-loop stage: the Node source measures how late a 10 ms timer fires and the loop's
 *   utilization over each interval; they appear in `status.eventLoop`. At each check the stage
 *   judges the longest delay since the previous check: above `maxDelay` it starts shedding,
 *   and it stops at the first check where the delay is under `maxDelay x (1 -
 *   eventLoop.hysteresis)`. A single stall therefore sheds for exactly one `checkInterval`,
 *   from the check after it. Node services usually overload their event loop before their heap.
 * - Metrics: `foundation.memory.pressure` (0 low .. 3 critical), `foundation.memory.heap_used`
 *   (bytes). With a `HealthAggregator` beneath, a `memory` component (critical) reports
 *   `critical` as unhealthy, and `high` or any shedding (the event loop's included) as
 *   degraded, with the delay and the limit in its details.
 *
 * **Example** (Shedding work under pressure)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { MemoryManager } from "effect-foundation"
 *
 * const handler = Effect.succeed("done").pipe(MemoryManager.guard)
 * // fails with MemoryPressure instead while the heap is at least 85 % full
 * const program = handler.pipe(Effect.provide(MemoryManager.layer({ rejectAt: "high" })))
 * // => "done"
 * ```
 *
 * @since 0.1.0
 */
import type { Duration, Scope } from "effect"
import { Clock, Context, Effect, Layer, PubSub, Semaphore, Stream } from "effect"
import { InvalidConfig, type MemoryPressure } from "./Errors.js"
import { healthOf, rejectionOf } from "./internal/memory/rejection.js"
import { statusOf } from "./internal/memory/status.js"
import { metrics } from "./Telemetry.js"
import { HealthComponents } from "./internal/runtime/healthComponents.js"
import type { CleanupReport } from "./internal/memory/cleanup.js"
import { runCleanup } from "./internal/memory/cleanup.js"
import { MemoryOptions, parseMemoryOptions } from "./internal/memory/config.js"
import * as Manager from "./internal/memory/manager.js"
import type { EventLoopReading, Level, MemoryReading } from "./internal/memory/pressure.js"
import { levelIndex } from "./internal/memory/pressure.js"
import { MemorySource } from "./internal/memory/source.js"
import { layerNode } from "./internal/memory/source.js"
import { registerGauge } from "./internal/runtime/observableMetric.js"

export {
  /**
   * Where readings come from. `MemoryManager.layer` uses the Node source; tests provide their
   * own with `MemoryManager.layerWithSource`.
   *
   * @since 0.1.0
   * @category services
   */
  MemorySource
}

/**
 * The Node `MemorySource`: `process.memoryUsage()`, `v8.getHeapStatistics()`, the cgroup
 * limit, and the event-loop delay and utilization.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNodeSource: Layer.Layer<MemorySource> = layerNode

/**
 * A pressure level.
 *
 * @since 0.1.0
 * @category models
 */
export type PressureLevel = Level

/**
 * One reading of a `MemorySource`.
 *
 * @since 0.1.0
 * @category models
 */
export type Reading = MemoryReading

/**
 * Event-loop figures over one check interval: delays as `Duration`s, utilization in [0, 1].
 *
 * @since 0.1.0
 * @category models
 */
export type EventLoop = EventLoopReading

/**
 * What a cleanup run did.
 *
 * @since 0.1.0
 * @category models
 */
export type Cleanup = CleanupReport

/**
 * A change of pressure level.
 *
 * @since 0.1.0
 * @category models
 */
export interface LevelChange {
  readonly from: Level
  readonly to: Level
  readonly ratio: number
  /** when the check that saw it ran (epoch milliseconds) */
  readonly changedAt: number
}

/**
 * The manager's view at its last check.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly level: Level
  /** the worse of `heapUsedRatio` and `rssRatio`: what the level follows */
  readonly ratio: number
  readonly heapUsedRatio: number
  /** resident memory / cgroup limit, when there is a limit */
  readonly rssRatio: number | undefined
  readonly reading: MemoryReading
  readonly eventLoop: EventLoopReading | undefined
  /** the longest event-loop delay the last check judged: since the check before it */
  readonly eventLoopDelay: Duration.Duration | undefined
  /** whether `guard` sheds new work now, and why */
  readonly shedding: boolean
  readonly sheddingReason: "memory" | "event_loop" | undefined
  readonly checkedAt: number
  readonly strategies: ReadonlyArray<{ readonly name: string; readonly priority: number }>
  readonly lastCleanup: CleanupReport | undefined
}

/**
 * The MemoryManager service.
 *
 * @since 0.1.0
 * @category services
 */
export class MemoryManager extends Context.Service<
  MemoryManager,
  {
    readonly pressure: Effect.Effect<Level>
    readonly status: Effect.Effect<Stats>
    /** adds a strategy until the caller's scope closes; lower priority numbers run first */
    readonly registerCleanup: <E, R>(
      name: string,
      strategy: Effect.Effect<unknown, E, R>,
      priority: number
    ) => Effect.Effect<void, InvalidConfig, Scope.Scope | R>
    /** runs strategies until the pressure is below `level` (`critical` and `low`: all of them) */
    readonly requestCleanup: (level: Level) => Effect.Effect<CleanupReport>
    readonly changes: Stream.Stream<LevelChange>
    /** fails with `MemoryPressure` instead of running `self` while shedding */
    readonly guard: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | MemoryPressure, R>
    /** succeeds, or fails with `MemoryPressure` while shedding (for composing stages) */
    readonly check: Effect.Effect<void, MemoryPressure>
    /** the rejection if shedding now, synchronously (for the facade's hot path) */
    readonly rejectionUnsafe: () => MemoryPressure | undefined
  }
>()("effect-foundation/MemoryManager") {}

/**
 * The options' Schema: every field with its constraint and default. `layer`, the configuration
 * file's `memory` section and `Foundation` decode through it; an unknown key fails
 * `InvalidConfig` with its path and the nearest option's name.
 *
 * **Example** (Decoding options from JSON)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { MemoryManager } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(MemoryManager.OptionsSchema)({ checkInterval: "5 seconds" })
 * // options.rejectAt => "critical"
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionsSchema = MemoryOptions

/**
 * Layer options, as written in code or in the configuration file's `memory` section. Defaults:
 * `checkInterval` 1 second, `thresholds` 0.7 / 0.85 / 0.95, `hysteresis` 0.05, `rejectAt`
 * `"critical"`, `cleanupTimeout` 5 seconds, `cleanupCooldown` 10 seconds, no event-loop stage.
 *
 * @since 0.1.0
 * @category models
 */
export type Options = typeof OptionsSchema.Encoded

/**
 * The manager with the Node source.
 *
 * **Example** (Custom thresholds, shedding at high)
 *
 * ```ts
 * import { MemoryManager } from "effect-foundation"
 *
 * const Memory = MemoryManager.layer({
 *   checkInterval: "2 seconds",
 *   thresholds: { medium: 0.6, high: 0.8, critical: 0.9 },
 *   rejectAt: "high",
 *   eventLoop: { maxDelay: "200 millis" }
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<MemoryManager, InvalidConfig> =>
  layerWithSource(options).pipe(Layer.provide(layerNode))

/**
 * The manager reading from the `MemorySource` in context (tests script it).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithSource = (options: Options = {}): Layer.Layer<MemoryManager, InvalidConfig, MemorySource> =>
  Layer.effect(
    MemoryManager,
    Effect.gen(function* () {
      const config = parseMemoryOptions(options)
      if (config instanceof InvalidConfig) return yield* config
      const source = yield* MemorySource
      const clock = yield* Clock.Clock
      const scope = yield* Effect.scope
      const metricContext = yield* Effect.context<never>()
      const changes = yield* PubSub.sliding<LevelChange>(256)
      yield* Effect.addFinalizer(() => PubSub.shutdown(changes))
      const lock = yield* Semaphore.make(1)

      // The one state, changed only through `modify`: each decision of the core is one synchronous
      // step, so fibers never see half of one. The guard, the gauges and the health report read it
      // synchronously, which a `Ref` would only wrap.
      let state = Manager.initial
      // The guard's copy, rebuilt by `applyReading` at each reading (not per call), so rejecting
      // allocates nothing and the guard reads one field.
      let rejection: MemoryPressure | undefined
      const modify = <D>(f: (state: Manager.State) => readonly [D, Manager.State]): D => {
        const [decision, next] = f(state)
        state = next
        return decision
      }
      const applyReading = <D>(f: (state: Manager.State) => readonly [D, Manager.State]): D => {
        const decision = modify(f)
        rejection = rejectionOf(state, config)
        return decision
      }
      const update = (f: (state: Manager.State) => Manager.State) => Effect.sync(() => modify((s) => [undefined, f(s)]))
      const publish = (change: LevelChange | undefined) => (change === undefined ? Effect.void : PubSub.publish(changes, change))

      // read by the runs after each strategy: applies the reading, never starts a run
      const refresh: Effect.Effect<Level> = Effect.flatMap(source.read, (next) =>
        Effect.suspend(() => {
          const change = applyReading((s) => Manager.observe(s, next, clock.currentTimeMillisUnsafe(), config))
          return Effect.as(publish(change), state.level)
        })
      )

      const cleanup = (target: Level, trigger: CleanupReport["trigger"]) =>
        lock
          .withPermit(
            Effect.suspend(() =>
              runCleanup({ strategies: state.strategies, target, trigger, timeoutMillis: config.cleanupTimeoutMillis, refresh })
            )
          )
          .pipe(Effect.tap((report) => update((s) => Manager.reported(s, report))))

      // Automatic runs are forked so a slow strategy does not delay the checks.
      const automatic = (target: Level): Effect.Effect<void> =>
        cleanup(target, "automatic").pipe(Effect.ensuring(update(Manager.automaticEnded)), Effect.forkIn(scope), Effect.asVoid)

      const check = Effect.flatMap(source.read, (next) =>
        Effect.suspend(() => {
          const decision = applyReading((s) => Manager.check(s, next, clock.currentTimeMillisUnsafe(), config))
          const started = decision.cleanup === undefined ? Effect.void : automatic(decision.cleanup)
          return Effect.andThen(publish(decision.change), started)
        })
      ).pipe(Effect.catchCause((cause) => Effect.logWarning("memory check failed", cause)))

      yield* check // the first reading, so the guard and stats are meaningful from the start
      // NB: `check.pipe(Effect.delay(d), Effect.repeat(s))` would delay every run twice
      yield* Effect.sleep(config.checkIntervalMillis).pipe(
        Effect.andThen(check),
        Effect.forever,
        Effect.forkScoped({ startImmediately: true })
      )

      const removePressure = registerGauge(
        metricContext,
        metrics.memoryPressure,
        "memory pressure level: 0 low, 1 medium, 2 high, 3 critical",
        {},
        () => levelIndex(state.level)
      )
      yield* Effect.addFinalizer(() => Effect.sync(removePressure))
      const removeHeap = registerGauge(metricContext, metrics.memoryHeapUsed, "V8 heap used, bytes", {}, () => state.reading?.heapUsed ?? 0)
      yield* Effect.addFinalizer(() => Effect.sync(removeHeap))

      const components = yield* Effect.serviceOption(HealthComponents)
      if (components._tag === "Some") {
        yield* components.value.register({
          name: "memory",
          kind: "memory",
          critical: true,
          report: Effect.sync(() => healthOf(state, config))
        })
      }

      const rejectionUnsafe = (): MemoryPressure | undefined => rejection
      const checkEffect: Effect.Effect<void, MemoryPressure> = Effect.suspend(() =>
        rejection === undefined ? Effect.void : Effect.fail(rejection)
      )

      return MemoryManager.of({
        pressure: Effect.sync(() => state.level),
        status: Effect.sync(() => statusOf(state)),
        registerCleanup: <E, R>(name: string, strategy: Effect.Effect<unknown, E, R>, priority: number) =>
          Effect.gen(function* () {
            const run = Effect.provideContext(strategy, yield* Effect.context<R>())
            const registration = modify((s) => Manager.register(s, name, priority, run))
            if (registration._tag === "Rejected") {
              return yield* new InvalidConfig({ path: registration.path, message: registration.message })
            }
            yield* Effect.addFinalizer(() => update((s) => Manager.unregister(s, registration.order)))
          }),
        requestCleanup: (target) => cleanup(target, "requested"),
        changes: Stream.fromPubSub(changes),
        guard: <A, E, R>(self: Effect.Effect<A, E, R>) =>
          Effect.suspend((): Effect.Effect<A, E | MemoryPressure, R> => (rejection === undefined ? self : Effect.fail(rejection))),
        check: checkEffect,
        rejectionUnsafe
      })
    })
  )

/**
 * Fails with `MemoryPressure` instead of running the effect while the manager sheds load
 * (pressure at or above `rejectAt`, or the event-loop stage shedding: `error.trigger` says
 * which, and `error.retryAfter` when the next reading is due). Pipeable.
 *
 * **Example** (Guarding a handler)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { MemoryManager } from "effect-foundation"
 *
 * const handler = Effect.succeed("ok").pipe(
 *   MemoryManager.guard,
 *   Effect.catchTag("MemoryPressure", () => Effect.succeed("busy, retry later"))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const guard = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | MemoryPressure, R | MemoryManager> => {
  // The fiber's context is usually the same object from one run to the next: remember the
  // manager found in it, so the common case is an identity check instead of a lookup.
  let lastContext: Context.Context<never> | undefined
  let manager: MemoryManager["Service"] | undefined
  return Effect.withFiber((fiber): Effect.Effect<A, E | MemoryPressure, R> => {
    if (fiber.context !== lastContext) {
      manager = Context.getUnsafe(fiber.context, MemoryManager)
      lastContext = fiber.context
    }
    const rejection = manager!.rejectionUnsafe()
    return rejection === undefined ? self : Effect.fail(rejection)
  })
}
