/**
 * The Redis store of the rate limiter: the same `RateLimiter` service, rules and algorithms as
 * the memory store, with the counters in Redis so every process and host shares one limit.
 *
 * **When to use**
 *
 * When a service runs as several processes or hosts: with the memory store each process has
 * its own allowance, so N processes admit N times the limit.
 *
 * **Details**
 *
 * - Each decision is one atomic round trip: a Lua script (loaded once with `SCRIPT LOAD`,
 *   called by SHA, reloaded after `NOSCRIPT`) running the memory store's algorithms line by
 *   line, with Redis's `TIME` as the clock, so hosts with skewed clocks agree.
 * - Keys are `<prefix><rule>:<key>`, with a TTL equal to the time until the key is back to a
 *   fresh state: idle keys vanish by themselves.
 * - Redis down, unreachable or slower than `timeout` (default 500 ms per command): the rule's
 *   `onRedisError` decides. `"failOpen"` (default) admits and reports (a warning log per
 *   outage, the `foundation.rate_limiter.store_fallbacks` counter); `"failClosed"` fails with
 *   `StoreUnavailable` (not `RateLimited`); `{ policy, insurance: 0.25 }` lets a local
 *   in-memory limiter with 25% of the limit decide meanwhile. After a failure Redis is not
 *   asked again for `recheckAfter` (default 1 second, counted from the failure), then one
 *   decision rechecks it while the others keep following the policy: an outage costs one
 *   timeout per interval, not one per call, and sends Redis nothing meanwhile. Recovery is
 *   automatic.
 * - At most `maxPending` (default 1,000) commands are sent and unanswered at once; past that,
 *   decisions follow the policy at once without writing. A command that timed out still waits
 *   in the client for Redis's reply; while any does, a Redis known to be down is not written
 *   to (it answers one connection in order, so a newer command could not be answered first).
 *   The count is the `foundation.rate_limiter.store_pending` gauge.
 *
 * **Gotchas**
 *
 * - Give the Redis client `disableOfflineQueue: true` (see the example): otherwise node-redis
 *   queues commands while disconnected, and they run, using allowance, when it reconnects.
 * - A Redis that hangs with its socket open (frozen process, lost peer) is only detected by
 *   the client: give it `socket.socketTimeout` and `pingInterval`, with a `reconnectStrategy`
 *   that reconnects after a socket timeout (docs/distributed.md, "Client settings").
 * - An interrupted `"delay"` waiter keeps its slot (the memory store hands it back): the
 *   Redis store never over-admits but may under-admit after interruptions.
 * - `maxKeys` is not used for Redis state (TTLs bound it); it bounds the insurance table.
 *
 * **Example** (Sharing a limit through Redis)
 *
 * ```ts
 * import { NodeRedis } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const Limits = RateLimiter.layerRedis({
 *   rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute", onRedisError: "failClosed" } }
 * }).pipe(Layer.provide(NodeRedis.layer({ url: process.env.REDIS_URL, disableOfflineQueue: true })))
 * const handle = (ip: string) => Effect.succeed("ok").pipe(RateLimiter.limit("api", ip))
 * Effect.runPromise(handle("10.0.0.1").pipe(Effect.provide(Limits))) // => "ok"
 * ```
 *
 * @since 0.1.0
 */
