/**
 * `CircuitBreaker.protect`: the argument dispatch (data-last or data-first, with or without
 * options) and the guard of each call. The public
 * module passes its tag in: internal code never imports it at run time.
 */
import type { Context } from "effect"
import { Effect } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { guarded } from "../runtime/guardedCall.js"
import type { Ignore } from "./ignore.js"
import { ignoreOf } from "./ignore.js"
import { ContextGuard } from "./service.js"

const protectEffect = (
  tag: Context.Key<any, any>,
  self: Effect.Effect<any, any, any>,
  breaker: string,
  ignore: Ignore | undefined
): Effect.Effect<any, any, any> => {
  const guard = new ContextGuard(tag, breaker, self)
  if (ignore !== undefined) guard.ignore = ignore
  return guarded(self, guard)
}

/**
 * `protect` for the service `tag`. Hand-written rather than `dual` with a predicate, which
 * spreads `arguments` on every call (the data-last form runs once per protected call in a
 * pipe). Invalid options are a defect of the call (`InvalidConfig`): they are fixed by the
 * program, like a breaker name.
 */
export const makeProtect = (tag: Context.Key<any, any>) => {
  // the pipeable form of the last name protected without options: a call site names one
  // breaker, so most calls reuse it instead of allocating a closure (it holds no state)
  let lastName: string | undefined
  let lastPipeable: ((self: Effect.Effect<any, any, any>) => Effect.Effect<any, any, any>) | undefined
  return (first: unknown, second?: unknown, third?: unknown): unknown => {
    if (typeof first === "string") {
      if (second === undefined) {
        if (first !== lastName || lastPipeable === undefined) {
          lastName = first
          lastPipeable = (self) => protectEffect(tag, self, first, undefined)
        }
        return lastPipeable
      }
      const ignore = ignoreOf(second)
      if (ignore instanceof InvalidConfig) return () => Effect.die(ignore)
      return (self: Effect.Effect<any, any, any>) => protectEffect(tag, self, first, ignore)
    }
    const ignore = ignoreOf(third)
    if (ignore instanceof InvalidConfig) return Effect.die(ignore)
    return protectEffect(tag, first as Effect.Effect<any, any, any>, second as string, ignore)
  }
}
