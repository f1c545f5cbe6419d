/**
 * The combinators' plumbing (`RateLimiter.limit`, `limit([...])`, `limitWith`): the service
 * is found once per fiber context (`lookup`), then its internal method runs the call, with no
 * `Context` lookup and no closure per protected call.
 */
import { Clock, Context, Effect } from "effect"
import type { RateLimited, StoreUnavailable } from "../../Errors.js"
import type { RateLimiter, RateRule } from "../../RateLimiter.js"
import type { CallOptions, LimitRequest } from "./models.js"
import type { Internal } from "./service.js"
import { lookup, run, runMany } from "./service.js"

/** The `RateLimiter` tag, set by its module (internal code does not import it at run time). */
export const serviceTag: { key: unknown } = { key: undefined }

/** The service found for the fiber's context (looked up once per context). */
const found = (fiber: { readonly context: Context.Context<never>; getRef: <A>(ref: Context.Reference<A>) => A }): Internal => {
  const context = fiber.context
  if (context !== lookup.context) see(fiber)
  return lookup.service!
}

const see = (fiber: { readonly context: Context.Context<never>; getRef: <A>(ref: Context.Reference<A>) => A }): void => {
  // contexts are immutable and a fiber keeps one across calls: look both services up
  // once per context, not once per call (the layer's finalizer clears this)
  const service = Context.getUnsafe(
    fiber.context as Context.Context<RateLimiter>,
    serviceTag.key as typeof RateLimiter
  ) as unknown as Internal
  lookup.service = service
  lookup.run = service[run]
  lookup.clock = fiber.getRef(Clock.Clock)
  lookup.context = fiber.context
}

export const limitMany = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  requests: ReadonlyArray<LimitRequest>
): Effect.Effect<A, E | RateLimited | StoreUnavailable, R | RateLimiter> =>
  Effect.withFiber((fiber): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => found(fiber)[runMany](lookup.clock!, requests, self))

export const limitEffect = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  rule: string | RateRule,
  key: string,
  options: CallOptions | undefined
): Effect.Effect<A, E | RateLimited | StoreUnavailable, R | RateLimiter> => {
  const cost = options?.cost ?? 1
  return Effect.withFiber((fiber): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => {
    if (fiber.context !== lookup.context) see(fiber)
    return lookup.run!(lookup.clock!, rule, key, cost, self)
  })
}
