/**
 * The `RateLimiter` service, written once over a `Store` (memory or Redis): the call checks
 * (unknown rule, cost), the `"delay"` wait, the errors, the decision counters and their
 * metrics. The stores only decide (`store.ts`).
 *
 * `RateLimiter.limit` finds the service once per fiber context (`lookup`) and calls its `run`
 * method: no `Context` lookup, no service method closure per protected call.
 */
import type { Clock, Scope } from "effect"
import { Duration, Effect, Exit } from "effect"
import type { ProtectionNotFound } from "../../Errors.js"
import { InvalidConfig, RateLimited, StoreUnavailable } from "../../Errors.js"
import { fastConstructor } from "../runtime/errors.js"
import type { Allowance, CallOptions, LimitRequest, RateLimiter, RateRule, RateStatus } from "../../RateLimiter.js"
import * as Telemetry from "../../Telemetry.js"
import { registerCounter } from "../runtime/observableMetric.js"
import type { LimiterInStep } from "../runtime/inStep.js"
import { decideInStep } from "../runtime/inStep.js"
import { invalidBlock, invalidCost, isCost, notFound } from "./call.js"
import { InlineRules } from "./inline.js"
import { makeMany } from "./serviceMany.js"
import type { Decision, Store, StoreRule } from "./store.js"
import { ADMITTED, DENIED } from "./store.js"

/** The method `RateLimiter.limit` calls, with the clock it found with the service. */
export const run: unique symbol = Symbol.for("effect-foundation/RateLimiter/run")

/** The method `RateLimiter.limit([...])` calls (a multi-check). */
export const runMany: unique symbol = Symbol.for("effect-foundation/RateLimiter/runMany")

export interface Internal {
  readonly [runMany]: <A, E, R>(
    clock: Clock.Clock,
    requests: ReadonlyArray<LimitRequest>,
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | RateLimited | StoreUnavailable, R>
  readonly [run]: <A, E, R>(
    clock: Clock.Clock,
    rule: string | RateRule,
    key: string,
    cost: number,
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | RateLimited | StoreUnavailable, R>
}

/** The services found in the last context `RateLimiter.limit` ran in (cleared on close). */
export const lookup: {
  context: unknown
  service: Internal | undefined
  /** the service's `run` method, read once with it */
  run: Internal[typeof run] | undefined
  clock: Clock.Clock | undefined
} = { context: undefined, service: undefined, run: undefined, clock: undefined }

const rateLimited = fastConstructor(RateLimited, "RateLimited", "rate_limited")
const unavailable = fastConstructor(StoreUnavailable, "StoreUnavailable", "store_unavailable")

const isEffect = (decision: Decision | Effect.Effect<Decision>): decision is Effect.Effect<Decision> => Effect.isEffect(decision)

/**
 * The service over `store`, its `foundation.rate_limiter.requests` counters registered for
 * the scope (and `lookup` cleared when it closes).
 */
export const build = <S extends StoreRule>(store: Store<S>): Effect.Effect<RateLimiter["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<never>()
    const removals: Array<() => void> = []
    const metric = Telemetry.metrics.rateLimiterRequests
    const describe = "rate-limit decisions"
    /** the rule's two series; returns how to remove them */
    const observe = (rule: S): (() => void) => {
      const allowed = registerCounter(context, metric, describe, { rule: rule.name, decision: "allowed" }, () => rule.allowed)
      const denied = registerCounter(context, metric, describe, { rule: rule.name, decision: "denied" }, () => rule.denied)
      return () => {
        allowed()
        denied()
      }
    }
    for (const rule of store.rules.values()) removals.push(observe(rule))
    // an inline rule (`limitWith`) has its series while it is kept, under its normalised name
    const service = makeService(store, observe)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        service[closeInline]()
        for (const remove of removals) remove()
        // do not keep a closed limiter (and the context it was found in) alive
        if (lookup.service === service) {
          lookup.context = undefined
          lookup.service = undefined
          lookup.run = undefined
          lookup.clock = undefined
        }
      })
    )
    return service
  })

/** Stops the inline rules' series (the layer is closing). */
const closeInline: unique symbol = Symbol.for("effect-foundation/RateLimiter/closeInline")

