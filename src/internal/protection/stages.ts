/**
 * Composition of the protection stages, shared by `Protection.protect`, `protectWith` and
 * named profiles. Order, outermost first:
 *
 *   rate limit -> memory guard -> circuit breaker -> pool checkout -> timeout -> the effect
 *
 * so a rejection at one stage never reaches the next: a rate-limited call never counts as a
 * breaker failure, and no pool checkout happens while the breaker is open.
 */
import { Context, Duration, Effect, Exit } from "effect"
import * as Bulkhead from "../../Bulkhead.js"
import * as CircuitBreaker from "../../CircuitBreaker.js"
import { InvalidConfig, OperationTimeout } from "../../Errors.js"
import * as MemoryManager from "../../MemoryManager.js"
import * as PerformanceMonitor from "../../PerformanceMonitor.js"
import type { CheckoutOptions, Pool } from "../../Pool.js"
import * as RateLimiter from "../../RateLimiter.js"
import { timeoutOrElse } from "../runtime/timeout.js"
import * as InStep from "./inStep.js"
import type { Telemetry } from "./telemetry.js"
import { instrument, series } from "./telemetry.js"

/** The policy shape (documented on `Protection.Policy`). */
export interface PolicyInput {
  readonly rateLimit?: { readonly rule: string; readonly key: string; readonly cost?: number }
  readonly memory?: boolean
  readonly circuitBreaker?: string
  readonly bulkhead?: string
  readonly checkoutTimeout?: Duration.Input
  readonly timeout?: Duration.Input
  readonly monitor?: { readonly service: string; readonly operation: string }
  readonly poolTimeoutIsFailure?: boolean
  readonly profile?: string
  readonly telemetry?: boolean
}

/** What a policy resolves to. */
interface Compiled {
  readonly timeoutMillis: number
  readonly timedOut: Effect.Effect<never, OperationTimeout> | undefined
  readonly telemetry: Telemetry | undefined
  /** the pool checkout's options, one object for every call (undefined: the pool's own) */
  readonly checkout: CheckoutOptions | undefined
}

// Policies are usually object literals written at the call site, so a new object per call
// (its rate-limit key changes) whose other fields are the same constants on every call.
// Everything derived from one is cached under its profile name, and found again by comparing
// the few fields it depends on (strings and numbers by value, a Duration by reference, then
// by length): no key string is built per call, no insertion is made per call.
interface CacheEntry {
  readonly flags: number
  readonly operation: string
  readonly telemetry: boolean
  readonly timeoutInput: Duration.Input | undefined
  readonly checkoutInput: Duration.Input | undefined
  readonly compiled: Compiled
}
const byProfile = new Map<string, Array<CacheEntry>>()
const MAX_PROFILES = 10_000
const MAX_PER_PROFILE = 32

const stageNames = ["rate_limit", "memory", "circuit_breaker", "timeout", "monitor", "bulkhead"] as const

const sameTimeout = (a: Duration.Input | undefined, b: Duration.Input | undefined): boolean =>
  a === b ||
  (typeof a === "object" && typeof b === "object"
    ? Duration.toMillis(Duration.fromInputUnsafe(a)) === Duration.toMillis(Duration.fromInputUnsafe(b))
    : false)

export const compile = (policy: PolicyInput): Compiled => {
  const flags =
    (policy.rateLimit ? 1 : 0) |
    (policy.memory ? 2 : 0) |
    (policy.circuitBreaker !== undefined ? 4 : 0) |
    (policy.timeout !== undefined ? 8 : 0) |
    (policy.monitor ? 16 : 0) |
    (policy.bulkhead !== undefined ? 32 : 0)
  const profile = policy.profile ?? policy.circuitBreaker ?? policy.rateLimit?.rule ?? "anonymous"
  const operation = policy.monitor?.operation ?? policy.circuitBreaker ?? profile
  const telemetry = policy.telemetry !== false
  let entries = byProfile.get(profile)
  if (entries !== undefined) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      if (
        entry.flags === flags &&
        entry.operation === operation &&
        entry.telemetry === telemetry &&
        sameTimeout(entry.timeoutInput, policy.timeout) &&
        sameTimeout(entry.checkoutInput, policy.checkoutTimeout)
      ) {
        return entry.compiled
      }
    }
  }
  const compiled = build(flags, profile, operation, telemetry, policy.timeout, policy.checkoutTimeout)
  if (entries === undefined || entries.length >= MAX_PER_PROFILE) {
    if (byProfile.size >= MAX_PROFILES) byProfile.clear()
    entries = []
    byProfile.set(profile, entries)
  }
  entries.push({ flags, operation, telemetry, timeoutInput: policy.timeout, checkoutInput: policy.checkoutTimeout, compiled })
  return compiled
}

const build = (
  flags: number,
  profile: string,
  operation: string,
  telemetry: boolean,
  input: Duration.Input | undefined,
  checkoutTimeout: Duration.Input | undefined
): Compiled => {
  const timeout = input === undefined ? undefined : Duration.fromInputUnsafe(input)
  const stages = stageNames.filter((_, i) => flags & (1 << i)).join(",")
  return {
    checkout: checkoutTimeout === undefined ? undefined : { checkoutTimeout },
    timeoutMillis: timeout === undefined ? 0 : Duration.toMillis(timeout),
    timedOut: timeout === undefined ? undefined : Exit.fail(new OperationTimeout({ operation, timeout })),
    telemetry: !telemetry
      ? undefined
      : {
          spanOptions: {
            attributes: { "foundation.profile": profile, "foundation.stages": stages },
            // no stack capture: building an Error per call would cost more than every stage together
            captureStackTrace: false
          },
          durations: {
            success: series(profile, "success"),
            failure: series(profile, "failure"),
            rejected: series(profile, "rejected")
          }
        }
  }
}

