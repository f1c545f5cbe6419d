/**
 * `Foundation.reload`'s shell: decodes the new configuration, plans it against the one in
 * force, and applies the plan through the services, one reload at a time. All or nothing: a
 * configuration that does not decode, or that asks for a change the running services cannot
 * make, is refused whole with every path, before anything changes; if applying a change fails
 * anyway, the changes already made are put back and the configuration in force stays.
 */
import { Effect, Ref, Semaphore } from "effect"
import type { InvalidConfig } from "../../Errors.js"
import { invalidConfig } from "../runtime/options.js"
import { type Change, plan, type Snapshot, sizesOf } from "./plan.js"

/** How each kind of change reaches its service. Each validates again, as its own entry point. */
export interface Appliers {
  readonly apply: (change: Change) => Effect.Effect<void, InvalidConfig>
}

/** What a reload did: every change, in the order it was applied (empty: nothing to do). */
export interface ReloadReport {
  readonly changes: ReadonlyArray<{ readonly kind: Change["kind"]; readonly name: string }>
}

export interface Reloader<C extends Snapshot> {
  readonly current: Effect.Effect<C>
  readonly reload: (input: unknown) => Effect.Effect<ReloadReport, InvalidConfig>
}

/** The change that puts `change`'s entry back as it is in `current`, when it was there. */
const undo = (current: Snapshot, change: Change): Change | undefined => {
  switch (change.kind) {
    case "breaker": {
      const policy = current.circuitBreaker?.breakers?.[change.name]
      return policy === undefined ? undefined : { kind: "breaker", name: change.name, policy }
    }
    case "rule": {
      const rule = current.rateLimiter?.rules[change.name]
      return rule === undefined ? undefined : { kind: "rule", name: change.name, rule }
    }
    case "pool": {
      const pool = current.pools?.[change.name]
      return pool === undefined ? undefined : { kind: "pool", name: change.name, sizes: sizesOf(pool) }
    }
    case "bulkhead": {
      const limits = current.bulkhead?.limits?.[change.name]
      return limits === undefined ? undefined : { kind: "bulkhead", name: change.name, limits }
    }
    case "profile": {
      const profile = current.protections?.[change.name]
      return profile === undefined ? undefined : { kind: "profile", name: change.name, profile }
    }
  }
}

export const makeReloader = <C extends Snapshot>(
  initial: C,
  decode: (input: unknown) => Effect.Effect<C, InvalidConfig>,
  appliers: Appliers
): Effect.Effect<Reloader<C>> =>
  Effect.gen(function* () {
    const state = yield* Ref.make(initial)
    // one reload at a time: two interleaved reloads would each plan against a stale "current"
    const lock = yield* Semaphore.make(1)
    const reload = (input: unknown): Effect.Effect<ReloadReport, InvalidConfig> =>
      Effect.gen(function* () {
        const next = yield* decode(input)
        const current = yield* Ref.get(state)
        const { changes, refusals } = plan(current, next)
        const refused = invalidConfig(refusals.map(({ issue, path }) => ({ path, message: issue })))
        if (refused !== undefined) return yield* Effect.fail(refused)
        const applied: Array<Change> = []
        for (const change of changes) {
          const outcome = yield* Effect.exit(appliers.apply(change))
          if (outcome._tag === "Failure") {
            // put back what this reload changed, newest first; an entry it added stays (nothing
            // may remove one at run time), configured as the new configuration said
            for (const done of applied.reverse()) {
              const back = undo(current, done)
              if (back !== undefined) yield* Effect.ignore(appliers.apply(back))
            }
            return yield* Effect.failCause(outcome.cause)
          }
          applied.push(change)
        }
        yield* Ref.set(state, next)
        return { changes: changes.map(({ kind, name }) => ({ kind, name })) }
      }).pipe(Effect.uninterruptible, lock.withPermits(1))
    return { current: Ref.get(state), reload }
  })
