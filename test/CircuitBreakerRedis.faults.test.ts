/**
 * Shared breakers under Redis faults: the test's own redis-server paused (SIGSTOP) or killed,
 * and, through a loopback proxy, connections held, dropped, or slowed by 200 ms each way.
 * Invariants, for each fault: no call waits longer than its bound (callTimeout, plus
 * commandTimeout for a probe waiting for its lease, plus a margin), no defect, no unhandled
 * rejection, and once Redis and the dependency are healthy both processes end Closed.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, References, Scope } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as CircuitBreakerRedis from "../src/CircuitBreakerRedis.js"
import { redisTests, useRedisServer } from "./support/redisServer.js"
import { startTcpProxy, type TcpProxy } from "./support/tcpProxy.js"
import { pollUntil } from "./support/polling.js"

const server = useRedisServer()
let proxy: TcpProxy
const unhandled: Array<unknown> = []
const onUnhandled = (reason: unknown) => void unhandled.push(reason)
beforeAll(async () => {
  if (!redisTests.enabled) return
  proxy = await startTcpProxy({ port: server.port })
  process.on("unhandledRejection", onUnhandled)
})
afterAll(async () => {
  process.removeListener("unhandledRejection", onUnhandled)
  await proxy?.close()
})

let prefixes = 0
const COMMAND_TIMEOUT = 300
const CALL_TIMEOUT = 100
const MARGIN = 250
const policy = { failureThreshold: 2, resetTimeout: "200 millis", callTimeout: CALL_TIMEOUT, maxWaitInHalfOpen: "400 millis" } as const

const processIn = (scope: Scope.Scope, prefix: string, url: string, commandTimeout?: number) =>
  Layer.buildWithScope(
    CircuitBreakerRedis.layer({
      breakers: { dep: policy },
      prefix,
      ...(commandTimeout === undefined ? {} : { commandTimeout })
    }).pipe(Layer.provide(Layer.suspend(() => NodeRedis.layer({ url, disableOfflineQueue: true })))),
    scope
  ).pipe(Effect.map((context) => Context.get(context, CircuitBreaker.CircuitBreaker)))

const until = <E>(condition: Effect.Effect<boolean, E>, millis: number) => pollUntil(condition, millis)

interface Fault {
  readonly start: () => Promise<void> | void
  readonly heal: () => Promise<void> | void
}

const faults: ReadonlyArray<readonly [string, Fault]> = [
  ["Redis paused", { start: () => server.pause(), heal: () => server.resume() }],
  ["Redis killed", { start: () => server.kill(), heal: () => server.restart() }],
  ["connections held", { start: () => proxy.hold(), heal: () => proxy.pass() }],
  ["connections dropped", { start: () => proxy.drop(), heal: () => proxy.pass() }],
  ["200 ms each way", { start: () => proxy.delay(200), heal: () => proxy.pass() }]
]

describe.skipIf(!redisTests.enabled)("CircuitBreakerRedis under faults", () => {
  it.live.each(faults)(
    "%s: bounded waits, no defect, no unhandled rejection, Closed once healthy",
    ([, fault]) =>
      Effect.gen(function* () {
        const scope = yield* Effect.scope
        const prefix = `faults${prefixes++}`
        const processes = [
          yield* processIn(scope, prefix, proxy.url, COMMAND_TIMEOUT),
          yield* processIn(scope, prefix, proxy.url, COMMAND_TIMEOUT)
        ]
        let healthy = false
        let longest = 0
        const defects: Array<unknown> = []
        let i = 0
        const dependency = Effect.suspend(() =>
          healthy ? Effect.succeed("ok") : i++ % 3 === 0 ? Effect.never : Effect.fail("503" as const)
        )
        const call = (breakers: CircuitBreaker.CircuitBreaker["Service"]) =>
          Effect.suspend(() => {
            const started = Date.now()
            return Effect.exit(breakers.execute("dep")(dependency)).pipe(
              Effect.tap((exit) =>
                Effect.sync(() => {
                  longest = Math.max(longest, Date.now() - started)
                  if (Exit.isFailure(exit)) for (const r of exit.cause.reasons) if (r._tag === "Die") defects.push(r.defect)
                })
              )
            )
          })
        const worker = (breakers: CircuitBreaker.CircuitBreaker["Service"], millis: number) =>
          Effect.gen(function* () {
            const end = Date.now() + millis
            while (Date.now() < end) {
              yield* call(breakers)
              yield* Effect.sleep("5 millis")
            }
          })
        const load = (millis: number) =>
          Effect.forEach([...processes, ...processes], (p) => worker(p, millis), { concurrency: "unbounded", discard: true })

        yield* load(300) // trips and probes while Redis is fine
        yield* Effect.promise(async () => await fault.start())
        yield* load(1_200)
        yield* Effect.promise(async () => await fault.heal())
        healthy = true
        const closed = yield* until(
          Effect.gen(function* () {
            yield* Effect.forEach(processes, call, { discard: true })
            const states = yield* Effect.forEach(processes, (p) => Effect.map(p.status("dep"), (s) => s.state))
            return states.every((s) => s === "Closed")
          }),
          6_000
        )
        expect(closed).toBe(true)
        expect(defects).toEqual([])
        expect(longest).toBeLessThanOrEqual(CALL_TIMEOUT + COMMAND_TIMEOUT + MARGIN)
        expect(unhandled).toEqual([])
      }).pipe(Effect.provideService(References.MinimumLogLevel, "None")),
    30_000
  )

  it.live(
    "with the default commandTimeout, openings and closings reach the other process over a 200 ms (each way) link",
    () =>
      Effect.gen(function* () {
        const scope = yield* Effect.scope
        const prefix = `faults${prefixes++}`
        const a = yield* processIn(scope, prefix, proxy.url)
        const b = yield* processIn(scope, prefix, server.url)
        proxy.delay(200)
        let shared = 0
        for (let cycle = 0; cycle < 3; cycle++) {
          yield* a.trip("dep")
          if (
            yield* until(
              Effect.map(b.status("dep"), (s) => s.state === "Open"),
              2_000
            )
          )
            shared++
          yield* a.reset("dep")
          if (
            yield* until(
              Effect.map(b.status("dep"), (s) => s.state === "Closed"),
              2_000
            )
          )
            shared++
        }
        proxy.pass()
        expect(shared).toBe(6)
        expect((yield* a.status("dep")).failedShares).toBe(0)
      }).pipe(Effect.provideService(References.MinimumLogLevel, "None")),
    30_000
  )
})
