/**
 * The script runner on a node-redis client (`makeClientRunner`): node-redis's own per-command
 * timeout, an `AbortSignal.timeout` per command, is asked for only while the socket is not
 * ready (a command then waits in the offline queue, and must be dropped when our timeout fires
 * instead of running after reconnection); on a ready socket our own timer bounds the call.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Redis } from "effect/persistence"
import { makeClientRunner, type Pending } from "../src/internal/rateLimiter/redis/scriptRunner.js"

/** A node-redis-shaped client that answers at once and records the options of each command. */
const fakeClient = (isReady: boolean) => {
  const sent: Array<{ readonly args: ReadonlyArray<string>; readonly timeout: number | undefined }> = []
  return {
    sent,
    client: {
      isReady,
      sendCommand: (args: ReadonlyArray<string>, options?: { readonly timeout?: number }) => {
        sent.push({ args, timeout: options?.timeout })
        return Promise.resolve([1, 0, 5, 10])
      }
    }
  }
}

const settings = (pending: Pending) => ({
  millis: 250,
  timeoutError: new Redis.RedisError({ cause: new Error("no answer within 250ms") }),
  pending
})

describe("makeClientRunner", () => {
  it.effect("on a ready socket: no node-redis timeout, the reply, nothing left pending", () =>
    Effect.gen(function* () {
      const { client, sent } = fakeClient(true)
      const pending = { count: 0 }
      const run = makeClientRunner<ReadonlyArray<number>>(client, "return 1", settings(pending))
      const reply = yield* run(["EVALSHA", "sha", "1", "k"])
      expect(reply).toEqual([1, 0, 5, 10])
      expect(sent).toEqual([{ args: ["EVALSHA", "sha", "1", "k"], timeout: 0 }])
      expect(pending.count).toBe(0)
    })
  )

  it.effect("on a socket that is not ready: node-redis drops the queued command at our timeout", () =>
    Effect.gen(function* () {
      const { client, sent } = fakeClient(false)
      const pending = { count: 0 }
      const run = makeClientRunner<ReadonlyArray<number>>(client, "return 1", settings(pending))
      yield* run(["EVALSHA", "sha", "1", "k"])
      expect(sent.map((command) => command.timeout)).toEqual([250])
      expect(pending.count).toBe(0)
    })
  )
})
