/**
 * The stages of a protected call in as few run-loop steps as they allow (see
 * `runtime/inStep.ts`): the rate limit's decision and the breaker's admission in one step,
 * then, for `protectWith`, the pool's checkout (idle, or after a wait) inside one exit frame
 * that gives the resource back and records the breaker's outcome. Staged, the same call
 * takes a `withFiber` step for the rate limit, one for the breaker, one for the pool tag and
 * one for the pool, and two frames: most of what the facade cost beyond its stages' work.
 *
 * The order and the rules are the staged ones: a call the rate limit rejects never reaches
 * the breaker, a call the breaker rejects checks nothing out, a busy pool is not the
 * dependency's failure. Whatever cannot be answered in the step (a wait for the call's slot,
 * a store's round trip, a breaker's probe, a service that is not ours) goes on the staged way
 * from that stage on, so each stage still runs once; so does a checkout with its own options,
 * inside a breaker timeout, or from a pool that validates its resources.
 */
import type { Fiber } from "effect"
import { Context, Effect } from "effect"
import * as CircuitBreaker from "../../CircuitBreaker.js"
import type { Pool } from "../../Pool.js"
import * as RateLimiter from "../../RateLimiter.js"
import type { AdmittedCall, BreakerInStep, LimiterInStep, PoolInStep } from "../runtime/inStep.js"
import { admitInStep, checkoutInStep, decideInStep, hookOf } from "../runtime/inStep.js"
import type { Seen, Telemetry } from "./telemetry.js"
import { instrument, Measure, seenBy } from "./telemetry.js"

/** What the policy needs of `Protection`'s stages for one call. */
export interface InStepPolicy {
  readonly rateLimit?: { readonly rule: string; readonly key: string; readonly cost?: number } | undefined
  readonly circuitBreaker?: string | undefined
}

/** The services of one context, as the step needs them (a context's services never change). */
interface Services {
  readonly limiter: LimiterInStep | undefined
  readonly breaker: BreakerInStep | undefined
  /** the context's clock, and whether spans made in it can be seen (telemetry's `seenBy`) */
  readonly seen: Seen
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
      seen: seenBy(fiber),
      poolTag,
      pool,
      poolInStep: hookOf(pool, checkoutInStep)
    }
    byContext.set(context, services)
  }
  return services
}

/**
 * What follows the rate limit, with the services found for the run. `measure`: the call's
 * histogram measurement, which the fused frame records (setting `owned`) if it builds one.
 */
type AfterLimit = (fiber: Fiber.Fiber<unknown, unknown>, services: Services, measure: Measure | undefined) => Effect.Effect<any, any, any>

/**
 * The call. With telemetry, spans (a tracer that exports) are made around it the staged
 * way; the histogram alone is measured from its start and recorded by the fused frame, or
 * by a frame of its own when there is none (a rejection, a staged stage).
 */
const limitedThen = (
  policy: InStepPolicy,
  poolTag: unknown,
  telemetry: Telemetry | undefined,
  afterLimit: AfterLimit,
  staged: (fromBreaker: boolean) => Effect.Effect<any, any, any>
): Effect.Effect<any, any, any> =>
  Effect.withFiber((fiber) => {
    const services = servicesOf(fiber, poolTag)
    if (telemetry === undefined) return decide(fiber, services, policy, poolTag, afterLimit, staged, undefined)
    if (services.seen.traced) {
      const call = Effect.withFiber((fiber) => decide(fiber, servicesOf(fiber, poolTag), policy, poolTag, afterLimit, staged, undefined))
      return instrument(call, telemetry)
    }
    const measure = new Measure(telemetry, services.seen.clock, fiber)
    return measure.around(decide(fiber, services, policy, poolTag, afterLimit, staged, measure))
  })

/**
 * The rate limit's decision in the step, then `afterLimit` in the same step when the call is
 * admitted now; otherwise `afterLimit` runs once the decision's effect admits it (its frame
 * then records nothing of the measurement: the frame around the whole call does). A limiter
 * that is not ours (or none provided): the whole call the staged way.
 */
