/**
 * The HealthAggregator service over its entries: registration of checks and built-in
 * components, and the reports. `HealthAggregator.layer` builds it and provides it, with the
 * `HealthComponents` service through which protections register.
 */
import type { Scope } from "effect"
import { Clock, Effect } from "effect"
import { type InvalidConfig, ProtectionNotFound } from "../../Errors.js"
import type { CheckOptions, CheckOutcome, ComponentHealth, HealthAggregator, SystemHealth } from "../../HealthAggregator.js"
import type { HealthComponent } from "../runtime/healthComponents.js"
import type { Entry } from "./entry.js"
import { addEntry, makeRun, newEntry, read, registerStatusGauge, withContext } from "./entry.js"
import { parseAggregatorOptions, parseCheckOptions } from "./options.js"
import { collect, toComponent } from "./report.js"

export interface Aggregator {
  readonly service: HealthAggregator["Service"]
  /** what `HealthComponents.register` does: a component replaces one of the same name */
  readonly registerComponent: (component: HealthComponent) => Effect.Effect<void, never, Scope.Scope>
}

export const make = (options: unknown): Effect.Effect<Aggregator, InvalidConfig> =>
  Effect.gen(function* () {
    const { cacheTtlMs, defaultTimeoutMs: defaultTimeout } = yield* parseAggregatorOptions(options)
    const clock = yield* Clock.Clock
    const metricContext = yield* Effect.context<never>()
    const entries = new Map<string, Entry>()

    const onResult = (entry: Entry): void => {
      if (entries.get(entry.name) === entry) registerStatusGauge(metricContext, entry)
    }

    const add = (entry: Entry, replace: boolean): Effect.Effect<void, InvalidConfig, Scope.Scope> =>
      addEntry(entries, clock, entry, replace, onResult)

    const register = <E, R>(
      name: string,
      check: Effect.Effect<CheckOutcome, E, R>,
      checkOptions?: CheckOptions
    ): Effect.Effect<void, InvalidConfig, Scope.Scope | R> =>
      Effect.gen(function* () {
        const { critical, intervalMs, timeoutMs } = yield* parseCheckOptions(name, checkOptions, defaultTimeout)
        const context = yield* Effect.context<R>()
        yield* add(
          newEntry(name, "check", critical, intervalMs, timeoutMs, cacheTtlMs, makeRun(clock, withContext(check, context), timeoutMs)),
          false
        )
      })

    const registerComponent = (component: HealthComponent): Effect.Effect<void, never, Scope.Scope> =>
      // Components are in-process reads: never cached, so a probe sees the breaker as it is now.
      add(
        newEntry(
          component.name,
          component.kind,
          component.critical,
          undefined,
          defaultTimeout,
          0,
          makeRun(clock, component.report, defaultTimeout)
        ),
        true
      ).pipe(Effect.orDie) // replace = true: cannot fail

    const report = (critical: boolean): Effect.Effect<SystemHealth> =>
      Effect.suspend(() => collect(clock, entries.values(), critical, onResult))

    const status = (name: string): Effect.Effect<ComponentHealth, ProtectionNotFound> =>
      Effect.suspend(() => {
        const entry = entries.get(name)
        if (entry === undefined) return Effect.fail(new ProtectionNotFound({ kind: "health_check", protection: name }))
        return Effect.map(read(clock, entry, onResult), (result) => toComponent(entry, result, clock.currentTimeMillisUnsafe()))
      })

    return {
      service: {
        register,
        systemHealth: report(false),
        readiness: report(true),
        status,
        names: Effect.sync(() => Array.from(entries.keys()))
      },
      registerComponent
    }
  })