const inner = <A, E, R>(self: Effect.Effect<A, E, R>, policy: PolicyInput, c: Compiled) => {
  let effect: Effect.Effect<A, any, any> = self
  if (policy.monitor) effect = PerformanceMonitor.measure(effect, policy.monitor.service, policy.monitor.operation)
  if (c.timedOut !== undefined) effect = timeoutOrElse(effect, c.timeoutMillis, c.timedOut)
  return effect
}

const breakerStage = <A>(effect: Effect.Effect<A, any, any>, policy: PolicyInput) =>
  policy.circuitBreaker === undefined ? effect : CircuitBreaker.protect(effect, policy.circuitBreaker)

const bulkheadStage = <A>(effect: Effect.Effect<A, any, any>, policy: PolicyInput) =>
  policy.bulkhead === undefined ? effect : Bulkhead.limit(effect, policy.bulkhead)

// `protect` has no pool: a checkout timeout there would be accepted and ignored
const checkoutWithoutPool = Exit.fail(
  new InvalidConfig({
    path: "checkoutTimeout",
    message: "checkoutTimeout: protect checks nothing out of a pool; the option applies to protectWith and executeWith"
  })
)

// our own capacity being used up (a busy pool, a full bulkhead) says nothing about the dependency
const isPoolBusy = (error: unknown): boolean => {
  const tag = (error as { readonly _tag?: unknown } | null)?._tag
  return tag === "PoolCheckoutTimeout" || tag === "PoolExhausted" || tag === "BulkheadFull"
}
// passed to the breaker for every protectWith call: a busy pool or a full bulkhead is ignored
const passBusy = Object.freeze({ ignore: isPoolBusy })

/** the stages before the breaker: the rate limit, then the memory guard */
const limitStages = <A>(effect: Effect.Effect<A, any, any>, policy: PolicyInput) => {
  if (policy.memory) effect = MemoryManager.guard(effect)
  if (policy.rateLimit) {
    const { cost, key, rule } = policy.rateLimit
    effect = RateLimiter.limit(effect, rule, key, cost === undefined ? undefined : { cost })
  }
  return effect
}

const instrumented = <A>(effect: Effect.Effect<A, any, any>, c: Compiled) =>
  c.telemetry === undefined ? effect : instrument(effect, c.telemetry)

/**
 * Whether the rate limit and the breaker can run in the caller's step (`inStep.ts`): they
 * are in the policy, and no memory guard sits between them.
 */
const fusable = (policy: PolicyInput): boolean => !policy.memory && (policy.rateLimit !== undefined || policy.circuitBreaker !== undefined)

/** `Protection.protect`: every stage the policy names around `self`. */
export const protect = <A, E, R>(self: Effect.Effect<A, E, R>, policy: PolicyInput): Effect.Effect<A, any, any> => {
  const c = compile(policy)
  if (c.checkout !== undefined) return checkoutWithoutPool
  const guarded = bulkheadStage(inner(self, policy, c), policy)
  if (!fusable(policy)) return instrumented(limitStages(breakerStage(guarded, policy), policy), c)
  const staged = (fromBreaker: boolean) =>
    fromBreaker ? breakerStage(guarded, policy) : limitStages(breakerStage(guarded, policy), policy)
  return InStep.protect(policy, guarded, staged, c.telemetry)
}

/** `Protection.protectWith`: the same, with a pool checkout between breaker and timeout. */
export const protectWith = <A, E, R, P, PE>(
  pool: Effect.Effect<Pool<P, PE>, never, any>,
  policy: PolicyInput,
  f: (resource: P) => Effect.Effect<A, E, R>
): Effect.Effect<A, any, any> => {
  const c = compile(policy)
  const options = c.checkout
  const use = (resource: P) => inner(f(resource), policy, c)
  // the breaker's options: a busy pool or a full bulkhead is ignored, unless the policy says otherwise
  const breakerOptions = policy.poolTimeoutIsFailure === true ? undefined : passBusy
  const staged = (fromBreaker: boolean) => {
    const checkout = bulkheadStage(
      // a pool's tag is read from the fiber's context in place: no service-lookup effect to run
      Context.isKey(pool)
        ? Effect.withFiber((fiber) => {
            const p = Context.getUnsafe(fiber.context, pool as Context.Key<any, Pool<P, PE>>)
            return options === undefined ? p.use(use) : p.use(use, options)
          })
        : Effect.flatMap(pool, (p) => (options === undefined ? p.use(use) : p.use(use, options))),
      policy
    )
    // A checkout timeout says our pool is busy, not that the dependency failed: the breaker
    // ignores it (neither a success nor a failure; a probe gives its slot back), and the caller
    // sees it unchanged. Counting it as a success would let a half-open probe that only met a
    // busy pool close the breaker. A full bulkhead is the same kind of outcome.
    const protectedCall =
      policy.circuitBreaker === undefined ? checkout : CircuitBreaker.protect(checkout, policy.circuitBreaker, breakerOptions)
    return fromBreaker ? protectedCall : limitStages(protectedCall, policy)
  }
  // the bulkhead sits between the breaker and the pool: with one, the stages stay apart
  if (!fusable(policy) || policy.bulkhead !== undefined || !Context.isKey(pool)) return instrumented(staged(false), c)
  return InStep.protectWith(pool as unknown as Context.Key<any, Pool<any, any>>, policy, breakerOptions, options, use, staged, c.telemetry)
}