const decide = (
  fiber: Fiber.Fiber<unknown, unknown>,
  services: Services,
  policy: InStepPolicy,
  poolTag: unknown,
  afterLimit: AfterLimit,
  staged: (fromBreaker: boolean) => Effect.Effect<any, any, any>,
  measure: Measure | undefined
): Effect.Effect<any, any, any> => {
  const limit = policy.rateLimit
  if (limit === undefined) return afterLimit(fiber, services, measure)
  const limiter = services.limiter
  if (limiter === undefined) return staged(false)
  const gate = limiter[decideInStep](services.seen.clock, limit.rule, limit.key, limit.cost ?? 1)
  if (gate === undefined) return afterLimit(fiber, services, measure)
  return Effect.flatMap(gate, () => Effect.withFiber((fiber) => afterLimit(fiber, servicesOf(fiber, poolTag), undefined)))
}

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

/** `effect` in the admitted call's frame (inside the breaker's timeout, if it has one) */
const recorded = (
  admitted: AdmittedCall,
  fiber: Fiber.Fiber<unknown, unknown>,
  effect: Effect.Effect<any, any, any>,
  measure: Measure | undefined
) => {
  const timeout = admitted.timeout
  if (measure !== undefined) measure.owned = true
  return Effect.onExitPrimitive(timeout === undefined ? effect : Effect.suspend(() => timeout(effect)), (exit) => {
    try {
      admitted.record(exit, fiber)
    } finally {
      if (measure !== undefined) measure.record(exit)
    }
    return undefined
  })
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
  staged: (fromBreaker: boolean) => Effect.Effect<any, any, any>,
  telemetry: Telemetry | undefined
): Effect.Effect<any, any, any> => {
  const afterLimit: AfterLimit = (fiber, services, measure) => {
    let admitted: AdmittedCall | undefined
    if (policy.circuitBreaker !== undefined) {
      const admission = admit(fiber, services, policy.circuitBreaker, breakerOptions)
      if (admission === undefined) return staged(true)
      if (isRejection(admission)) return admission
      admitted = admission
    }
    // a missing pool is the defect the staged lookup gives
    const pool = services.pool ?? Context.getUnsafe(fiber.context, poolTag)
    // The pool's checkout in this frame, unless the call has its own checkout options, or a
    // breaker timeout sits around the checkout: then the pool checks out (and gives back)
    // inside the timeout's own fiber, in its own frame.
    const inStep = checkout === undefined && admitted?.timeout === undefined ? services.poolInStep : undefined
    if (inStep === undefined) {
      const checkedOut = checkout === undefined ? pool.use(use) : pool.use(use, checkout)
      return admitted === undefined ? checkedOut : recorded(admitted, fiber, checkedOut, measure)
    }
    const run = inStep[checkoutInStep](fiber, use)
    if (measure !== undefined) measure.owned = true
    return Effect.onExitPrimitive(
      // inside the frame: whatever the checkout takes, the frame gives back
      Effect.suspend(() => run.start()),
      (exit) => {
        try {
          run.end(exit)
        } finally {
          try {
            if (admitted !== undefined) admitted.record(exit, fiber)
          } finally {
            if (measure !== undefined) measure.record(exit)
          }
        }
        return undefined
      }
    )
  }
  return limitedThen(policy, poolTag, telemetry, afterLimit, staged)
}

/**
 * `protect` with no memory guard (it sits between the rate limit and the breaker): the rate
 * limit and the breaker in one step, `effect` (the stages inside the breaker) in its frame.
 */
export const protect = (
  policy: InStepPolicy,
  effect: Effect.Effect<any, any, any>,
  staged: (fromBreaker: boolean) => Effect.Effect<any, any, any>,
  telemetry: Telemetry | undefined
): Effect.Effect<any, any, any> => {
  const afterLimit: AfterLimit = (fiber, services, measure) => {
    if (policy.circuitBreaker === undefined) return effect
    const admission = admit(fiber, services, policy.circuitBreaker, undefined)
    if (admission === undefined) return staged(true)
    if (isRejection(admission)) return admission
    return recorded(admission, fiber, effect, measure)
  }
  return limitedThen(policy, undefined, telemetry, afterLimit, staged)
}