import type { Clock, Scope } from "effect"
import { Duration, Effect, Exit, Layer, Option } from "effect"
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { Redis } from "effect/persistence"
import { fastConstructor, InvalidConfig, ProtectionNotFound, RateLimited, StoreUnavailable } from "./Errors.js"
import type { Rule } from "./internal/rateLimitAlgorithms.js"
import { registerCounter, registerGauge } from "./internal/observableMetric.js"
import { timerLimitProblem } from "./internal/validate.js"
import { invalidCost, isCost, notFound } from "./internal/rateLimitCall.js"
import type { Reply } from "./internal/redis/rateLimitScript.js"
import { algorithmCode, lua } from "./internal/redis/rateLimitScript.js"
import { makeClientRunner, makeScriptRunner, scriptSha, withTimeout } from "./internal/redis/scriptRunner.js"
import type { CommandClient, Pending } from "./internal/redis/scriptRunner.js"
import type { FailurePolicy, OnRedisError, RedisRuleConfig } from "./internal/redis/storePolicy.js"
import {
  countOption,
  DEFAULT_MAX_PENDING,
  DEFAULT_PREFIX,
  DEFAULT_RECHECK_MILLIS,
  DEFAULT_TIMEOUT_MILLIS,
  durationOption,
  validateOnRedisError,
  validateRedisRule
} from "./internal/redis/storePolicy.js"
import type { Allowance, CallOptions, RateRule, RateStatus } from "./RateLimiter.js"
import { RateLimiter } from "./RateLimiter.js"
import * as Telemetry from "./Telemetry.js"

export type { FailurePolicy, OnRedisError } from "./internal/redis/storePolicy.js"

/**
 * A rule of the Redis store: a `RateRule` plus what to do when Redis cannot answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisRateRule extends RateRule {
  readonly onRedisError?: OnRedisError | undefined
}

/**
 * Options of `layerRedis`.
 *
 * - `prefix` (default `"effect-foundation:rl:"`) starts every key.
 * - `onRedisError` (default `"failOpen"`) applies to rules without their own.
 * - `timeout` (default 500 ms): the longest one decision waits for Redis.
 * - `recheckAfter` (default 1 second): after a failure, how long decisions skip Redis,
 *   counted from the failure (the error or the timeout).
 * - `maxPending` (default 1,000): the most commands sent to Redis and not answered yet; a
 *   decision past it follows the rule's `onRedisError` at once, without writing.
 *
 * `timeout` and `recheckAfter` are at most 2,147,483,647 ms (about 24.8 days, the longest
 * timer Node can arm).
 *
 * **Example** (A tighter bound on what may wait for Redis)
 *
 * ```ts
 * import { RateLimiter } from "effect-foundation"
 *
 * const Limits = RateLimiter.layerRedis({
 *   timeout: "100 millis",
 *   recheckAfter: "2 seconds",
 *   maxPending: 200,
 *   rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisOptions {
  readonly rules: Record<string, RedisRateRule>
  readonly prefix?: string | undefined
  readonly onRedisError?: OnRedisError | undefined
  readonly timeout?: Duration.Input | undefined
  readonly recheckAfter?: Duration.Input | undefined
  readonly maxPending?: number | undefined
}

/**
 * The rate limiter with its state in Redis; needs effect's `Redis` service (for example
 * `NodeRedis.layer` from `@effect/platform-node`). Invalid options fail the layer with
 * `InvalidConfig` naming the field, e.g. `rules.api.onRedisError.insurance`.
 *
 * **Example** (Failing closed for logins, with insurance for the API)
 *
 * ```ts
 * import { RateLimiter } from "effect-foundation"
 *
 * const Limits = RateLimiter.layerRedis({
 *   prefix: "shop:",
 *   rules: {
 *     api: { algorithm: "token-bucket", limit: 100, window: "1 minute", onRedisError: { policy: "failOpen", insurance: 0.25 } },
 *     login: { algorithm: "sliding-window", limit: 5, window: "15 minutes", onRedisError: "failClosed" }
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRedis = (options: RedisOptions): Layer.Layer<RateLimiter, InvalidConfig, Redis.Redis> =>
  Layer.effect(RateLimiter, make(options, "redis"))

/** Options of `layerClient`: node-redis client options, as `NodeRedis.layer` takes them. */
export type ClientOptions = NonNullable<Parameters<typeof NodeRedis.layer>[0]>

