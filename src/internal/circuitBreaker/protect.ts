/**
 * `CircuitBreaker.protect`: the argument dispatch (data-last or data-first, with or without
 * options) and each protected run. The public
 * module passes its tag in: internal code never imports it at run time.
 */
import type { Context, Fiber } from "effect"
import { Effect } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { guarded, implementation } from "../runtime/guardedCall.js"
import { admitWithoutSlot, BreakerGuard, recordExit } from "./guard.js"
import type { Ignore } from "./ignore.js"
import { ignoreOf } from "./ignore.js"
import type { Registry } from "./registry.js"
import { ContextGuard, contextClocks, registryOf, serviceIn } from "./service.js"

const protectEffect = (
  tag: Context.Key<any, any>,
  self: Effect.Effect<any, any, any>,
  breaker: string,
  ignore: Ignore | undefined
): Effect.Effect<any, any, any> => {
  if (implementation() === "fast") {
    // the opt-in fast frame admits and records through a guard in its own frame
    const guard = new ContextGuard(tag, breaker, self)
    if (ignore !== undefined) guard.ignore = ignore
    return guarded(self, guard)
  }
  return Effect.withFiber((fiber) => callIn(tag, self, breaker, ignore, fiber))
}

/**
 * One protected run: the breaker is found in the running fiber's context when the effect
 * runs, so a protected effect value can be built once and run many times, under several
 * services at once, each run recording on its own service's breaker. What takes no slot is
 * decided in this step: a Closed breaker's call gets its exit frame right away and a
 * rejection needs none. The permit lives in this run's exit callback, so no object is made
 * per protected effect. A probe takes a slot, so it is admitted inside its frame, by the
 * guarded call.
 */
const callIn = (
  tag: Context.Key<any, any>,
  self: Effect.Effect<any, any, any>,
  name: string,
  ignore: Ignore | undefined,
  fiber: Fiber.Fiber<unknown, unknown>
): Effect.Effect<any, any, any> => {
  const service = serviceIn(fiber, tag)
  const registry = registryOf(service)
  // another implementation (a test double provided with `Layer.succeed`) runs the call itself
  if (registry === undefined) return service.execute(name)(self)
  const breaker = registry.resolve(name)
  if (breaker === undefined) return Effect.fail(registry.notFound(name))
  const permit = admitWithoutSlot(contextClocks, breaker, fiber)
  if (permit === undefined) return guarded(self, probeGuard(registry, name, self, ignore))
  if (Effect.isEffect(permit)) return permit
  const timeout = breaker.timeout
  return Effect.onExitPrimitive(timeout === undefined ? self : timeout(self), (exit) => {
    recordExit(contextClocks, registry, breaker, permit, exit, ignore, fiber)
    return undefined
  })
}

const probeGuard = (registry: Registry, name: string, self: Effect.Effect<any, any, any>, ignore: Ignore | undefined): BreakerGuard => {
  const guard = new BreakerGuard(registry, name)
  guard.self = self
  guard.ignore = ignore
  return guard
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
