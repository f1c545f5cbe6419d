/**
 * The Redis store: one decision per `EVALSHA`, the rule's failure policy while Redis cannot
 * answer, and what keeps an outage cheap (the skip window, the pending gate, `maxPending`:
 * `RedisOutage`). It implements the store port only; the service is `service.ts`'s.
 * `RateLimiterRedis.make` validates the options and builds it.
 */
import type { Clock } from "effect"
import { Effect, Exit } from "effect"
import { Redis } from "effect/persistence"
import { InvalidConfig, StoreUnavailable } from "../../../Errors.js"
import { decodeSync } from "../../runtime/options.js"
import { fastConstructor } from "../../runtime/errors.js"
import type { CommandClient } from "../../runtime/redisClient.js"
import type { RedisOutage } from "../../runtime/redisOutage.js"
import { LocalDecision, reconfigureLocal, takeLocal } from "../memory.js"
import type { RuleState } from "../rule.js"
import type { RuleConfig } from "../config.js"
import type { LocalRequest } from "../many.js"
import { takeManyLocal } from "../many.js"
import type { AsyncStore, Decision, ManyDecision, Request } from "../store.js"
import { ADMITTED, DENIED, deniedAll, StoreRule, UNAVAILABLE } from "../store.js"
import type { ManyReply } from "./manyScript.js"
import { manyLua } from "./manyScript.js"
import type { Reply } from "./script.js"
import { algorithmCode, lua, packedLua, packRule } from "./script.js"
import type { Runner } from "./scriptRunner.js"
import { makeClientRunner, makeScriptRunner, scriptSha, withTimeout } from "./scriptRunner.js"
import type { FailurePolicy, OnRedisError, RedisRuleConfig } from "./storePolicy.js"
import { RedisRuleSchema, resolveRedisRule } from "./storePolicy.js"

/** A rule as the Redis store runs it: its script arguments made once, and its counters. */
export class RedisRule extends StoreRule {
  code: (typeof algorithmCode)[keyof typeof algorithmCode] = "t"
  /** the script's maxWait: -1 for an unbounded one */
  maxWaitArg = ""
  limitArg = ""
  windowArg = ""
  burstArg = ""
  policy: FailurePolicy
  onRedisError: OnRedisError
  insurance: RuleState | undefined
  insuranceDecision: LocalDecision | undefined
  blockArg = ""
  /** the rule's numbers for `packedLua` (`packRule`) */
  packed: Uint8Array = new Uint8Array(0)
  fallbacks = 0
  /** keys of states: `<prefix>:<rule>:<key>` */
  readonly keyPrefix: string
  /** keys of blocks: `<prefix>!block:<rule>:<key>`, apart from every state key */
  readonly blockPrefix: string
  constructor(name: string, prefix: string, config: RedisRuleConfig) {
    super(name, config)
    this.keyPrefix = `${prefix}:${name}:`
    this.blockPrefix = `${prefix}!block:${name}:`
    this.arguments(config)
    this.policy = config.policy
    this.onRedisError = config.onRedisError
    this.insurance = config.insurance
    this.insuranceDecision = config.insurance === undefined ? undefined : new LocalDecision(config.insurance)
  }

  override configure(config: RuleConfig): void {
    super.configure(config)
    this.arguments(config)
  }

  private arguments(config: RuleConfig): void {
    this.code = algorithmCode[config.rule.algorithm]
    this.maxWaitArg = config.delay && config.maxDelayMillis === Infinity ? "-1" : String(this.maxWait)
    this.limitArg = String(config.rule.limit)
    this.windowArg = String(config.rule.windowMillis)
    this.burstArg = String(config.rule.burst)
    this.blockArg = String(config.blockMillis)
    const maxWait = config.delay && config.maxDelayMillis === Infinity ? -1 : this.maxWait
    this.packed = packRule(this.code, config.rule.limit, config.rule.windowMillis, config.rule.burst, maxWait, config.blockMillis)
  }
}

export interface RedisStoreSettings {
  /** the bound on each command, ms */
  readonly commandTimeout: number
  /** `"redis"` in production; the shared test vectors decide on the caller's (`TestClock`) time */
  readonly clockSource: "redis" | "caller"
  /** for inline rules: the store's key prefix and its `onRedisError` */
  readonly prefix: string
  readonly onRedisError: OnRedisError
}

const unavailable = fastConstructor(StoreUnavailable, "StoreUnavailable", "store_unavailable")

