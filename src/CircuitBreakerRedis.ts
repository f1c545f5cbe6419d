/**
 * Circuit breakers whose state is shared by every process through Redis: when one process
 * opens a breaker, all of them reject; in HalfOpen, at most `halfOpenMaxCalls` probes run in
 * the whole cluster.
 *
 * **Details**
 *
 * - **Counting stays local.** Each process counts its own calls and trips on its own
 *   evidence; shared counting would cost a Redis round trip on every call, which is what a
 *   breaker exists to make cheap. What is shared is the decision: Open (and until when) and
 *   Closed.
 * - **The client.** Any `Redis` service works. `RateLimiterRedis.layerClient` (one client for
 *   both Redis stores) adds what notices a Redis that hangs with its socket open (socket
 *   timeout, pings, reconnection after a socket timeout) and a close that cannot wait forever.
 *   Loading this module loads neither `redis` nor `@effect/platform-node`.
 * - **Transitions travel by pub/sub.** A local Open is written to `<prefix>:state:<breaker>`
 *   with a TTL equal to the remaining open time and published on `<prefix>:transitions`;
 *   every other process applies it at once (no polling per call). A process starting later
 *   reads the keys of its configured breakers. The remaining time is shipped, not a
 *   timestamp, so clock skew between hosts does not matter (network latency does, by
 *   milliseconds).
 * - **Probe leases.** A probe first takes one of `halfOpenMaxCalls` lease keys
 *   (`SET NX PX`), released when it ends and expiring by itself after `maxWaitInHalfOpen` so a
 *   crashed prober cannot hold it longer than a local probe could. A process that finds every
 *   lease taken rejects like a full HalfOpen. A probe interrupted while it waits for its lease
 *   gives its local slot back, and its lease too if Redis grants it late.
 * - **Several probes.** `halfOpenMaxCalls` probes run at once at most in the whole cluster
 *   (the leases); each process counts the results of its own probes, and the first to collect
 *   `halfOpenMaxCalls` of them (or to know the verdict early) decides and shares it.
 * - **Local on purpose.** Counting (count- and time-based windows alike), `isolate`, `setMode`
 *   and `configure` act on this process only: an isolated, disabled or metrics-only breaker
 *   shares nothing and ignores the others' transitions until it is back to normal. To change
 *   a policy everywhere, configure every process.
 * - **Redis down or slow.** Every wait on Redis is bounded by `commandTimeout` (default 1 s).
 *   Without Redis each process falls back to its local breaker (probes included) and logs a
 *   warning once per outage; it shares state again when Redis answers. A transition that could
 *   not be published is a *failed share*: logged, and counted in `state(name).failedShares`.
 *   At most 64 commands wait for Redis at once (releases of leases excepted, at most one per
 *   lease asked for); past that a command fails at once, so a hung Redis cannot make the client
 *   queue grow without bound.
 *
 * **Example** (Shared breakers)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { CircuitBreakerRedis, RateLimiterRedis } from "effect-foundation"
 *
 * const Breakers = CircuitBreakerRedis.layer({
 *   breakers: { payments: { failureThreshold: 5, resetTimeout: "30 seconds" } },
 *   prefix: "checkout:cb"
 * }).pipe(Layer.provide(RateLimiterRedis.layerClient({ url: "redis://127.0.0.1:6379" })))
 * ```
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Clock, Deferred, Effect, Exit, Fiber, Layer, Option, Queue } from "effect"
import { Redis } from "effect/persistence"
import { randomBytes } from "node:crypto"
import type { Options } from "./CircuitBreaker.js"
import { CircuitBreaker, make, registryOf } from "./CircuitBreaker.js"
import type { InvalidConfig } from "./Errors.js"
import type { Breaker, ProbeLeases } from "./internal/circuitBreaker/registry.js"
import * as Circuit from "./internal/circuitBreaker/circuit.js"
import { ACQUIRE, READ, RELEASE, SHARE } from "./internal/circuitBreaker/redis/scripts.js"
import { nodeRedisClient } from "./internal/runtime/redisClient.js"
import { decode } from "./internal/runtime/options.js"
import { stripPrefix } from "./internal/runtime/redisOptions.js"
import { millis } from "./internal/runtime/schemas.js"
import { SharedOptions } from "./internal/circuitBreaker/redis/options.js"
import { RedisOutage } from "./internal/runtime/redisOutage.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RedisOptions extends Options {
  /**
   * Starts every key and the channel, joined by `:` (default `effect-foundation:cb`: keys
   * `effect-foundation:cb:state:<breaker>`); one trailing `:` is ignored.
   */
  readonly prefix?: string
  /**
   * Bound on every wait on Redis: a lease, a published transition, a read (default 1 second;
   * at most 2^31 - 1 ms).
   *
   * **Details**
   *
   * None of these waits is on the path of a normal call: they happen once per transition,
   * once per probe and at start. So the bound can be generous: 1 second survives a link with
   * hundreds of milliseconds of round trip plus a Redis latency spike, where the former 100 ms
   * default silently stopped sharing openings beyond about 100 ms of round trip. The one
   * caller who waits is a probe, for its lease, at most once per reset timeout.
   *
   * **Example** (A far-away Redis)
   *
   * ```ts
   * import { CircuitBreakerRedis } from "effect-foundation"
   *
   * const layer = CircuitBreakerRedis.layer({ breakers: { payments: {} }, commandTimeout: "2 seconds" })
   * ```
   */
  readonly commandTimeout?: Duration.Input
}

