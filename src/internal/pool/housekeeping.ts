/**
 * The pool's periodic pass: warns (once per checkout) about resources held past leakWarning,
 * destroys idle resources past their lifetime and overflow ones idle past idleTimeout, and
 * tops idle resources up to minIdle.
 *
 * @internal
 */
import type { Tracer } from "effect"
import { Effect } from "effect"
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
