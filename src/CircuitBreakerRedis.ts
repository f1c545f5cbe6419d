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
 * - **Transitions travel by pub/sub.** A local Open is written to `<prefix>:state:<breaker>`
 *   with a TTL equal to the remaining open time and published on `<prefix>:transitions`;
 *   every other process applies it at once (no polling per call). A process starting later
 *   reads the keys of its configured breakers. The remaining time is shipped, not a
 *   timestamp, so clock skew between hosts does not matter (network latency does, by
 *   milliseconds).
 * - **Probe leases.** A probe first takes one of `halfOpenMaxCalls` lease keys
 *   (`SET NX PX`), released when it ends and expiring by itself after `callTimeout` (or the
 *   reset timeout) so a crashed prober cannot hold it. A process that finds every lease taken
 *   rejects like a full HalfOpen.
 * - **Redis down.** Every Redis command is bounded by `commandTimeout`. Without Redis each
 *   process falls back to its local breaker (probes included) and logs a warning once per
 *   outage; it shares state again when Redis answers.
 *
 * **Example** (Shared breakers)
 *
 * ```ts
 * import { NodeRedis } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { CircuitBreakerRedis } from "effect-foundation"
 *
 * const Breakers = CircuitBreakerRedis.layerRedis({
 *   breakers: { payments: { failureThreshold: 5, resetTimeout: "30 seconds" } },
 *   prefix: "checkout:cb"
 * }).pipe(Layer.provide(NodeRedis.layer({ url: "redis://127.0.0.1:6379" })))
 * ```
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Clock, Effect, Layer, Queue, Stream } from "effect"
import { Redis } from "effect/persistence"
import { randomBytes } from "node:crypto"
import type { Options } from "./CircuitBreaker.js"
import { CircuitBreaker, make, registryOf } from "./CircuitBreaker.js"
import type { InvalidConfig } from "./Errors.js"
import type { Breaker, ProbeLeases } from "./internal/breakerRegistry.js"
import { Violations } from "./internal/validate.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RedisOptions extends Options {
  /** key and channel prefix (default `foundation:cb`) */
  readonly prefix?: string
  /** bound on every Redis command (default 100 ms) */
  readonly commandTimeout?: Duration.Input
}

interface Message {
  readonly breaker: string
  readonly to: "Open" | "Closed"
  readonly remainingMs: number
  readonly origin: string
}

const ACQUIRE = `for i = 0, tonumber(ARGV[2]) - 1 do
  if redis.call("SET", KEYS[1] .. ":" .. i, ARGV[1], "NX", "PX", ARGV[3]) then return i end
end
return -1`
const RELEASE = `for i = 0, tonumber(ARGV[2]) - 1 do
  local key = KEYS[1] .. ":" .. i
  if redis.call("GET", key) == ARGV[1] then redis.call("DEL", key) return i end
end
return -1`

/**
 * Circuit breakers with state shared through effect's `Redis` service. Same options and
 * service as `CircuitBreaker.layer`, plus `prefix` and `commandTimeout`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRedis = (options: RedisOptions = {}): Layer.Layer<CircuitBreaker, InvalidConfig, Redis.Redis> =>
  Layer.effect(CircuitBreaker, makeShared(options))

const makeShared = Effect.fnUntraced(function*(options: RedisOptions) {
  const violations = new Violations()
  const timeoutMs = violations.duration("commandTimeout", options.commandTimeout) ?? 100
  const prefix = options.prefix ?? "foundation:cb"
  if (typeof prefix !== "string" || prefix.length === 0) violations.add("prefix", "must be a non-empty string")
  const invalid = violations.toError()
  if (invalid !== undefined) return yield* invalid

  const service = yield* make(options)
  const registry = registryOf(service)!
  const redis = yield* Redis.Redis
  const origin = randomBytes(8).toString("hex")
  const channel = `${prefix}:transitions`
  const stateKey = (name: string) => `${prefix}:state:${name}`
  const leaseKey = (name: string) => `${prefix}:lease:${name}`

  let outage = false
  const send = <A>(command: string, ...args: ReadonlyArray<string>) =>
    redis.send<A>(command, ...args).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () => Effect.fail(new Redis.RedisError({ cause: `no answer within ${timeoutMs}ms` }))
      }),
      Effect.tap(() => Effect.sync(() => (outage = false))),
      Effect.tapError((error) =>
        outage ? Effect.void : Effect.sync(() => (outage = true)).pipe(
          Effect.andThen(Effect.logWarning(`circuit breakers: Redis unavailable, each process decides alone: ${error.cause}`))
        )
      )
    )

  const leaseMillis = (breaker: Breaker) =>
    String(Math.ceil(breaker.policy.callTimeoutMs ?? breaker.policy.core.resetTimeoutMs))
  const leases: ProbeLeases = {
    acquire: (breaker) =>
      send<number>(
        "EVAL", ACQUIRE, "1", leaseKey(breaker.name), origin, String(breaker.policy.core.halfOpenMaxCalls), leaseMillis(breaker)
      ).pipe(
        Effect.map((slot): "acquired" | "taken" => Number(slot) >= 0 ? "acquired" : "taken"),
        Effect.orElseSucceed(() => "unavailable" as const)
      ),
    release: (breaker) =>
      send("EVAL", RELEASE, "1", leaseKey(breaker.name), origin, String(breaker.policy.core.halfOpenMaxCalls)).pipe(
        Effect.ignore
      )
  }
  registry.leases = leases

  // publish what this process decided
  yield* service.transitions.pipe(
    Stream.filter((t) => t.remote !== true && (t.to === "Open" || t.to === "Closed")),
    Stream.runForEach((t) => {
      const breaker = registry.find(t.breaker)
      if (breaker === undefined) return Effect.void
      const remainingMs = t.to === "Open" ? Math.max(1, breaker.circuit.reopenAt - t.at) : 0
      const message: Message = { breaker: t.breaker, to: t.to as "Open" | "Closed", remainingMs, origin }
      const write = t.to === "Open"
        ? send("SET", stateKey(t.breaker), origin, "PX", String(remainingMs))
        : send("DEL", stateKey(t.breaker))
      return write.pipe(Effect.andThen(send("PUBLISH", channel, JSON.stringify(message))), Effect.ignore)
    }),
    Effect.forkScoped({ startImmediately: true })
  )

  // apply what the others decided
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
      }))
  const messages = yield* redis.subscribe(channel)
  yield* Queue.take(messages).pipe(
    Effect.flatMap((m) => apply(m.message)),
    Effect.forever,
    Effect.catchCause((cause) => Effect.logWarning("circuit breakers: Redis subscription ended", cause)),
    Effect.forkScoped({ startImmediately: true })
  )

  // a process starting late picks up breakers that are open already
  for (const breaker of registry.configured.values()) {
    const remaining = yield* send<number>("PTTL", stateKey(breaker.name)).pipe(Effect.orElseSucceed(() => -2))
    if (Number(remaining) > 0) {
      const now = yield* Clock.currentTimeMillis
      registry.applyRemote(breaker.name, "Open", Number(remaining), now)
    }
  }
  return service
})