/**
 * `NodeRedis.layer` (`Redis` and `NodeRedis`) with settings under which a Redis that stops
 * answering is noticed and left, instead of holding commands forever. Your own values win.
 *
 * - `disableOfflineQueue: true`: while disconnected commands fail at once, instead of waiting
 *   and running (using allowance) after reconnection.
 * - `socket.socketTimeout` (default 3 s): a connection silent for that long (no reply, no
 *   PONG) is closed, which fails its pending commands and reconnects. This is what detects a
 *   frozen server or a peer lost without a reset; TCP keepalive alone takes minutes or never
 *   fires (a frozen process's kernel still answers it).
 * - `pingInterval` (default 1 s, below `socketTimeout`): an idle, healthy connection gets a
 *   PONG often enough not to time out.
 * - `socket.reconnectStrategy`: exponential backoff (50 ms doubling, at most 2 s, plus up to
 *   200 ms of jitter) for every cause, socket timeouts included; `NodeRedis.layer`'s own
 *   strategy stops reconnecting after a socket timeout, which would leave the client closed
 *   for good. As with `NodeRedis.layer`, the first connection fails the layer at once.
 * - Closing waits for pending replies at most `socketTimeout`, then destroys the client:
 *   `NodeRedis.layer`'s close waits for every pending reply, forever when Redis hangs.
 *
 * **Gotchas**
 *
 * - The store stops writing to a Redis known to be down while commands are still unanswered,
 *   so the socket goes silent and `socketTimeout` fires: keep `socketTimeout` shorter than the
 *   outages you want recovered from by reconnecting rather than by waiting for Redis.
 * - `pingInterval` must be below `socketTimeout`, and `socketTimeout` above 0 and at most
 *   2,147,483,647 ms, or the layer fails with `InvalidConfig`.
 *
 * **Example** (The store's Redis client)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { RateLimiter } from "effect-foundation"
 * import * as RateLimiterRedis from "effect-foundation/RateLimiterRedis"
 *
 * const Limits = RateLimiter.layerRedis({
 *   rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } }
 * }).pipe(Layer.provide(RateLimiterRedis.layerClient({ url: process.env.REDIS_URL, socket: { socketTimeout: 5_000 } })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  options: ClientOptions = {}
): Layer.Layer<Redis.Redis | NodeRedis.NodeRedis, Redis.RedisError | InvalidConfig> =>
  Layer.suspend((): Layer.Layer<Redis.Redis | NodeRedis.NodeRedis, Redis.RedisError | InvalidConfig> => {
    const socket = options.socket
    const socketTimeout = socket?.socketTimeout ?? DEFAULT_SOCKET_TIMEOUT_MILLIS
    const pingInterval = options.pingInterval ?? DEFAULT_PING_INTERVAL_MILLIS
    const timerProblem = timerLimitProblem(socketTimeout)
    if (!(socketTimeout > 0) || timerProblem !== undefined) {
      return Layer.effectContext<Redis.Redis | NodeRedis.NodeRedis, InvalidConfig, never>(Effect.fail(
        new InvalidConfig({
          path: "socket.socketTimeout",
          message: timerProblem ?? `must be a number of milliseconds above 0, got ${socketTimeout}`
        })
      ))
    }
    if (!(pingInterval > 0 && pingInterval < socketTimeout)) {
      return Layer.effectContext<Redis.Redis | NodeRedis.NodeRedis, InvalidConfig, never>(Effect.fail(
        new InvalidConfig({
          path: "pingInterval",
          message: `must be above 0 and below socket.socketTimeout (${socketTimeout} ms), got ${pingInterval}`
        })
      ))
    }
    let ready = false
    const reconnectStrategy = (retries: number, cause: Error): number | Error =>
      ready ? Math.min(2 ** retries * 50, 2_000) + Math.floor(Math.random() * 200) : cause
    const client = NodeRedis.layer({
      disableOfflineQueue: true,
      ...options,
      pingInterval,
      socket: { reconnectStrategy, ...socket, socketTimeout }
    } as ClientOptions)
    const boundedClose = Layer.effectDiscard(Effect.gen(function*() {
      const { client } = yield* NodeRedis.NodeRedis
      ready = true
      yield* Effect.addFinalizer(() =>
        Effect.callback<void>((resume) => {
          const timer = setTimeout(() => {
            client.destroy()
            resume(Effect.void)
          }, socketTimeout)
          client.close().then(
            () => {
              clearTimeout(timer)
              resume(Effect.void)
            },
            () => {
              clearTimeout(timer)
              resume(Effect.void)
            }
          )
        })
      )
    }))
    return Layer.provideMerge(boundedClose, client)
  })

const DEFAULT_SOCKET_TIMEOUT_MILLIS = 3_000
const DEFAULT_PING_INTERVAL_MILLIS = 1_000

// ---------------------------------------------------------------------------------------------

/**
 * Builds the service. `clockSource` is `"redis"` in production; the shared test vectors use
 * `"caller"` so Redis decides on `TestClock` time, exactly like the memory store.
 * @internal
 */
