/**
 * The Redis store's invariants under each fault, against the test's own redis-server, reached
 * through a TCP proxy with the settings of `RateLimiterRedis.layerClient`: Redis frozen
 * (SIGSTOP), killed and restarted, the link held, blackholed, dropped then refused, and 200 ms
 * slower each way. Under every fault:
 *
 * - no call waits longer than its timeout plus a small margin, none dies, nothing is rejected
 *   unhandled, and each rule follows its policy;
 * - the client's pending commands stay under `maxPending` and return to zero;
 * - decisions go back through Redis by themselves, and admit no more than the limit.
 *
 * Each fault lasts about a second of real time.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Metric, Scope } from "effect"
import { RateLimited, StoreUnavailable } from "../src/Errors.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RateLimiterRedis from "../src/RateLimiterRedis.js"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"
import { startTcpProxy, type TcpProxy } from "./support/tcpProxy.js"
import { pollUntil } from "./support/polling.js"

let server: RedisServer
let proxy: TcpProxy
const unhandled: Array<unknown> = []
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason)
}
beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled)
  server = await startRedisServer()
  proxy = await startTcpProxy({ port: server.port })
})
afterAll(async () => {
  process.removeListener("unhandledRejection", onUnhandled)
  await proxy?.close()
  await server?.stop()
})

const TIMEOUT = 150
/** scheduling slack on a shared 2-core machine */
const MARGIN = 250
const MAX_PENDING = 40
const STRICT_LIMIT = 10
const SOCKET_TIMEOUT = 800

const options = (prefix: string): RateLimiterRedis.RedisOptions => ({
  prefix,
  commandTimeout: TIMEOUT,
  recheckAfter: "200 millis",
  maxPending: MAX_PENDING,
  rules: {
    open: { algorithm: "token-bucket", limit: 1_000_000, window: "1 minute", onRedisError: "failOpen" },
    closed: { algorithm: "sliding-window", limit: 1_000_000, window: "1 minute", onRedisError: "failClosed" },
    insured: {
      algorithm: "gcra",
      limit: 1_000_000,
      window: "1 minute",
      onRedisError: { policy: "failClosed", insurance: 0.5 }
    },
    // a sliding window of an hour: no window boundary can reset the count mid-test
    strict: { algorithm: "sliding-window", limit: STRICT_LIMIT, window: "1 hour", onRedisError: "failClosed" }
  }
})

const client = Layer.suspend(() =>
  RateLimiterRedis.layerClient({ url: proxy.url, pingInterval: 200, socket: { socketTimeout: SOCKET_TIMEOUT } })
)

const pendingOf = (prefix: string) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const state = snapshots.find((s) => s.id === "foundation.rate_limiter.store_pending" && s.attributes?.prefix === prefix)?.state as
      | { readonly value: number }
      | undefined
    if (state === undefined) throw new Error(`no store_pending gauge for ${prefix}`)
    return state.value
  })

/** One check, timed; a defect or a wait past the timeout fails the test. */
const timedCheck = (rule: string, key: string) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter.RateLimiter
    const started = Date.now()
    const exit = yield* Effect.exit(limiter.check(rule, key))
    const elapsed = Date.now() - started
    expect(elapsed, `${rule} waited ${elapsed}ms`).toBeLessThan(TIMEOUT + MARGIN)
    if (Exit.isFailure(exit)) expect(Cause.hasDies(exit.cause), Cause.pretty(exit.cause)).toBe(false)
    return exit
  })

const errorOf = (exit: Exit.Exit<unknown, unknown>): unknown => (Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)

/** Polls `condition` every 50 ms until it holds, failing after `millis`. */
const eventually = <E, R>(what: string, millis: number, condition: Effect.Effect<boolean, E, R>) =>
  Effect.flatMap(pollUntil(condition, millis, 50), (held) =>
    held ? Effect.void : Effect.die(new Error(`${what}: not within ${millis}ms`))
  )

/** About a second of traffic on every rule: 20 concurrent checks every 20 ms. */
const traffic = (prefix: string, millis: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + millis
    let maxPending = 0
    while (Date.now() < deadline) {
      const exits = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => timedCheck(["open", "closed", "insured", "strict"][i % 4]!, i % 4 === 3 ? "s" : `k${i}`),
        { concurrency: "unbounded" }
      )
      exits.forEach((exit, i) => {
        const rule = i % 4
        // failOpen admits; failClosed fails StoreUnavailable; insurance decides locally
        if (rule === 0) expect(Exit.isSuccess(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const error = errorOf(exit)
          if (rule === 1) expect(error).toBeInstanceOf(StoreUnavailable)
          if (rule === 2) expect(error).toBeInstanceOf(RateLimited)
          if (rule === 3) expect(error instanceof StoreUnavailable || error instanceof RateLimited).toBe(true)
        }
      })
      maxPending = Math.max(maxPending, yield* pendingOf(prefix))
      yield* Effect.sleep("20 millis")
    }
    return maxPending
  })

interface Fault {
  readonly name: string
  readonly start: () => void | Promise<void>
  readonly end: () => void | Promise<void>
  /** whether Redis keeps its data through the fault */
  readonly keepsData: boolean
}

