/**
 * The Redis store's service: one decision per `EVALSHA`, the rule's failure policy while Redis
 * cannot answer, and what keeps an outage cheap (the skip window, the pending gate,
 * `maxPending`). `RateLimiterRedis.make` validates the options and builds it.
 */
import type { Clock } from "effect"
import { Duration, Effect, Exit } from "effect"
import { Redis } from "effect/persistence"
import type { ProtectionNotFound } from "../../../Errors.js"
import { fastConstructor, RateLimited, StoreUnavailable } from "../../../Errors.js"
import type { Allowance, CallOptions, RateLimiter, RateStatus } from "../../../RateLimiter.js"
import type { Rule } from "../algorithms.js"
import { invalidCost, isCost, notFound } from "../call.js"
import type { Reply } from "./script.js"
import { algorithmCode, lua } from "./script.js"
import type { CommandClient, Pending } from "./scriptRunner.js"
import { makeClientRunner, makeScriptRunner, scriptSha, withTimeout } from "./scriptRunner.js"
import type { FailurePolicy, RedisRuleConfig } from "./storePolicy.js"

/** A rule as the store runs it: its script arguments made once, and its counters. */
export class Entry {
  readonly rule: Rule
  readonly code: string
  /** ms a caller may wait: 0 under "fail"; -1 (unbounded) for an infinite maxDelay */
  readonly maxWait: number
  readonly maxWaitArg: string
  readonly limitArg: string
  readonly windowArg: string
  readonly burstArg: string
  readonly policy: FailurePolicy
  readonly insurance: RedisRuleConfig["insurance"]
  allowed = 0
  denied = 0
  fallbacks = 0
  constructor(readonly name: string, readonly keyPrefix: string, config: RedisRuleConfig) {
    this.rule = config.rule
    this.code = algorithmCode[config.rule.algorithm]
    this.maxWait = !config.delay ? 0 : config.maxDelayMillis === Infinity ? -1 : Math.floor(config.maxDelayMillis)
    this.maxWaitArg = String(this.maxWait)
    this.limitArg = String(config.rule.limit)
    this.windowArg = String(config.rule.windowMillis)
    this.burstArg = String(config.rule.burst)
    this.policy = config.policy
    this.insurance = config.insurance
  }
}

const run = Symbol.for("effect-foundation/RateLimiter/run")

const rateLimited = fastConstructor(RateLimited, "RateLimited", "rate_limited")
const unavailable = fastConstructor(StoreUnavailable, "StoreUnavailable", "store_unavailable")