/** failOpen without insurance: admitted, nothing known about the key */
const openDecision: Decision = {
  outcome: ADMITTED,
  wait: 0,
  remaining: 0,
  resetAfter: 0,
  reason: undefined,
  cancel: undefined
}

/** A decision as a plain object (a `LocalDecision` is rewritten by its rule's next take). */
const detach = (decision: Decision): Decision =>
  decision instanceof LocalDecision
    ? {
        outcome: decision.outcome,
        wait: decision.wait,
        remaining: decision.remaining,
        resetAfter: decision.resetAfter,
        reason: undefined,
        cancel: decision.cancel
      }
    : decision

const fromReply = (reply: Reply): Decision => ({
  outcome: reply[0] === 1 ? ADMITTED : DENIED,
  // the script returns "never" as -1 (Lua numbers returned to Redis are integers)
  wait: reply[1] < 0 ? Infinity : reply[1],
  remaining: reply[2],
  resetAfter: reply[3],
  reason: undefined,
  cancel: undefined
})

export const makeRedisStore = (
  redis: Redis.Redis["Service"],
  client: CommandClient | undefined,
  rules: ReadonlyMap<string, RedisRule>,
  outage: RedisOutage,
  settings: RedisStoreSettings
): AsyncStore<RedisRule> => {
  const caller = settings.clockSource === "caller"
  const timeout = settings.commandTimeout
  const timeoutError = new Redis.RedisError({ cause: new Error(`no answer within ${timeout}ms`) })
  /**
   * one decision: EVALSHA bounded by the timeout; straight on node-redis when it is there, with
   * the rule packed in one binary argument (`packedLua`), else with text arguments (`lua`)
   */
  const packed = client !== undefined
  const sha = scriptSha(packed ? packedLua : lua)
  const evaluate: Runner<Reply, string | Uint8Array> =
    client !== undefined
      ? makeClientRunner<Reply>(client, packedLua, { millis: timeout, timeoutError, pending: outage })
      : // only ever given text commands (`argsOf` below)
        (makeScriptRunner<Reply>(redis, lua, { millis: timeout, timeoutError, pending: outage }) as Runner<Reply, string | Uint8Array>)
  const failed = (reply: Reply | Redis.RedisError): reply is Redis.RedisError => !Array.isArray(reply)

  /** A script call outside decisions: a failure in the error channel, for `ask`. */
  const run = (command: ReadonlyArray<string | Uint8Array>): Effect.Effect<Reply, Redis.RedisError> =>
    Effect.flatMap(evaluate(command), (reply) => (failed(reply) ? Effect.fail(reply) : Effect.succeed(reply)))

  const storeError = (reason: string) => unavailable({ store: "Redis", protection: "rate limiter", reason })

  /**
   * A Redis command outside decisions (status, reset), timed: failures are StoreUnavailable, at
   * once (nothing sent) while Redis is known down or `maxPending` commands are out.
   */
  const ask = <A>(command: Effect.Effect<A, Redis.RedisError>, clock: Clock.Clock): Effect.Effect<A, StoreUnavailable> => {
    const reason = outage.blocked(clock.currentTimeMillisUnsafe())
    if (reason !== undefined) return Exit.fail(storeError(reason))
    return Effect.matchEffect(command, {
      onSuccess: (reply) => {
        const recovered = outage.up()
        return recovered === undefined ? Exit.succeed(reply) : Effect.as(recovered, reply)
      },
      onFailure: (error) => {
        const warning = outage.down(error, clock.currentTimeMillisUnsafe())
        const failure = Exit.fail(storeError(outage.reason!))
        return warning === undefined ? failure : Effect.andThen(warning, failure)
      }
    })
  }

  /**
   * The EVALSHA command of one decision; the rule's own arguments are made once. (`maxWait`
   * matters to a take only: the packed rule carries the take's.)
   */
  const argsOf = (rule: RedisRule, key: string, cost: number, maxWait: string, now: number, operation: string) =>
    packed
      ? [
          "EVALSHA",
          sha,
          "2",
          rule.keyPrefix + key,
          rule.blockPrefix + key,
          rule.packed,
          cost === 1 ? "1" : String(cost),
          caller ? String(now) : "",
          operation
        ]
      : textArgsOf(rule, key, cost, maxWait, now, operation)

  const textArgsOf = (rule: RedisRule, key: string, cost: number, maxWait: string, now: number, operation: string) => [
    "EVALSHA",
    sha,
    "2",
    rule.keyPrefix + key,
    rule.blockPrefix + key,
    rule.code,
    rule.limitArg,
    rule.windowArg,
    rule.burstArg,
    cost === 1 ? "1" : String(cost),
    maxWait,
    caller ? String(now) : "",
    operation,
    rule.blockArg
  ]

  /** The decision of a rule's failure policy while Redis cannot answer (`reason` says why). */
  const fallback = (rule: RedisRule, key: string, cost: number, now: number, reason: string): Decision => {
    rule.fallbacks++
    const insurance = rule.insurance
    if (insurance !== undefined) return takeLocal(insurance, rule.insuranceDecision!, key, now, cost, rule.maxWait)
    if (rule.policy === "failOpen") return openDecision
    return { outcome: UNAVAILABLE, wait: 0, remaining: 0, resetAfter: 0, reason, cancel: undefined }
  }

  const evaluateMany =
    client !== undefined
      ? makeClientRunner<ManyReply>(client, manyLua, { millis: timeout, timeoutError, pending: outage })
      : makeScriptRunner<ManyReply>(redis, manyLua, { millis: timeout, timeoutError, pending: outage })
  const manySha = scriptSha(manyLua)

  /** A multi-check by the rules' failure policies while Redis cannot answer. */
  const fallbackMany = (requests: ReadonlyArray<Request<RedisRule>>, now: number, reason: string): ManyDecision => {
    const insured: Array<LocalRequest> = []
    const at: Array<number> = []
    for (let i = 0; i < requests.length; i++) {
      const { rule, key, cost } = requests[i]!
      rule.fallbacks++
      if (rule.insurance !== undefined) {
        insured.push({ state: rule.insurance, key, cost, maxWait: rule.maxWait })
        at.push(i)
      } else if (rule.policy === "failClosed") {
        return { outcome: UNAVAILABLE, wait: 0, refused: i, remaining: [], resetAfter: [], reason }
      }
    }
    const remaining = new Array<number>(requests.length).fill(0)
    const resetAfter = new Array<number>(requests.length).fill(0)
    if (insured.length === 0) return { outcome: ADMITTED, wait: 0, refused: -1, remaining, resetAfter, reason: undefined }
    const local = takeManyLocal(insured, now)
    for (let k = 0; k < at.length; k++) {
      remaining[at[k]!] = local.remaining[k]!
      resetAfter[at[k]!] = local.resetAfter[k]!
    }
    return { ...local, refused: local.refused === -1 ? -1 : at[local.refused]!, remaining, resetAfter }
  }

  const takeMany = (requests: ReadonlyArray<Request<RedisRule>>, clock: Clock.Clock): Effect.Effect<ManyDecision> =>
    Effect.suspend(() => {
      const now = clock.currentTimeMillisUnsafe()
      const reason = outage.blocked(now)
      if (reason !== undefined) return Exit.succeed(fallbackMany(requests, now, reason))
      const command = ["EVALSHA", manySha, String(requests.length * 2)]
      for (const { rule, key } of requests) command.push(rule.keyPrefix + key, rule.blockPrefix + key)
      command.push(caller ? String(now) : "")
      for (const { rule, cost } of requests) {
        command.push(rule.code, rule.limitArg, rule.windowArg, rule.burstArg, String(cost), rule.maxWaitArg, rule.blockArg)
      }
      return Effect.flatMap(evaluateMany(command), (reply): Effect.Effect<ManyDecision> => {
        if (!Array.isArray(reply)) {
          const failedAt = clock.currentTimeMillisUnsafe()
          const warning = outage.down(reply as Redis.RedisError, failedAt)
          const decided = Effect.sync(() => fallbackMany(requests, failedAt, outage.reason!))
          return warning === undefined ? decided : Effect.andThen(warning, decided)
        }
        const n = requests.length
        const remaining = new Array<number>(n)
        const resetAfter = new Array<number>(n)
        for (let i = 0; i < n; i++) {
          remaining[i] = reply[3 + 2 * i]!
          resetAfter[i] = reply[4 + 2 * i]!
        }
        const decision: ManyDecision = {
          outcome: reply[0] === 1 ? ADMITTED : DENIED,
          wait: reply[1]! < 0 ? Infinity : reply[1]!,
          refused: reply[2]! - 1,
          remaining,
          resetAfter,
          reason: undefined
        }
        const recovered = outage.up()
        return recovered === undefined ? Exit.succeed(decision) : Effect.as(recovered, decision)
      })
    })

  /**
   * `setRule`: this process's rule changes; the state every process shares stays as stored,
   * read under the new rule. So the algorithm and the window, which say what the stored
   * numbers mean, cannot change (InvalidConfig); without its own `onRedisError` the rule keeps
   * the one it had.
   */
  const setRule = (rule: RedisRule, input: unknown, clock: Clock.Clock): Effect.Effect<void, InvalidConfig> =>
    Effect.suspend(() => {
      const base = `rules.${rule.name}`
      const decoded = decodeSync(RedisRuleSchema, input, base)
      if (decoded instanceof InvalidConfig) return Exit.fail(decoded)
      const config = resolveRedisRule(rule.name, decoded, decoded.onRedisError ?? rule.onRedisError)
      for (const [field, changed] of [
        ["algorithm", config.rule.algorithm !== rule.rule.algorithm],
        ["window", config.rule.windowMillis !== rule.rule.windowMillis]
      ] as const) {
        if (changed) {
          return Exit.fail(
            new InvalidConfig({
              path: `${base}.${field}`,
              message: `${base}.${field}: cannot change on a rule shared through Redis (every process reads the stored state by it); use a new rule name or prefix`
            })
          )
        }
      }
      rule.configure(config)
      rule.policy = config.policy
      rule.onRedisError = config.onRedisError
      if (rule.insurance !== undefined && config.insurance !== undefined) {
        reconfigureLocal(rule.insurance, { ...config, rule: config.insurance.rule }, clock.currentTimeMillisUnsafe())
      } else {
        rule.insurance = config.insurance
        rule.insuranceDecision = config.insurance === undefined ? undefined : new LocalDecision(config.insurance)
      }
      return Exit.void
    })

  return {
    name: "Redis",
    sync: false,
    rules,
    setRule,
    inline: (name, rule) => new RedisRule(name, settings.prefix, resolveRedisRule(name, rule, settings.onRedisError)),
    takeMany,
    take: (rule, key, cost, clock) => {
      if (rule.off) return deniedAll
      const now = clock.currentTimeMillisUnsafe()
      const reason = outage.blocked(now)
      if (reason !== undefined) return fallback(rule, key, cost, now, reason)
      return Effect.flatMap(evaluate(argsOf(rule, key, cost, rule.maxWaitArg, now, "take")), (reply): Effect.Effect<Decision> => {
        if (failed(reply)) {
          const failedAt = clock.currentTimeMillisUnsafe()
          const warning = outage.down(reply, failedAt)
          // handed over asynchronously: detached from the insurance's reused decision, which
          // the next take (another fiber's, if this one yields first) rewrites
          return warning === undefined
            ? Exit.succeed(detach(fallback(rule, key, cost, failedAt, outage.reason!)))
            : Effect.andThen(
                warning,
                Effect.sync(() => detach(fallback(rule, key, cost, failedAt, outage.reason!)))
              )
        }
        const decision = fromReply(reply)
        const recovered = outage.up()
        return recovered === undefined ? Exit.succeed(decision) : Effect.as(recovered, decision)
      })
    },
    peek: (rule, key, clock) =>
      rule.rule.limit === 0
        ? Exit.succeed({ remaining: 0, resetAfter: 0, blockedUntil: 0 })
        : Effect.map(ask(run(argsOf(rule, key, 1, "0", clock.currentTimeMillisUnsafe(), "peek")), clock), (reply) => ({
            remaining: reply[2],
            resetAfter: reply[3] < 0 ? Infinity : reply[3],
            blockedUntil: reply[5]! < 0 ? Infinity : reply[5]!
          })),
    reset: (rule, key, clock) =>
      Effect.suspend(() => {
        rule.insurance?.reset(key)
        const keys = redis.send("DEL", rule.keyPrefix + key, rule.blockPrefix + key)
        return Effect.asVoid(ask(withTimeout(keys, timeout, timeoutError, outage), clock))
      }),
    adjust: (rule, key, points, clock) =>
      // limit 0 holds nothing to use or give back
      rule.rule.limit === 0
        ? Effect.void
        : Effect.asVoid(ask(run(argsOf(rule, key, points, "0", clock.currentTimeMillisUnsafe(), "adjust")), clock)),
    block: (rule, key, millis, clock) =>
      Effect.suspend(() => {
        const now = clock.currentTimeMillisUnsafe()
        // the insurance refuses the key too while Redis cannot answer
        rule.insurance?.block(key, now + millis)
        return Effect.asVoid(ask(run(argsOf(rule, key, millis === Infinity ? -1 : millis, "0", now, "block")), clock))
      })
  }
}
