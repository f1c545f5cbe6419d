/**
 * The service's multi-check (`check([...])`, `limit([...])`): several rules and keys decided
 * at once by the store's `takeMany`, admitted by all or consumed from none. The call checks
 * and errors read as for one rule (`service.ts`).
 */
import type { Clock } from "effect"
import { Duration, Effect, Exit } from "effect"
import type { ProtectionNotFound } from "../../Errors.js"
import { InvalidConfig, RateLimited, StoreUnavailable } from "../../Errors.js"
import type { Allowance, LimitRequest } from "../../RateLimiter.js"
import { invalidCost, isCost, notFound } from "./call.js"
import type { ManyDecision, Request, Store, StoreRule } from "./store.js"
import { ADMITTED, DENIED } from "./store.js"

export interface Many {
  readonly check: (
    requests: ReadonlyArray<LimitRequest>,
    clock: Clock.Clock
  ) => Effect.Effect<ReadonlyArray<Allowance>, RateLimited | ProtectionNotFound | StoreUnavailable>
  readonly run: <A, E, R>(
    requests: ReadonlyArray<LimitRequest>,
    clock: Clock.Clock,
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | RateLimited | StoreUnavailable, R>
}

const duplicate = (request: LimitRequest): InvalidConfig =>
  new InvalidConfig({
    path: "requests",
    message: `rule "${request.rule}" and key "${request.key}" appear twice in one multi-check: give one request the sum of the costs`
  })

export const makeMany = <S extends StoreRule>(store: Store<S>, names: ReadonlyArray<string>): Many => {
  const rules = store.rules

  /** The store's requests, or the error a request is: ProtectionNotFound, or a defect. */
  const resolve = (requests: ReadonlyArray<LimitRequest>): Array<Request<S>> | ProtectionNotFound | InvalidConfig => {
    const resolved = new Array<Request<S>>(requests.length)
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!
      const rule = rules.get(request.rule)
      if (rule === undefined) return notFound(request.rule, names)
      const cost = request.cost ?? 1
      if (!isCost(cost)) return invalidCost(cost)
      for (let j = 0; j < i; j++) if (resolved[j]!.rule === rule && resolved[j]!.key === request.key) return duplicate(request)
      resolved[i] = { rule, key: request.key, cost }
    }
    return resolved
  }

  const refusal = (requests: ReadonlyArray<Request<S>>, decision: ManyDecision): Exit.Exit<never, RateLimited | StoreUnavailable> => {
    for (const request of requests) request.rule.denied++
    const { rule, key } = requests[decision.refused]!
    if (decision.outcome === DENIED) {
      const wait = decision.wait
      return Exit.fail(
        new RateLimited({
          rule: rule.name,
          key,
          limit: rule.rule.limit,
          remaining: decision.remaining[decision.refused]!,
          retryAfter: wait === Infinity ? Duration.infinity : Duration.millis(wait)
        })
      )
    }
    return Exit.fail(new StoreUnavailable({ store: store.name, protection: rule.name, reason: decision.reason! }))
  }

  const decide = <A, E, R>(
    resolved: ReadonlyArray<Request<S>>,
    clock: Clock.Clock,
    then: (decision: ManyDecision) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => {
    // a rule of limit 0 refuses the whole call, without asking the store
    for (let i = 0; i < resolved.length; i++) {
      if (resolved[i]!.rule.off) {
        const none = resolved.map(() => 0)
        return refusal(resolved, { outcome: DENIED, wait: Infinity, refused: i, remaining: none, resetAfter: none, reason: undefined })
      }
    }
    return Effect.flatMap(store.takeMany(resolved, clock), (decision): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => {
      if (decision.outcome !== ADMITTED) return refusal(resolved, decision)
      for (const request of resolved) request.rule.allowed++
      // a delayed multi-admission keeps its slots if interrupted: conservative, never over-admits
      return decision.wait === 0 ? then(decision) : Effect.andThen(Effect.sleep(Duration.millis(decision.wait)), then(decision))
    })
  }

  const allowances = (decision: ManyDecision): Exit.Exit<ReadonlyArray<Allowance>> =>
    Exit.succeed(decision.remaining.map((remaining, i) => ({ remaining, resetAfter: Duration.millis(decision.resetAfter[i]!) })))

  return {
    check: (requests, clock) => {
      const resolved = resolve(requests)
      if (Array.isArray(resolved)) return decide(resolved, clock, allowances)
      return resolved._tag === "InvalidConfig" ? Effect.die(resolved) : Exit.fail(resolved)
    },
    run: (requests, clock, self) => {
      // an unknown rule or a bad cost is a defect here, as in `limit` with one rule
      const resolved = resolve(requests)
      return Array.isArray(resolved) ? decide(resolved, clock, () => self) : Effect.die(resolved)
    }
  }
}