const admit = <A, E, R>(
  entry: Entry,
  reply: Reply,
  then: (reply: Reply | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  entry.allowed++
  const wait = reply[1]
  return wait === 0 ? then(reply) : Effect.andThen(Effect.sleep(Duration.millis(wait)), then(reply))
}

const deny = (entry: Entry, key: string, remaining: number, wait: number): Exit.Exit<never, RateLimited> => {
  entry.denied++
  return Exit.fail(rateLimited({
    rule: entry.name,
    key,
    limit: entry.rule.limit,
    remaining,
    retryAfter: wait < 0 || wait === Infinity ? Duration.infinity : Duration.millis(wait)
  }))
}

/** Whether Redis answers; while it does not, when to recheck it. */
interface Health {
  /** skip Redis until then (ms, Clock time of the failure + recheckAfter) */
  downUntil: number
  /** why the last Redis call failed; `undefined` while Redis answers */
  reason: string | undefined
}

const describeCause = (error: unknown): string => {
  const cause = (error as { cause?: unknown })?.cause ?? error
  return cause instanceof Error ? cause.message : String(cause)
}

export const makeService = (
  redis: Redis.Redis["Service"],
  client: CommandClient | undefined,
  entries: Map<string, Entry>,
  pending: Pending,
  settings: {
    readonly timeout: number
    readonly recheck: number
    readonly maxPending: number
    readonly clockSource: "redis" | "caller"
  }
): RateLimiter["Service"] => {
  const health: Health = { downUntil: 0, reason: undefined }
  const caller = settings.clockSource === "caller"
  const timeoutError = new Redis.RedisError({ cause: new Error(`no answer within ${settings.timeout}ms`) })
  const sha = scriptSha(lua)
  /** one decision: EVALSHA bounded by the timeout (straight on node-redis when it is there) */
  const evaluate = client !== undefined
    ? makeClientRunner<Reply>(client, lua, settings.timeout, timeoutError, pending)
    : makeScriptRunner<Reply>(redis, lua, settings.timeout, timeoutError, pending)
  const failed = (reply: Reply | Redis.RedisError): reply is Redis.RedisError => !Array.isArray(reply)
  const recovered = Effect.logInfo("RateLimiter: Redis answers again, decisions are shared again")

  const overloaded = `${settings.maxPending} commands already wait for Redis (maxPending)`

  /** Redis answered: if it had not, decisions are shared again from now on. */
  const up = (): void => {
    health.reason = undefined
    health.downUntil = 0
  }

  /**
   * Redis failed: skip it for `recheck` from `now`, the moment the failure is known (the error or
   * the timeout; measured from the call, a hung Redis would eat the window with the timeout).
   * The first failure of an outage is logged.
   */
  const down = (error: Redis.RedisError, now: number): Effect.Effect<void> => {
    const reason = describeCause(error)
    const first = health.reason === undefined
    health.reason = reason
    health.downUntil = now + settings.recheck
    return first ? Effect.logWarning(`RateLimiter: Redis unavailable (${reason}); rules follow onRedisError`) : Effect.void
  }

  /**
   * Why nothing may be sent to Redis now, or `undefined` when a command may go. While Redis is
   * known down nothing is sent before `downUntil`, nor while any command is unanswered: Redis
   * answers a connection in order, so a new one would only wait behind the old one, and the
   * socket must go silent for the client's `socketTimeout` to notice a dead connection. So
   * after the window one decision rechecks (pending while it runs, so the others keep to the
   * policy), and none does while a timed-out command still waits for its reply.
   */
  const blocked = (now: number): string | undefined => {
    if (health.reason !== undefined) return now < health.downUntil || pending.count > 0 ? health.reason : undefined
    return pending.count >= settings.maxPending ? overloaded : undefined
  }

  const timed = <A>(command: Effect.Effect<A, Redis.RedisError>) =>
    withTimeout(command, settings.timeout, timeoutError, pending)

  /**
   * A Redis command outside decisions (status, reset), timed: failures are StoreUnavailable, at
   * once (nothing sent) while Redis is known down or `maxPending` commands are out.
   */
  const ask = <A>(command: Effect.Effect<A, Redis.RedisError>, clock: Clock.Clock): Effect.Effect<A, StoreUnavailable> => {
    const reason = blocked(clock.currentTimeMillisUnsafe())
    if (reason !== undefined) return Exit.fail(unavailable({ store: "Redis", protection: "rate limiter", reason }))
    return Effect.matchEffect(command, {
      onSuccess: (reply) => {
        if (health.reason === undefined) return Effect.succeed(reply)
        up()
        return Effect.as(recovered, reply)
      },
      onFailure: (error) =>
        Effect.andThen(
          down(error, clock.currentTimeMillisUnsafe()),
          Effect.fail(unavailable({ store: "Redis", protection: "rate limiter", reason: health.reason! }))
        )
    })
  }

  /** The EVALSHA command of one decision; the rule's own arguments are strings made once. */
  const argsOf = (entry: Entry, key: string, cost: number, maxWait: string, now: number, operation: string) => [
    "EVALSHA",
    sha,
    "1",
    entry.keyPrefix + key,
    entry.code,
    entry.limitArg,
    entry.windowArg,
    entry.burstArg,
    cost === 1 ? "1" : String(cost),
    maxWait,
    caller ? String(now) : "",
    operation
  ]

  /** The decision of a rule's failure policy while Redis cannot answer (`reason` says why). */
  const fallback = <A, E, R>(
    entry: Entry,
    key: string,
    cost: number,
    now: number,
    reason: string,
    admitted: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => {
    entry.fallbacks++
    const insurance = entry.insurance
    if (insurance !== undefined) {
      const maxWait = entry.maxWait < 0 ? Infinity : entry.maxWait
      const wait = insurance.take(key, now, cost, maxWait)
      if (wait > maxWait) return deny(entry, key, insurance.remainingAt(insurance.lastSlot, now), wait)
      entry.allowed++
      return wait === 0 ? admitted : Effect.andThen(Effect.sleep(Duration.millis(wait)), admitted)
    }
    if (entry.policy === "failOpen") {
      entry.allowed++
      return admitted
    }
    entry.denied++
    return Exit.fail(unavailable({ store: "Redis", protection: entry.name, reason }))
  }

  const decide = <A, E, R>(
    entry: Entry,
    clock: Clock.Clock,
    key: string,
    cost: number,
    then: (reply: Reply | undefined) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => {
    const now = clock.currentTimeMillisUnsafe()
    const reason = blocked(now)
    if (reason !== undefined) return fallback(entry, key, cost, now, reason, then(undefined))
    return Effect.flatMap(
      evaluate(argsOf(entry, key, cost, entry.maxWaitArg, now, "take")),
      (reply): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => {
        if (failed(reply)) {
          const failedAt = clock.currentTimeMillisUnsafe()
          return Effect.andThen(
            down(reply, failedAt),
            fallback(entry, key, cost, failedAt, health.reason!, then(undefined))
          )
        }
        const decision: Effect.Effect<A, E | RateLimited, R> = reply[0] !== 1
          ? deny(entry, key, reply[2], reply[1])
          : admit(entry, reply, then)
        if (health.reason === undefined) return decision
        up()
        return Effect.andThen(recovered, decision)
      }
    )
  }

  const runWith = <A, E, R>(
    clock: Clock.Clock,
    rule: string,
    key: string,
    cost: number,
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | RateLimited | StoreUnavailable, R> => {
    const entry = entries.get(rule)
    if (entry === undefined) return Effect.die(notFound(rule))
    if (!isCost(cost)) return Effect.die(invalidCost(cost))
    return decide(entry, clock, key, cost, () => self)
  }

  const allowanceOf = (entry: Entry, key: string, now: number) => (reply: Reply | undefined): Effect.Effect<Allowance> => {
    if (reply !== undefined) return Exit.succeed({ remaining: reply[2], resetAfter: Duration.millis(reply[3]) })
    // decided without Redis: the insurance table's view, or nothing known
    const insurance = entry.insurance
    if (insurance === undefined) return Exit.succeed({ remaining: 0, resetAfter: Duration.zero })
    const slot = insurance.table.find(key)
    return Exit.succeed({
      remaining: insurance.remainingAt(slot, now),
      resetAfter: Duration.millis(insurance.resetAfterAt(slot, now))
    })
  }

  const service = {
    [run]: runWith,
    check: (rule: string, key: string, options?: CallOptions) =>
      Effect.clockWith((clock): Effect.Effect<Allowance, RateLimited | StoreUnavailable | ProtectionNotFound> => {
        const entry = entries.get(rule)
        if (entry === undefined) return Exit.fail(notFound(rule))
        const cost = options?.cost ?? 1
        if (!isCost(cost)) return Effect.die(invalidCost(cost))
        return decide(entry, clock, key, cost, allowanceOf(entry, key, clock.currentTimeMillisUnsafe()))
      }),
    status: (rule: string, key: string) =>
      Effect.clockWith((clock): Effect.Effect<RateStatus, ProtectionNotFound | StoreUnavailable> => {
        const entry = entries.get(rule)
        if (entry === undefined) return Exit.fail(notFound(rule))
        const now = clock.currentTimeMillisUnsafe()
        const r = entry.rule
        return Effect.map(
          ask(
            Effect.flatMap(
              evaluate(argsOf(entry, key, 1, "0", now, "peek")),
              (reply) => failed(reply) ? Effect.fail(reply) : Effect.succeed(reply)
            ),
            clock
          ),
          (reply) => ({
            rule,
            key,
            algorithm: r.algorithm,
            limit: r.limit,
            remaining: reply[2],
            resetAfter: Duration.millis(reply[3])
          })
        )
      }),
    reset: (rule: string, key: string) =>
      Effect.clockWith((clock): Effect.Effect<void, ProtectionNotFound | StoreUnavailable> => {
        const entry = entries.get(rule)
        if (entry === undefined) return Exit.fail(notFound(rule))
        entry.insurance?.reset(key)
        return Effect.asVoid(ask(timed(redis.send("DEL", entry.keyPrefix + key)), clock))
      }),
    limit: (rule: string, key: string, options?: CallOptions) => {
      const cost = options?.cost ?? 1
      return <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.clockWith((clock) => runWith(clock, rule, key, cost, self))
    }
  }
  // The service type of RateLimiter.ts does not list StoreUnavailable yet (the memory store
  // cannot produce it); failClosed rules and status/reset during an outage fail with it.
  return service as unknown as RateLimiter["Service"]
}
