/**
 * The stages of a protected call run in one run-loop step where they can be (see
 * `runtime/inStep.ts`): the rate limit's decision, the breaker's admission and, for
 * `protectWith`, the pool's idle checkout, then one exit frame that gives the resource back
 * and records the breaker's outcome. Staged, the same call takes a `withFiber` step for the
 * rate limit, one for the breaker and one for the pool, and two frames: most of what the
 * facade cost beyond the work of its stages.
 *
 * The order and the rules are the staged ones: a call the rate limit rejects never reaches
 * the breaker, a call the breaker rejects checks nothing out, a busy pool is not the
 * dependency's failure. Whatever cannot be answered in the step (a wait for the call's slot,
 * a store's round trip, a breaker's probe, a pool with no idle resource, a service that is
 * not ours) goes on the staged way from that stage on, so each stage still runs once.
 */
import type { Fiber } from "effect"
import { Clock, Context, Effect } from "effect"
import * as CircuitBreaker from "../../CircuitBreaker.js"
import type { Pool } from "../../Pool.js"
import * as RateLimiter from "../../RateLimiter.js"
import type { AdmittedCall, BreakerInStep, LimiterInStep, PoolInStep, TakenResource } from "../runtime/inStep.js"
import { admitInStep, decideInStep, hookOf, takeInStep } from "../runtime/inStep.js"

/** What the policy needs of `Protection`'s stages for one call. */
export interface InStepPolicy {
  readonly rateLimit?: { readonly rule: string; readonly key: string; readonly cost?: number } | undefined
  readonly circuitBreaker?: string | undefined
}

/** The services of one context, as the step needs them (a context's services never change). */
interface Services {
  readonly limiter: LimiterInStep | undefined
  readonly breaker: BreakerInStep | undefined
  readonly clock: Clock.Clock
  /** the pool tag `pool` was found for (a context may hold several pools) */
  readonly poolTag: unknown
  readonly pool: Pool<any, any> | undefined
  readonly poolInStep: PoolInStep<any> | undefined
}

// weakly keyed: a context is never kept alive by having run a protected call
const byContext = new WeakMap<Context.Context<never>, Services>()

/** the services of the fiber's context; `poolTag` undefined: any pool (the caller needs none) */
const servicesOf = (fiber: Fiber.Fiber<unknown, unknown>, poolTag: unknown): Services => {
  const context = fiber.context as Context.Context<never>
  let services = byContext.get(context)
  if (services === undefined || (poolTag !== undefined && services.poolTag !== poolTag)) {
    const pool = poolTag === undefined ? undefined : Context.getOrUndefined(context, poolTag as Context.Key<any, Pool<any, any>>)
    services = {
      limiter: hookOf(Context.getOrUndefined(context, RateLimiter.RateLimiter), decideInStep),
      breaker: hookOf(Context.getOrUndefined(context, CircuitBreaker.CircuitBreaker), admitInStep),
      clock: fiber.getRef(Clock.Clock),
      poolTag,
      pool,
      poolInStep: hookOf(pool, takeInStep)
    }
    byContext.set(context, services)
  }
  return services
}

/**
 * The rate limit's decision in the step, then `next` in the same step when the call is
 * admitted now; otherwise `next` runs once the decision's effect admits the call.
 * `undefined`: the limiter is not ours (or none is provided): the call goes the staged way.
 */
