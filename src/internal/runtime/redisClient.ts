/**
 * The Redis client both Redis stores (rate limiter, circuit breaker) use, loaded lazily:
 *
 * - `clientLayer` (`RateLimiterRedis.layerClient`): `NodeRedis.layer` with the settings under
 *   which a Redis that stops answering is noticed (socket timeout, pings, reconnection after a
 *   socket timeout) and a close that cannot wait forever. See its TSDoc in `RateLimiterRedis.ts`.
 * - `nodeRedisClient`: the node-redis client behind `NodeRedis`, when that is what provides
 *   `Redis`, so the stores can send straight to it.
 *
 * Nothing here imports `redis` or `@effect/platform-node` at load: both are optional for an
 * application that uses only the in-memory services, so they are `import()`ed when a layer is
 * built (test/package.test.ts loads the package with both unresolvable).
 */
import type * as NodeRedis from "@effect/platform-node/NodeRedis"
import { Effect, Layer, Option } from "effect"
import type { Redis } from "effect/persistence"
import { InvalidConfig } from "../../Errors.js"
import { timerLimitProblem } from "./validate.js"

export type ClientOptions = NonNullable<Parameters<typeof NodeRedis.layer>[0]>

/** The part of a node-redis client the stores use. */
export interface CommandClient {
  readonly sendCommand: (args: ReadonlyArray<string>, options?: { readonly timeout?: number }) => Promise<unknown>
}

const loadNodeRedis = (): Promise<typeof NodeRedis | undefined> => import("@effect/platform-node/NodeRedis").catch(() => undefined)

/**
 * The node-redis client behind `NodeRedis`, when that is in the context (it is whenever
 * `NodeRedis.layer` provides `Redis`); `undefined` for any other `Redis` implementation, or
 * when `@effect/platform-node` is not installed.
 */
export const nodeRedisClient: Effect.Effect<CommandClient | undefined> = Effect.flatMap(Effect.promise(loadNodeRedis), (module) =>
  module === undefined
    ? Effect.succeed(undefined)
    : Effect.map(Effect.serviceOption(module.NodeRedis), (service) => Option.getOrUndefined(service)?.client)
)

export const clientLayer = (
  options: ClientOptions = {}
): Layer.Layer<Redis.Redis | NodeRedis.NodeRedis, Redis.RedisError | InvalidConfig> =>
  Layer.unwrap(
    Effect.map(
      Effect.promise(() => import("@effect/platform-node/NodeRedis")),
      (module) => configured(module, options)
    )
  )

const configured = (
  module: typeof NodeRedis,
  options: ClientOptions
): Layer.Layer<Redis.Redis | NodeRedis.NodeRedis, Redis.RedisError | InvalidConfig> =>
  Layer.suspend((): Layer.Layer<Redis.Redis | NodeRedis.NodeRedis, Redis.RedisError | InvalidConfig> => {
    const socket = options.socket
    const socketTimeout = socket?.socketTimeout ?? DEFAULT_SOCKET_TIMEOUT_MILLIS
    const pingInterval = options.pingInterval ?? DEFAULT_PING_INTERVAL_MILLIS
    const timerProblem = timerLimitProblem(socketTimeout)
    if (!(socketTimeout > 0) || timerProblem !== undefined) {
      return Layer.effectContext<Redis.Redis | NodeRedis.NodeRedis, InvalidConfig, never>(
        Effect.fail(
          new InvalidConfig({
            path: "socket.socketTimeout",
            message: timerProblem ?? `must be a number of milliseconds above 0, got ${socketTimeout}`
          })
        )
      )
    }
    if (!(pingInterval > 0 && pingInterval < socketTimeout)) {
      return Layer.effectContext<Redis.Redis | NodeRedis.NodeRedis, InvalidConfig, never>(
        Effect.fail(
          new InvalidConfig({
            path: "pingInterval",
            message: `must be above 0 and below socket.socketTimeout (${socketTimeout} ms), got ${pingInterval}`
          })
        )
      )
    }
    // before the first connection, give up (the layer fails, as with NodeRedis.layer); after
    // it, reconnect whatever the cause: NodeRedis.layer's strategy stops on socket timeouts,
    // which would leave the client closed for good
    let ready = false
    const reconnectStrategy = (retries: number, cause: Error): number | Error =>
      ready ? Math.min(2 ** retries * 50, 2_000) + Math.floor(Math.random() * 200) : cause
    const client = module.layer({
      disableOfflineQueue: true,
      ...options,
      pingInterval,
      socket: { reconnectStrategy, ...socket, socketTimeout }
    } as ClientOptions)
    const boundedClose = Layer.effectDiscard(
      Effect.gen(function* () {
        const { client } = yield* module.NodeRedis
        ready = true
        // runs before NodeRedis.layer's own close, which waits for every pending reply
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
      })
    )
    return Layer.provideMerge(boundedClose, client)
  })

const DEFAULT_SOCKET_TIMEOUT_MILLIS = 3_000
const DEFAULT_PING_INTERVAL_MILLIS = 1_000