const faults: ReadonlyArray<Fault> = [
  { name: "Redis frozen (SIGSTOP)", start: () => server.pause(), end: () => server.resume(), keepsData: true },
  { name: "Redis killed (SIGKILL), then restarted", start: () => server.kill(), end: () => server.restart(), keepsData: false },
  { name: "link held", start: () => proxy.hold(), end: () => proxy.pass(), keepsData: true },
  { name: "link blackholed", start: () => proxy.blackhole(), end: () => proxy.pass(), keepsData: true },
  {
    name: "connections dropped, then refused",
    start: () => {
      proxy.drop()
      proxy.refuse()
    },
    end: () => proxy.pass(),
    keepsData: true
  },
  { name: "link 200 ms slower each way", start: () => proxy.delay(200), end: () => proxy.pass(), keepsData: true }
]

/** Puts the server and the proxy back to normal, whatever a failed test left behind. */
const heal = Effect.promise(async () => {
  proxy.pass()
  if (server.pid() === undefined) await server.restart()
  else server.resume()
})

describe("RateLimiterRedis.layer invariants under faults", () => {
  let runs = 0
  for (const fault of faults) {
    it.live(
      `${fault.name}: bounded waits, no defect, pending back to zero, decisions back on Redis within the limit`,
      () => {
        const prefix = `inv${runs++}`
        return Effect.gen(function* () {
          const limiter = yield* RateLimiter.RateLimiter
          for (let i = 0; i < 4; i++) expect(Exit.isSuccess(yield* timedCheck("strict", "s"))).toBe(true)

          yield* Effect.promise(async () => fault.start())
          const maxPending = yield* traffic(prefix, 1_000)
          expect(maxPending).toBeLessThanOrEqual(MAX_PENDING)
          yield* Effect.promise(async () => fault.end())

          // the client forgets every command (answered or failed), and Redis decides again
          yield* eventually(
            "pending back to zero",
            5_000,
            Effect.map(pendingOf(prefix), (pending) => pending === 0)
          )
          yield* eventually("decisions back on Redis", 5_000, Effect.map(Effect.exit(limiter.check("closed", "recovery")), Exit.isSuccess))
          // a failClosed success is a Redis decision; the key is in Redis
          expect(yield* Effect.promise(() => server.command("EXISTS", `${prefix}:closed:recovery`))).toBe(":1\r\n")

          // never more than the limit: what was admitted before (if Redis kept it) counts
          let admitted = 0
          for (let i = 0; i < STRICT_LIMIT + 5; i++) {
            if (Exit.isSuccess(yield* timedCheck("strict", "s"))) admitted++
          }
          expect(admitted).toBeLessThanOrEqual(fault.keepsData ? STRICT_LIMIT - 4 : STRICT_LIMIT)
          expect(admitted).toBeGreaterThan(0)
          expect(yield* pendingOf(prefix)).toBe(0)
          expect(unhandled).toEqual([])
        }).pipe(Effect.ensuring(heal), Effect.provide(RateLimiterRedis.layer(options(prefix)).pipe(Layer.provide(client))))
      },
      30_000
    )
  }

  it.live(
    "a blackholed link is detected by socketTimeout under steady traffic: the store goes silent, pending commands fail",
    () =>
      Effect.gen(function* () {
        expect(Exit.isSuccess(yield* timedCheck("open", "k"))).toBe(true)
        proxy.blackhole()
        // steady traffic: rechecks every recheckAfter would keep the socket busy, but the store
        // does not write behind unanswered commands, so after SOCKET_TIMEOUT of silence the
        // client closes the connection and its pending commands fail
        const deadline = Date.now() + SOCKET_TIMEOUT + 1_500
        let stuck = false
        let cleared = false
        while (!cleared && Date.now() < deadline) {
          yield* timedCheck("open", "k")
          const pending = yield* pendingOf("detect")
          if (pending > 0) stuck = true
          else if (stuck) cleared = true
          yield* Effect.sleep("20 millis")
        }
        expect(stuck).toBe(true)
        expect(cleared).toBe(true)
      }).pipe(Effect.ensuring(heal), Effect.provide(RateLimiterRedis.layer(options("detect:")).pipe(Layer.provide(client)))),
    30_000
  )

  it.live(
    "layerClient closes within socketTimeout while Redis holds replies",
    () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(RateLimiterRedis.layer(options("close:")).pipe(Layer.provide(client)), scope)
        const limiter = Context.get(context, RateLimiter.RateLimiter)
        expect(Exit.isSuccess(yield* Effect.exit(limiter.check("open", "k")))).toBe(true)
        proxy.hold()
        // answered by failOpen after the timeout; its command stays pending in the client
        expect(Exit.isSuccess(yield* Effect.exit(limiter.check("open", "k")))).toBe(true)
        const started = Date.now()
        yield* Scope.close(scope, Exit.void)
        expect(Date.now() - started).toBeLessThan(SOCKET_TIMEOUT + MARGIN)
      }).pipe(Effect.ensuring(heal)),
    30_000
  )
})