/** off the path of normal calls, so looser than the rate limiter's 500 ms (see above) */
/**
 * The shared layer's own options, beside the breakers' (`prefix`, `commandTimeout`): the
 * configuration file's `redis.circuitBreaker` section.
 *
 * @since 0.2.0
 * @category schemas
 */
export const SharedOptionsSchema = SharedOptions

/**
 * Commands allowed to wait for Redis at once (lease releases excepted: at most one per lease
 * asked for). Normally a handful are in flight; the cap only bites when Redis hangs with the
 * connection open, where every command would otherwise stay queued in the client until Redis
 * answers or the connection drops.
 */
const MAX_PENDING_COMMANDS = 64

interface Message {
  readonly breaker: string
  readonly to: "Open" | "Closed"
  readonly remainingMs: number
  readonly origin: string
}

/**
 * Circuit breakers with state shared through effect's `Redis` service. Same options and
 * service as `CircuitBreaker.layer`, plus `prefix` and `commandTimeout`.
 *
 * **Example** (Breakers shared through the store's client)
 *
 * ```ts
 * import { Layer } from "effect"
 * import { CircuitBreakerRedis, RateLimiterRedis } from "effect-foundation"
 *
 * const Breakers = CircuitBreakerRedis.layer({ breakers: { payments: {} } }).pipe(
 *   Layer.provide(RateLimiterRedis.layerClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RedisOptions = {}): Layer.Layer<CircuitBreaker, InvalidConfig, Redis.Redis> =>
  Layer.effect(CircuitBreaker, makeShared(options))

/**
 * The former name of `layer`.
 *
 * @deprecated Use `CircuitBreakerRedis.layer`.
 * @since 0.1.0
 * @category layers
 */
export const layerRedis: (options?: RedisOptions) => Layer.Layer<CircuitBreaker, InvalidConfig, Redis.Redis> = layer

