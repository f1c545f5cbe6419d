/**
 * The pool's periodic pass: warns (once per checkout) about resources held past leakWarning,
 * destroys idle resources past their lifetime and overflow ones idle past idleTimeout, and
 * tops idle resources up to minIdle; and the background validation of idle resources.
 */
import type { Tracer } from "effect"
import { Effect, Option } from "effect"
import * as Core from "./core.js"
import type { Env } from "./env.js"
import type { Lifecycle } from "./lifecycle.js"

/** the housekeeping fiber's loop: one pass every `housekeepingMillis`, forever */
export const make = <A, R>(env: Env<A, R>, lifecycle: Lifecycle<A>): Effect.Effect<void> => {
  const { config, held, now, state } = env
  const tracksLeaks = config.leakWarningMillis !== Infinity

  const reportLeaks = (at: number): Effect.Effect<void> => {
    let effect: Effect.Effect<void> = Effect.void
    for (const entry of held) {
      if (entry.leakReported || at - entry.checkedOutAt < config.leakWarningMillis) continue
      entry.leakReported = true
      const span = entry.holder as Tracer.AnySpan | undefined
      effect = Effect.andThen(
        effect,
        Effect.logWarning(
          `pool "${config.name}": resource #${entry.id} held for ${at - entry.checkedOutAt}ms (leakWarning ${config.leakWarningMillis}ms)`
        ).pipe(
          Effect.annotateLogs({
            pool: config.name,
            holderSpanId: span?.spanId ?? "none",
            holderTraceId: span?.traceId ?? "none",
            holderSpan: span !== undefined && span._tag === "Span" ? span.name : "none"
          })
        )
      )
    }
    return effect
  }
  /** the pass's decisions are taken at once; only the leak warnings run afterwards */
  const pass: Effect.Effect<void> = Effect.suspend(() => {
    const at = now()
    const warnings = tracksLeaks ? reportLeaks(at) : Effect.void
    for (const entry of Core.evict(state, at, config.idleTimeoutMillis)) lifecycle.destroy(entry)
    lifecycle.startCreations(Core.creationsToStart(state, true))
    return warnings
  })
  const loop: Effect.Effect<void> = Effect.andThen(
    Effect.sleep(config.housekeepingMillis),
    Effect.andThen(
      pass,
      Effect.suspend(() => loop)
    )
  )
  return loop
}

/**
 * The background validation loop (`validateInterval`, HikariCP's keepalive): every interval,
 * each resource idle at the start of the pass is taken out (counted in use, so nobody gets it
 * meanwhile), validated within acquireTimeout, and given back (to a waiter, or to its place
 * in the idle list) or destroyed and replaced up to minIdle. One at a time, so a pass never
 * holds more than one resource away from callers.
 */
export const validation = <A, R>(
  env: Env<A, R>,
  lifecycle: Lifecycle<A>,
  validate: (resource: A) => Effect.Effect<boolean, unknown, R>
): Effect.Effect<void> => {
  const { config, context, state } = env
  // the resource is always given back: only the validation itself is interruptible
  const check = (entry: Core.Entry<A>): Effect.Effect<void> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        if (!Core.takeForValidation(state, entry)) return Effect.void
        const validation = Effect.timeoutOption(Effect.provideContext(validate(entry.resource), context), config.acquireTimeoutMillis)
        return Effect.map(Effect.exit(restore(validation)), (exit) => {
          if (exit._tag === "Success" && Option.isSome(exit.value) && exit.value.value === true) {
            const doomed = Core.validated(state, entry)
            if (doomed !== undefined) lifecycle.destroy(doomed)
            return
          }
          state.validationFailures++
          lifecycle.checkin(entry, true)
        })
      })
    )
  const pass = Effect.suspend(() => Effect.forEach(state.idle.slice(), check, { discard: true }))
  const loop: Effect.Effect<void> = Effect.andThen(
    Effect.sleep(config.validateIntervalMillis),
    Effect.andThen(
      pass,
      Effect.suspend(() => loop)
    )
  )
  return loop
}