export const makeService = <S extends StoreRule>(
  store: Store<S>,
  observe?: (rule: S) => () => void
): RateLimiter["Service"] & Internal & LimiterInStep & { readonly [closeInline]: () => void } => {
  const rules = store.rules
  const names: ReadonlyArray<string> = [...rules.keys()]
  // one of the two, chosen once: a synchronous store's decision is taken as it is
  const takeNow = store.sync ? store.take : undefined
  const take = store.sync ? undefined : store.take

  /** Counts the decision; the failure it is, or `undefined` when admitted. */
  const refusal = (rule: S, key: string, decision: Decision): Exit.Exit<never, RateLimited | StoreUnavailable> => {
    rule.denied++
    if (decision.outcome === DENIED) {
      const wait = decision.wait
      return Exit.fail(
        rateLimited({
          rule: rule.name,
          key,
          limit: rule.rule.limit,
          remaining: decision.remaining,
          retryAfter: wait === Infinity ? Duration.infinity : Duration.millis(wait)
        })
      )
    }
    return Exit.fail(unavailable({ store: store.name, protection: rule.name, reason: decision.reason! }))
  }

  /**
   * Sleeps until an admitted call's slot comes (on the `Clock`, so `TestClock` drives it);
   * interrupted meanwhile, hands the slot back when the store can.
   */
  const delayed = <A, E, R>(rule: S, decision: Decision, then: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const sleep = Effect.sleep(Duration.millis(decision.wait))
    const cancel = decision.cancel
    if (cancel === undefined) return Effect.andThen(sleep, then)
    return Effect.andThen(
      Effect.onInterrupt(sleep, () =>
        Effect.sync(() => {
          if (cancel()) rule.allowed--
        })
      ),
      then
    )
  }

  const proceed = <A, E, R>(
    rule: S,
    key: string,
    decision: Decision,
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => {
    if (decision.outcome !== ADMITTED) return refusal(rule, key, decision)
    rule.allowed++
    return decision.wait === 0 ? self : delayed(rule, decision, self)
  }

  const allowance = (rule: S, key: string, decision: Decision): Effect.Effect<Allowance, RateLimited | StoreUnavailable> => {
    if (decision.outcome !== ADMITTED) return refusal(rule, key, decision)
    rule.allowed++
    // read now: a synchronous store rewrites its decision on the next take
    const result = Exit.succeed({ remaining: decision.remaining, resetAfter: Duration.millis(decision.resetAfter) })
    return decision.wait === 0 ? result : delayed(rule, decision, result)
  }

  const inline = new InlineRules<S>(store.inline, undefined, observe)

  /**
   * `limit` and `limitWith`: a rule by name or an inline rule; an unknown name or an invalid
   * inline rule is a defect here (fixed by the program), as is a bad cost.
   */
  const runWith = <A, E, R>(
    clock: Clock.Clock,
    name: string | RateRule,
    key: string,
    cost: number,
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => {
    let rule: S | undefined
    if (typeof name === "string") {
      rule = rules.get(name)
      if (rule === undefined) return Effect.die(notFound(name, names))
    } else {
      const resolved = inline.resolve(name)
      if (resolved instanceof InvalidConfig) return Effect.die(resolved)
      rule = resolved
    }
    // a cost of 1 (nearly every call) is valid without asking
    if (cost !== 1 && !isCost(cost)) return Effect.die(invalidCost(cost))
    if (takeNow !== undefined) return proceed(rule, key, takeNow(rule, key, cost, clock), self)
    const decision = take!(rule, key, cost, clock)
    return isEffect(decision)
      ? Effect.flatMap(decision, (decided) => proceed(rule, key, decided, self))
      : proceed(rule, key, decision, self)
  }

  const adjust = (name: string, key: string, points: number, sign: 1 | -1): Effect.Effect<void, ProtectionNotFound | StoreUnavailable> =>
    Effect.clockWith((clock): Effect.Effect<void, ProtectionNotFound | StoreUnavailable> => {
      const rule = rules.get(name)
      if (rule === undefined) return Exit.fail(notFound(name, names))
      if (!isCost(points)) return Effect.die(invalidCost(points, "points"))
      return store.adjust(rule, key, sign * points, clock)
    })

  const many = makeMany(store, names)

  const checkOne = (name: string, key: string, options?: CallOptions) =>
    Effect.clockWith((clock): Effect.Effect<Allowance, RateLimited | ProtectionNotFound | StoreUnavailable> => {
      const rule = rules.get(name)
      if (rule === undefined) return Exit.fail(notFound(name, names))
      return checkRule(clock, rule, key, options)
    })

  const checkRule = (
    clock: Clock.Clock,
    rule: S,
    key: string,
    options: CallOptions | undefined
  ): Effect.Effect<Allowance, RateLimited | StoreUnavailable> => {
    const cost = options?.cost ?? 1
    if (!isCost(cost)) return Effect.die(invalidCost(cost))
    if (takeNow !== undefined) return allowance(rule, key, takeNow(rule, key, cost, clock))
    const decision = take!(rule, key, cost, clock)
    return isEffect(decision) ? Effect.flatMap(decision, (decided) => allowance(rule, key, decided)) : allowance(rule, key, decision)
  }

  return {
    [closeInline]: () => inline.close(),
    [run]: runWith,
    // admitted now: the call itself comes back (`proceed` returns it unchanged)
    [decideInStep]: (clock, name, key, cost) => {
      const gate = runWith(clock, name, key, cost, Effect.void)
      return gate === Effect.void ? undefined : gate
    },
    checkWith: (input: RateRule, key: string, options?: CallOptions) =>
      Effect.clockWith((clock): Effect.Effect<Allowance, RateLimited | InvalidConfig | StoreUnavailable> => {
        const rule = inline.resolve(input)
        return rule instanceof InvalidConfig ? Exit.fail(rule) : checkRule(clock, rule, key, options)
      }),
    limitWith:
      (input: RateRule, key: string, options?: CallOptions) =>
      <A, E, R>(self: Effect.Effect<A, E, R>) =>
        Effect.clockWith((clock) => runWith(clock, input, key, options?.cost ?? 1, self)),
    [runMany]: (clock, requests, self) => many.run(requests, clock, self),
    names,
    check: ((first: string | ReadonlyArray<LimitRequest>, key?: string, options?: CallOptions) =>
      typeof first === "string"
        ? checkOne(first, key!, options)
        : Effect.clockWith((clock) => many.check(first, clock))) as RateLimiter["Service"]["check"],
    status: (name: string, key: string) =>
      Effect.clockWith((clock): Effect.Effect<RateStatus, ProtectionNotFound | StoreUnavailable> => {
        const rule = rules.get(name)
        if (rule === undefined) return Exit.fail(notFound(name, names))
        return Effect.map(store.peek(rule, key, clock), (seen): RateStatus => {
          const status = {
            rule: name,
            key,
            algorithm: rule.rule.algorithm,
            limit: rule.rule.limit,
            remaining: seen.remaining,
            resetAfter: seen.resetAfter === Infinity ? Duration.infinity : Duration.millis(seen.resetAfter)
          }
          return seen.blockedUntil === 0 ? status : { ...status, unblocksAt: seen.blockedUntil }
        })
      }),
    setRule: (name: string, input: RateRule) =>
      Effect.clockWith((clock): Effect.Effect<void, InvalidConfig | ProtectionNotFound> => {
        const rule = rules.get(name)
        return rule === undefined ? Exit.fail(notFound(name, names)) : store.setRule(rule, input, clock)
      }),
    penalty: (name: string, key: string, points = 1) => adjust(name, key, points, 1),
    reward: (name: string, key: string, points = 1) => adjust(name, key, points, -1),
    block: (name: string, key: string, duration: Duration.Input) =>
      Effect.clockWith((clock): Effect.Effect<void, ProtectionNotFound | StoreUnavailable> => {
        const rule = rules.get(name)
        if (rule === undefined) return Exit.fail(notFound(name, names))
        const millis = Duration.toMillis(duration)
        if (!(millis >= 1)) return Effect.die(invalidBlock(duration))
        return store.block(rule, key, millis === Infinity ? Infinity : Math.ceil(millis), clock)
      }),
    reset: (name: string, key: string) =>
      Effect.clockWith((clock): Effect.Effect<void, ProtectionNotFound | StoreUnavailable> => {
        const rule = rules.get(name)
        if (rule === undefined) return Exit.fail(notFound(name, names))
        return store.reset(rule, key, clock)
      }),
    limit: ((first: string | ReadonlyArray<LimitRequest>, key?: string, options?: CallOptions) => {
      if (typeof first !== "string") {
        return <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.clockWith((clock) => many.run(first, clock, self))
      }
      const cost = options?.cost ?? 1
      return <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.clockWith((clock) => runWith(clock, first, key!, cost, self))
    }) as RateLimiter["Service"]["limit"]
  }
}
