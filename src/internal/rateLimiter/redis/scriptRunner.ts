/**
 * Running one Lua script through effect's `Redis` service: by SHA, loaded on `NOSCRIPT`, each
 * call bounded by a timeout. Both are on the hot path of every Redis decision, so they are
 * built for speed:
 *
 * - The SHA is computed here once (SHA-1 of the source, what `SCRIPT LOAD` answers), so a call
 *   is one `EVALSHA` with no lookup. effect's `redis.eval` does the same protocol through a
 *   `Cache` lookup per call, measured at a third of the throughput with 50 callers. A server
 *   that does not know the script (restarted, `SCRIPT FLUSH`) answers `NOSCRIPT`: the script
 *   is loaded and the call retried once.
 * - The timeout races the command against one `setTimeout` instead of `Effect.timeoutOrElse`
 *   (two fibers per call, measured at half the throughput). It is real time on purpose: it
 *   bounds real network I/O, not the caller's logical clock.
 * - When `@effect/platform-node`'s `NodeRedis` is in the context (it is whenever `NodeRedis.layer`
 *   provides `Redis`), `makeClientRunner` sends straight to its node-redis client: no fiber, no
 *   `AbortController` per call (which `Effect.tryPromise` creates), about 30% less CPU per
 *   decision. Other `Redis` implementations take the generic path (`makeScriptRunner` +
 *   `withTimeout`), with the same behaviour.
 * - Both count what they have sent and not yet seen settle in `Pending`, so the store can
 *   bound it (`maxPending`) and stop writing into a connection that no longer answers. A
 *   timed-out command is abandoned by the caller but stays in node-redis's reply queue until
 *   Redis answers or the socket closes: on the fast path it stays counted until then. The
 *   generic path cannot see the client's queue; it counts a command until its fiber ends
 *   (reply, failure, timeout or interruption).
 */
import { createHash } from "node:crypto"
import { Effect, Exit } from "effect"
import { Redis } from "effect/persistence"
import type { CommandClient } from "../../runtime/redisClient.js"

const isNoScript = (error: Redis.RedisError): boolean => String(error.cause).includes("NOSCRIPT")

/** Commands sent and not settled yet; one mutable counter per store (no allocation per call). */
export interface Pending {
  count: number
}

/** How a runner bounds a script call: `millis`, then `timeoutError`; `pending` counts what is in flight. */
export interface RunnerSettings {
  readonly millis: number
  readonly timeoutError: Redis.RedisError
  readonly pending: Pending
}

/** Sends one `EVALSHA` command; a failure is a `RedisError` value. */
export type Runner<A, Argument = string> = (command: ReadonlyArray<Argument>) => Effect.Effect<A | Redis.RedisError>

export const scriptSha = (lua: string): string => createHash("sha1").update(lua).digest("hex")

/**
 * `(command) => reply`, where `command` is `["EVALSHA", scriptSha(lua), numberOfKeys, ...]`,
 * straight on a node-redis client, loading the script on `NOSCRIPT`, giving up with
 * `timeoutError` after `millis`. A failure is returned as a `RedisError` value, not in the
 * error channel: the caller branches on the reply with one `flatMap` (cheaper than
 * `matchEffect` on every decision). A reply arriving after the timeout (or after the caller was
 * interrupted) is dropped, never an unhandled rejection.
 */
export const makeClientRunner = <A>(client: CommandClient, lua: string, settings: RunnerSettings): Runner<A, string | Uint8Array> => {
  const { millis, pending, timeoutError } = settings
  const load = ["SCRIPT", "LOAD", lua]
  // node-redis's per-command timeout (5 s by default on every command) matters only while a
  // command waits in its offline queue: set to ours, a command queued while disconnected is
  // dropped when it fires instead of running, and using allowance, after reconnection. It costs
  // an `AbortSignal.timeout` and two listeners per command (about a sixth of the client's CPU
  // per decision), so it is set only when the socket is not ready: a command sent on a ready
  // socket is written on the next turn of the event loop, and is bounded by our own timer.
  const offline = { timeout: millis }
  const ready = { timeout: 0 }
  const readiness = client as { readonly isReady?: boolean }
  return (command) =>
    Effect.callback<A | Redis.RedisError>((resume) => {
      let done = false
      const timer = setTimeout(() => {
        if (done) return
        done = true
        resume(Exit.succeed(timeoutError))
      }, millis)
      // settling, late or not, is when node-redis forgets the command: one decrement per send
      const succeed = (reply: unknown) => {
        pending.count--
        if (done) return
        done = true
        clearTimeout(timer)
        resume(Exit.succeed(reply as A))
      }
      const fail = (cause: unknown) => {
        pending.count--
        if (done) return
        done = true
        clearTimeout(timer)
        resume(
          Exit.succeed(cause instanceof Error && cause.constructor.name === "TimeoutError" ? timeoutError : new Redis.RedisError({ cause }))
        )
      }
      pending.count++
      const options = readiness.isReady === true ? ready : offline
      // node-redis sends a Buffer argument as its bytes (`CommandClient` says strings only)
      client.sendCommand(command as ReadonlyArray<string>, options).then(succeed, (cause) => {
        if (done || !String(cause).includes("NOSCRIPT")) return fail(cause)
        // still the same pending command: the chain settles through succeed or fail once
        client
          .sendCommand(load, options)
          .then(() => client.sendCommand(command as ReadonlyArray<string>, options))
          .then(succeed, fail)
      })
      return Effect.sync(() => {
        done = true
        clearTimeout(timer)
      })
    })
}

/** The same contract through any `Redis` service (one fiber per call for the timeout). */
export const makeScriptRunner = <A>(redis: Redis.Redis["Service"], lua: string, settings: RunnerSettings): Runner<A> => {
  const { millis, pending, timeoutError } = settings
  const load = redis.send("SCRIPT", "LOAD", lua)
  const asValue = (error: Redis.RedisError) => Effect.succeed(error)
  return (command) => {
    const args = command.slice(1)
    const evalSha = redis.send<A>("EVALSHA", ...args)
    return Effect.catch(
      withTimeout(
        Effect.catchIf(evalSha, isNoScript, () => Effect.andThen(load, evalSha)),
        millis,
        timeoutError,
        pending
      ),
      asValue
    )
  }
}

/**
 * Runs `command` on its own fiber and resumes with its exit, or fails with `timeoutError`
 * after `millis` (interrupting the command). Interrupting the caller interrupts the command.
 * The command counts in `pending` until its fiber ends.
 */
export const withTimeout = <A>(
  command: Effect.Effect<A, Redis.RedisError>,
  millis: number,
  timeoutError: Redis.RedisError,
  pending: Pending
): Effect.Effect<A, Redis.RedisError> =>
  Effect.callback<A, Redis.RedisError>((resume) => {
    let done = false
    pending.count++
    const fiber = Effect.runFork(command)
    const timer = setTimeout(() => {
      if (done) return
      done = true
      fiber.interruptUnsafe()
      resume(Exit.fail(timeoutError))
    }, millis)
    fiber.addObserver((exit) => {
      pending.count--
      if (done) return
      done = true
      clearTimeout(timer)
      resume(exit)
    })
    return Effect.sync(() => {
      if (done) return
      done = true
      clearTimeout(timer)
      fiber.interruptUnsafe()
    })
  })
