/**
 * `RateLimiterRedis.layerClient`: `NodeRedis.layer` with the settings under which a Redis
 * that stops answering is noticed (socket timeout, pings, reconnection after a socket
 * timeout) and a close that cannot wait forever. See its TSDoc in `RateLimiterRedis.ts`.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { Effect, Layer } from "effect"
import type { Redis } from "effect/persistence"
import { InvalidConfig } from "../../Errors.js"
import { timerLimitProblem } from "./validate.js"

export type ClientOptions = NonNullable<Parameters<typeof NodeRedis.layer>[0]>

export const clientLayer = (
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
    // before the first connection, give up (the layer fails, as with NodeRedis.layer); after
    // it, reconnect whatever the cause: NodeRedis.layer's strategy stops on socket timeouts,
    // which would leave the client closed for good
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
    }))
    return Layer.provideMerge(boundedClose, client)
  })

const DEFAULT_SOCKET_TIMEOUT_MILLIS = 3_000
const DEFAULT_PING_INTERVAL_MILLIS = 1_000