const makeShared = Effect.fnUntraced(function* (options: RedisOptions) {
  // the shared layer's own options are not the breakers': `make` rejects keys it does not know
  const { commandTimeout, prefix: prefixInput, ...breakerOptions } = options
  const shared = yield* decode(SharedOptions, { commandTimeout, prefix: prefixInput })
  const timeoutMs = millis(shared.commandTimeout)
  const prefix = stripPrefix(shared.prefix)
  const service = yield* make(breakerOptions)
  const registry = registryOf(service)!
  const redis = yield* Redis.Redis
  const client = yield* nodeRedisClient
  const scope = yield* Effect.scope
  const runFork = Effect.runForkWith(yield* Effect.context<never>())
  const origin = randomBytes(8).toString("hex")
  const channel = `${prefix}:transitions`
  const stateKey = (name: string) => `${prefix}:state:${name}`
  const leaseKey = (name: string) => `${prefix}:lease:${name}`

  // ---- commands: each waits at most timeoutMs; at most MAX_PENDING_COMMANDS unanswered. No
  // skip window (0): commands are rare (transitions, probes), and each is worth trying
  const outage = new RedisOutage(0, MAX_PENDING_COMMANDS, {
    down: (reason) => `circuit breakers: Redis unavailable, each process decides alone: ${reason}`,
    up: "circuit breakers: Redis answers again, sharing state"
  })
  const done = Effect.sync(() => outage.count--)
  // node-redis's `timeout` drops a command still queued (not yet written) when it fires, so a
  // command issued while disconnected does not run late; a written one waits for its reply
  const clientOptions = { timeout: timeoutMs }
  const raw: (args: ReadonlyArray<string>) => Effect.Effect<unknown, Redis.RedisError> =
    client !== undefined
      ? (args) =>
          Effect.callback<unknown, Redis.RedisError>((resume) => {
            client.sendCommand([...args], clientOptions).then(
              (reply) => resume(Effect.succeed(reply)),
              (cause) => resume(Effect.fail(new Redis.RedisError({ cause })))
            )
          })
      : (args) => redis.send(args[0]!, ...args.slice(1))
  const timedOut = Effect.fail(new Redis.RedisError({ cause: `no answer within ${timeoutMs}ms` }))
  const saturated = Effect.fail(new Redis.RedisError({ cause: `${MAX_PENDING_COMMANDS} commands already wait for Redis` }))
  /**
   * Sends one command and waits for it at most timeoutMs. The command runs on its own fiber,
   * which is not interrupted when the wait ends: it stays counted in `pending` until Redis
   * answers or the connection fails, which is what bounds the client's queue.
   */
  const send = <A>(args: ReadonlyArray<string>, always = false): Effect.Effect<A, Redis.RedisError> =>
    Effect.suspend(() => {
      if (!always && outage.saturated !== undefined) return saturated
      outage.count++
      return Effect.flatMap(Effect.forkIn(Effect.ensuring(raw(args), done), scope, { startImmediately: true }), (fiber) =>
        Effect.timeoutOrElse(Fiber.join(fiber), { duration: timeoutMs, orElse: () => timedOut })
      )
    }).pipe(
      Effect.tap(() => Effect.suspend(() => outage.up() ?? Effect.void)),
      Effect.tapError((error) => Effect.flatMap(Clock.currentTimeMillis, (now) => outage.down(error, now) ?? Effect.void))
    ) as Effect.Effect<A, Redis.RedisError>

  // ---- probe leases
  let tokens = 0
  // a lease lives as long as a local probe may hold its slot
  const leaseMillis = (breaker: Breaker) => String(Math.ceil(breaker.policy.core.maxWaitInHalfOpenMs))
  const release = (breaker: Breaker, token: string): void => {
    // exempt from the cap: at most one per lease asked for, and it must not be lost, or a lease
    // granted late would block the cluster's probes until it expires
    runFork(
      send(["EVAL", RELEASE, "1", leaseKey(breaker.name), token, String(breaker.policy.core.halfOpenMaxCalls)], true).pipe(Effect.ignore)
    )
  }
  const leases: ProbeLeases = {
    newToken: () => `${origin}:${tokens++}`,
    acquire: (breaker, token) =>
      Effect.suspend(() => {
        if (outage.saturated !== undefined) return Effect.succeed("unavailable" as const)
        const args = [
          "EVAL",
          ACQUIRE,
          "1",
          leaseKey(breaker.name),
          token,
          String(breaker.policy.core.halfOpenMaxCalls),
          leaseMillis(breaker)
        ]
        return send<number>(args).pipe(
          Effect.map((slot): "acquired" | "taken" => (Number(slot) >= 0 ? "acquired" : "taken")),
          // no answer (timed out, failed, interrupted): Redis may still run it, so give the
          // token back; the release follows the acquire on the same connection
          Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => release(breaker, token)))),
          Effect.orElseSucceed(() => "unavailable" as const)
        )
      }),
    release
  }
  registry.leases = leases

  // ---- publish what this process decided. Transitions mark their breaker; a publisher shares
  // each marked breaker's *current* state, so a backlog (Redis slow) coalesces instead of
  // growing, and a late publish never ships a state that is no longer true.
  const marked = new Set<Breaker>()
  const wake = yield* Queue.dropping<void>(1)
  registry.onShare = (breaker) => {
    marked.add(breaker)
    Queue.offerUnsafe(wake, undefined)
  }
  const share = (breaker: Breaker) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const circuit = breaker.circuit
      // HalfOpen: the opening is over here, and so it is everywhere (same remaining time)
      if (circuit.state === Circuit.HALF_OPEN || registry.find(breaker.name) !== breaker) return Effect.void
      // an isolation and the operator modes act on this process only
      if (circuit.isolations > 0 || circuit.mode !== Circuit.NORMAL) return Effect.void
      const to = circuit.state === Circuit.OPEN ? "Open" : "Closed"
      const remainingMs = to === "Open" ? Math.max(1, Math.ceil(circuit.reopenAt - now)) : 0
      const message: Message = { breaker: breaker.name, to, remainingMs, origin }
      return send(["EVAL", SHARE, "1", stateKey(breaker.name), to, origin, String(remainingMs), channel, JSON.stringify(message)]).pipe(
        Effect.asVoid,
        Effect.catch((error) =>
          Effect.sync(() => breaker.failedShares++).pipe(
            Effect.andThen(
              Effect.logWarning(`circuit breaker "${breaker.name}": could not share ${to} with the other processes: ${error.cause}`).pipe(
                Effect.annotateLogs({ breaker: breaker.name, to, failedShares: breaker.failedShares })
              )
            )
          )
        )
      )
    })
  yield* Queue.take(wake).pipe(
    Effect.andThen(
      Effect.suspend(() => {
        const batch = [...marked]
        marked.clear()
        return Effect.forEach(batch, share, { concurrency: 16, discard: true })
      })
    ),
    Effect.forever,
    Effect.forkScoped({ startImmediately: true })
  )

  // ---- apply what the others decided
  const apply = (text: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        let message: Message
        try {
          message = JSON.parse(text) as Message
        } catch {
          return
        }
        if (message.origin === origin || typeof message.breaker !== "string") return
        if (message.to !== "Open" && message.to !== "Closed") return
        registry.applyRemote(message.breaker, message.to, Number(message.remainingMs) || 0, now)
      })
    )

  // breakers opened elsewhere while this process was not listening (starting, or resubscribing)
  const catchUp = Effect.suspend(() => {
    const breakers = registry.all()
    if (breakers.length === 0) return Effect.void
    return send<ReadonlyArray<number>>(["EVAL", READ, String(breakers.length), ...breakers.map((b) => stateKey(b.name))]).pipe(
      Effect.flatMap((ttls) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            breakers.forEach((breaker, i) => {
              const remaining = Number(ttls[i])
              if (remaining > 0 && registry.find(breaker.name) === breaker) {
                registry.applyRemote(breaker.name, "Open", remaining, now)
              }
            })
          })
        )
      ),
      Effect.ignore
    )
  })

  // The subscription: node-redis resubscribes by itself after a reconnect, but a subscriber
  // that gives up (or fails to connect) ends the queue; then subscribe again, after a pause.
  const listening = yield* Deferred.make<void>()
  yield* Effect.scoped(
    Effect.gen(function* () {
      const messages = yield* redis.subscribe(channel)
      yield* catchUp
      yield* Deferred.succeed(listening, undefined)
      return yield* Queue.take(messages).pipe(
        Effect.flatMap((m) => apply(m.message)),
        Effect.forever
      )
    })
  ).pipe(
    Effect.catchCause((cause) => Effect.logWarning("circuit breakers: Redis subscription ended, subscribing again", cause)),
    Effect.andThen(Effect.sleep(timeoutMs)),
    Effect.forever,
    Effect.forkScoped({ startImmediately: true })
  )
  // a subscription is a connection handshake and a command, the catch-up one more: the layer
  // waits for them a bounded time, then carries on (the listener keeps trying)
  const ready = yield* Deferred.await(listening).pipe(Effect.timeoutOption(3 * timeoutMs))
  if (Option.isNone(ready)) {
    yield* Effect.logWarning(`circuit breakers: not subscribed to ${channel} after ${3 * timeoutMs}ms; still trying`)
  }
  return service
})