const limitThen = (
  fiber: Fiber.Fiber<unknown, unknown>,
  limit: NonNullable<InStepPolicy["rateLimit"]>,
  next: (fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<any, any, any>
): Effect.Effect<any, any, any> | undefined => {
  const services = servicesOf(fiber, undefined)
  const limiter = services.limiter
  if (limiter === undefined) return undefined
  const gate = limiter[decideInStep](services.clock, limit.rule, limit.key, limit.cost ?? 1)
  return gate === undefined ? next(fiber) : Effect.flatMap(gate, () => Effect.withFiber(next))
}

/** the call: the rate limit's decision, then `afterLimit` (the staged call for a limiter that is not ours) */
const limitedThen = (
  policy: InStepPolicy,
  afterLimit: (fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<any, any, any>,
  staged: (fromBreaker: boolean) => Effect.Effect<any, any, any>
): Effect.Effect<any, any, any> =>
  Effect.withFiber((fiber) => {
    const limit = policy.rateLimit
    if (limit === undefined) return afterLimit(fiber)
    return limitThen(fiber, limit, afterLimit) ?? staged(false)
  })

/** the breaker's admission: the admitted call, a rejection, or `undefined` (go the staged way: a probe) */
const admit = (
  fiber: Fiber.Fiber<unknown, unknown>,
  services: Services,
  breaker: string,
  options: object | undefined
): AdmittedCall | Effect.Effect<any, any, any> | undefined => {
  const hook = services.breaker
  return hook === undefined ? undefined : hook[admitInStep](fiber, breaker, options)
}

const isRejection = (admission: AdmittedCall | Effect.Effect<any, any, any>): admission is Effect.Effect<any, any, any> =>
  Effect.isEffect(admission)

/** `use(resource)`, a throw being a defect of the use (as in the pool's own checkout) */
const callUse = <A>(use: (resource: A) => Effect.Effect<any, any, any>, resource: A): Effect.Effect<any, any, any> => {
  try {
    return use(resource)
  } catch (defect) {
    return Effect.die(defect)
  }
}

/**
 * `protectWith` for a pool given by its tag, with no memory guard and no bulkhead (they sit
 * between the fused stages). `checkout` holds the policy's per-call checkout options;
 * `staged(fromBreaker)` builds the staged call: from the breaker on (the rate limit already
 * admitted it) or whole.
 */
export const protectWith = (
  poolTag: Context.Key<any, Pool<any, any>>,
  policy: InStepPolicy,
  breakerOptions: object | undefined,
  checkout: object | undefined,
  use: (resource: any) => Effect.Effect<any, any, any>,
  staged: (fromBreaker: boolean) => Effect.Effect<any, any, any>
): Effect.Effect<any, any, any> => {
  const afterLimit = (fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<any, any, any> => {
    const services = servicesOf(fiber, poolTag)
    let admitted: AdmittedCall | undefined
    if (policy.circuitBreaker !== undefined) {
      const admission = admit(fiber, services, policy.circuitBreaker, breakerOptions)
      if (admission === undefined) return staged(true)
      if (isRejection(admission)) return admission
      admitted = admission
    }
    // a missing pool is the defect the staged lookup gives
    const pool = services.pool ?? Context.getUnsafe(fiber.context, poolTag)
    // with a breaker timeout around the checkout, the resource is checked out (and given
    // back) inside it, by the pool: the timeout's own fiber holds it
    const take = checkout === undefined && admitted?.timeout === undefined ? services.poolInStep : undefined
    if (admitted === undefined && take === undefined) return checkout === undefined ? pool.use(use) : pool.use(use, checkout)
    let taken: TakenResource<any> | undefined
    return Effect.onExitPrimitive(
      // inside the frame: an idle resource taken here is always given back by it
      Effect.suspend(() => {
        if (take !== undefined) {
          taken = take[takeInStep](fiber)
          if (taken !== undefined) return callUse(use, taken.resource)
        }
        const checkedOut = checkout === undefined ? pool.use(use) : pool.use(use, checkout)
        const timeout = admitted?.timeout
        return timeout === undefined ? checkedOut : timeout(checkedOut)
      }),
      (exit) => {
        try {
          if (taken !== undefined) taken.afterUse(exit)
        } finally {
          if (admitted !== undefined) admitted.record(exit, fiber)
        }
        return undefined
      }
    )
  }
  return limitedThen(policy, afterLimit, staged)
}

/**
 * `protect` with no memory guard (it sits between the rate limit and the breaker): the rate
 * limit and the breaker in one step, `effect` (the stages inside the breaker) in its frame.
 */
export const protect = (
  policy: InStepPolicy,
  effect: Effect.Effect<any, any, any>,
  staged: (fromBreaker: boolean) => Effect.Effect<any, any, any>
): Effect.Effect<any, any, any> => {
  const afterLimit = (fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<any, any, any> => {
    if (policy.circuitBreaker === undefined) return effect
    const admission = admit(fiber, servicesOf(fiber, undefined), policy.circuitBreaker, undefined)
    if (admission === undefined) return staged(true)
    if (isRejection(admission)) return admission
    const timeout = admission.timeout
    return Effect.onExitPrimitive(timeout === undefined ? effect : Effect.suspend(() => timeout(effect)), (exit) => {
      admission.record(exit, fiber)
      return undefined
    })
  }
  return limitedThen(policy, afterLimit, staged)
}
