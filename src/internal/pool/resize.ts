/**
 * Runtime resize (`Pool.resize`): the new sizing is decoded through the fields of the pool's
 * own Schema, merged with the current one, checked (`minIdle <= size`), and applied in one
 * synchronous step by the core (`Core.resize`), whose rule says what happens to resources
 * above the new maximum and to waiters.
 */
import { Effect, Result, Schema } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { invalidConfig, parseOptions, violationsOf } from "../runtime/options.js"
import { NonNegativeInt, PositiveInt } from "../runtime/schemas.js"
import * as Core from "./core.js"
import type { Env } from "./env.js"
import type { Lifecycle } from "./lifecycle.js"

/** What a resize may change; absent fields keep their current value. */
export const ResizeSchema = Schema.Struct({
  size: Schema.optional(PositiveInt),
  maxOverflow: Schema.optional(NonNegativeInt),
  minIdle: Schema.optional(NonNegativeInt),
  /** `null`: unbounded */
  maxWaiting: Schema.optional(Schema.NullOr(NonNegativeInt))
})

export const make =
  <A, R>(env: Env<A, R>, lifecycle: Lifecycle<A>) =>
  (sizing: unknown): Effect.Effect<void, InvalidConfig> =>
    Effect.suspend(() => {
      const { config, state } = env
      const fail = (path: string, message: string) =>
        Effect.fail(new InvalidConfig({ path, message: `pool "${config.name}" resize: ${message}` }))
      const result = Schema.decodeUnknownResult(ResizeSchema)(sizing, parseOptions)
      if (Result.isFailure(result)) {
        const invalid = invalidConfig(violationsOf(result.failure.issue))!
        return fail(invalid.path, invalid.message)
      }
      const current = state.config
      const size = result.success.size ?? current.size
      const maxOverflow = result.success.maxOverflow ?? current.max - current.size
      const minIdle = result.success.minIdle ?? current.minIdle
      const maxWaiting = result.success.maxWaiting === undefined ? current.maxWaiting : (result.success.maxWaiting ?? Infinity)
      if (minIdle > size) return fail("minIdle", `minIdle: must be <= size (${size}), got ${minIdle}`)
      if (state.closed) return Effect.void
      const removed = Core.resize(state, { ...current, size, max: size + maxOverflow, minIdle, maxWaiting })
      for (const entry of removed) lifecycle.destroy(entry)
      // a larger pool serves its waiters (and minIdle) now, not at the next housekeeping pass
      lifecycle.startCreations(Core.creationsToStart(state, true))
      return Effect.void
    })