export const make = (
  options: RedisOptions,
  clockSource: "redis" | "caller"
): Effect.Effect<RateLimiter["Service"], InvalidConfig, Redis.Redis | Scope.Scope> =>
  Effect.gen(function*() {
    if (typeof options?.rules !== "object" || options.rules === null) {
      return yield* new InvalidConfig({ path: "rules", message: "must be an object of rules by name" })
    }
    if (options.prefix !== undefined && typeof options.prefix !== "string") {
      return yield* new InvalidConfig({ path: "prefix", message: "must be a string" })
    }
    const fallback = options.onRedisError === undefined
      ? { policy: "failOpen" as const, share: undefined }
      : validateOnRedisError("onRedisError", options.onRedisError)
    if (fallback instanceof InvalidConfig) return yield* fallback
    const timeout = durationOption("timeout", options.timeout, DEFAULT_TIMEOUT_MILLIS)
    if (timeout instanceof InvalidConfig) return yield* timeout
    const recheck = durationOption("recheckAfter", options.recheckAfter, DEFAULT_RECHECK_MILLIS)
    if (recheck instanceof InvalidConfig) return yield* recheck
    const maxPending = countOption("maxPending", options.maxPending, DEFAULT_MAX_PENDING)
    if (maxPending instanceof InvalidConfig) return yield* maxPending
    const prefix = options.prefix ?? DEFAULT_PREFIX
    const entries = new Map<string, Entry>()
    for (const name of Object.keys(options.rules)) {
      const config = validateRedisRule(name, options.rules[name]!, fallback)
      if (config instanceof InvalidConfig) return yield* config
      entries.set(name, new Entry(name, `${prefix}${name}:`, config))
    }
    const redis = yield* Redis.Redis
    const nodeRedis = yield* Effect.serviceOption(NodeRedis.NodeRedis)
    const context = yield* Effect.context<never>()
    const removals: Array<() => void> = []
    const pending: Pending = { count: 0 }
    removals.push(registerGauge(
      context,
      STORE_PENDING,
      "commands sent to Redis and not answered yet (timed-out ones included until Redis answers or the socket closes)",
      { prefix },
      () => pending.count
    ))
    for (const [name, entry] of entries) {
      const metric = Telemetry.metrics.rateLimiterRequests
      const describe = "rate-limit decisions"
      removals.push(registerCounter(context, metric, describe, { rule: name, decision: "allowed" }, () => entry.allowed))
      removals.push(registerCounter(context, metric, describe, { rule: name, decision: "denied" }, () => entry.denied))
      removals.push(registerCounter(
        context,
        STORE_FALLBACKS,
        "decisions made without Redis (unavailable or too slow), by the rule's policy",
        { rule: name, policy: entry.insurance === undefined ? entry.policy : "insurance" },
        () => entry.fallbacks
      ))
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => removals.forEach((remove) => remove())))
    return makeService(redis, Option.getOrUndefined(nodeRedis)?.client, entries, pending, {
      timeout,
      recheck,
      maxPending,
      clockSource
    })
  })

/** Counter of decisions taken by a failure policy. */
const STORE_FALLBACKS = Telemetry.metrics.rateLimiterStoreFallbacks

/** Gauge {prefix} of the store's commands sent and not answered yet. */
const STORE_PENDING = "foundation.rate_limiter.store_pending"

class Entry {
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

const makeService = (
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
