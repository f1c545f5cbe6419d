/**
 * Breakers sharing state through a real redis-server (started on a free loopback port by the
 * test, stopped by its pid). Two "processes" are two independent layers, each with its own
 * Redis connections; test/CircuitBreakerRedis.processes.test.ts does the same with real child
 * processes.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as CircuitBreakerRedis from "../src/CircuitBreakerRedis.js"
import { redisTests, useRedisServer } from "./support/redisServer.js"
import { pollUntil } from "./support/polling.js"

const server = useRedisServer()

let prefixes = 0
const policy = { failureThreshold: 2, resetTimeout: "400 millis", halfOpenMaxCalls: 1 } as const

/** builds one "process": its own breakers and Redis connections, in `scope` */
const processIn = (scope: Scope.Scope, prefix: string) =>
  Layer.buildWithScope(
    CircuitBreakerRedis.layer({ breakers: { payments: policy }, prefix, commandTimeout: "200 millis" }).pipe(
      Layer.provide(Layer.suspend(() => NodeRedis.layer({ url: server.url, disableOfflineQueue: true })))
    ),
    scope
  ).pipe(Effect.map((context) => Context.get(context, CircuitBreaker.CircuitBreaker)))

const call = (breakers: CircuitBreaker.CircuitBreaker["Service"], effect: Effect.Effect<unknown, unknown>) =>
  Effect.exit(breakers.execute("payments")(effect))

const until = <E>(condition: Effect.Effect<boolean, E>, millis = 2_000) => pollUntil(condition, millis)

/** two failures: enough to open the test policy's breaker in `breakers`' process */
const failTwice = (breakers: CircuitBreaker.CircuitBreaker["Service"]) =>
  Effect.andThen(call(breakers, Effect.fail("503")), call(breakers, Effect.fail("503")))

const stateOf = (breakers: CircuitBreaker.CircuitBreaker["Service"]) => Effect.map(breakers.status("payments"), (s) => s.state)

describe.skipIf(!redisTests.enabled)("CircuitBreakerRedis", () => {
  it.live("when one process opens a breaker, the others reject within milliseconds", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const prefix = `cb${prefixes++}`
      const a = yield* processIn(scope, prefix)
      const b = yield* processIn(scope, prefix)
      yield* failTwice(a)
      expect(yield* stateOf(a)).toBe("Open")
      const started = Date.now()
      expect(yield* until(Effect.map(stateOf(b), (s) => s === "Open"))).toBe(true)
      expect(Date.now() - started).toBeLessThan(500)
      let reached = 0
      const rejected = yield* call(
        b,
        Effect.sync(() => reached++)
      )
      expect(Exit.isFailure(rejected) && JSON.stringify(rejected).includes("CircuitBreakerOpen")).toBe(true)
      expect(reached).toBe(0)
    })
  )

  it.live("isolate and the operator modes act on this process only", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const prefix = `cb${prefixes++}`
      const a = yield* processIn(scope, prefix)
      const b = yield* processIn(scope, prefix)
      const isolation = yield* a.isolate("payments")
      expect(yield* stateOf(a)).toBe("Open")
      yield* Effect.sleep("100 millis")
      expect(yield* stateOf(b)).toBe("Closed") // not shared (and no failed share)
      expect((yield* a.status("payments")).failedShares).toBe(0)
      yield* failTwice(b) // b opens and shares: a stays isolated
      yield* Effect.sleep("100 millis")
      expect((yield* a.status("payments")).mode).toBe("forcedOpen")
      yield* isolation.release
      yield* b.reset("payments")
      expect(yield* until(Effect.map(stateOf(a), (s) => s === "Closed"))).toBe(true)
      yield* b.setMode("payments", "disabled")
      yield* failTwice(a)
      expect(yield* stateOf(a)).toBe("Open")
      yield* Effect.sleep("100 millis")
      expect(yield* stateOf(b)).toBe("Closed") // a disabled breaker ignores the others' openings
    })
  )

  it.live("a successful probe in one process closes the breaker everywhere", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const prefix = `cb${prefixes++}`
      const a = yield* processIn(scope, prefix)
      const b = yield* processIn(scope, prefix)
      yield* failTwice(a)
      expect(yield* until(Effect.map(stateOf(b), (s) => s === "Open"))).toBe(true)
      yield* Effect.sleep("450 millis")
      expect(Exit.isSuccess(yield* call(a, Effect.succeed("ok")))).toBe(true)
      expect(yield* stateOf(a)).toBe("Closed")
      expect(yield* until(Effect.map(stateOf(b), (s) => s === "Closed"))).toBe(true)
    })
  )

  it.live("in HalfOpen at most halfOpenMaxCalls probes run across all processes", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const prefix = `cb${prefixes++}`
      const processes = yield* Effect.forEach([1, 2, 3], () => processIn(scope, prefix))
      yield* failTwice(processes[0]!)
      for (const p of processes) expect(yield* until(Effect.map(stateOf(p), (s) => s === "Open"))).toBe(true)
      yield* Effect.sleep("450 millis")
      let probes = 0
      const hold = Effect.sync(() => probes++).pipe(Effect.andThen(Effect.sleep("300 millis")))
      const fibers = yield* Effect.forEach(
        processes.flatMap((p) => [p, p]),
        (p) => Effect.forkChild(call(p, hold), { startImmediately: true })
      )
      const exits = yield* Fiber.joinAll(fibers)
      expect(probes).toBe(1)
      expect(exits.filter(Exit.isSuccess).length).toBe(1)
    })
  )

  it.live("a process started later picks up an open breaker", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const prefix = `cb${prefixes++}`
      const a = yield* processIn(scope, prefix)
      yield* failTwice(a)
      yield* Effect.sleep("50 millis")
      const late = yield* processIn(scope, prefix)
      expect(yield* stateOf(late)).toBe("Open")
    })
  )

  it.live(
    "with Redis down each process keeps its local breaker, without hanging; sharing resumes after",
    () =>
      Effect.gen(function* () {
        const scope = yield* Effect.scope
        const prefix = `cb${prefixes++}`
        const a = yield* processIn(scope, prefix)
        const b = yield* processIn(scope, prefix)
        yield* Effect.promise(() => server.stop())
        const started = Date.now()
        yield* failTwice(a)
        expect(yield* stateOf(a)).toBe("Open") // the local breaker works alone
        expect(yield* stateOf(b)).toBe("Closed") // nothing could be shared
        yield* Effect.sleep("450 millis")
        // the probe cannot get a lease: it runs on the local decision
        expect(Exit.isSuccess(yield* call(a, Effect.succeed("ok")))).toBe(true)
        expect(Date.now() - started).toBeLessThan(2_000)
        yield* Effect.promise(() => server.restart())
        // after the restart a new opening is shared again (clients reconnect by themselves)
        const shared = yield* until(
          Effect.gen(function* () {
            yield* b.reset("payments").pipe(Effect.ignore)
            yield* a.trip("payments")
            yield* Effect.sleep("50 millis")
            return (yield* stateOf(b)) === "Open"
          }),
          8_000
        )
        expect(shared).toBe(true)
      }),
    20_000
  )

  it.live("a probe interrupted while it waits for its lease gives its slot back: the breaker does not stick in HalfOpen", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const prefix = `cb${prefixes++}`
      const a = yield* processIn(scope, prefix)
      yield* failTwice(a)
      yield* Effect.sleep("450 millis")
      server.pause()
      const interrupted = yield* Effect.exit(call(a, Effect.succeed("probe")).pipe(Effect.timeout("50 millis")))
      expect(Exit.isFailure(interrupted)).toBe(true)
      yield* Effect.sleep("250 millis")
      server.resume()
      yield* Effect.sleep("100 millis")
      const later = yield* call(a, Effect.succeed("ok"))
      expect(later).toEqual(Exit.succeed("ok"))
      expect(yield* stateOf(a)).toBe("Closed")
    })
  )

  it.live("a transition that cannot be shared is counted in the status and logged", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const prefix = `cb${prefixes++}`
      const a = yield* processIn(scope, prefix)
      expect((yield* a.status("payments")).failedShares).toBe(0)
      server.pause()
      yield* failTwice(a)
      // commandTimeout is 200 ms in these tests
      const counted = yield* until(
        Effect.map(a.status("payments"), (s) => s.failedShares === 1),
        1_000
      )
      server.resume()
      expect(counted).toBe(true)
    })
  )

  it.live(
    "while Redis is hung, the breakers' pending Redis commands stay bounded",
    () =>
      Effect.gen(function* () {
        const scope = yield* Effect.scope
        const prefix = `cb${prefixes++}`
        const breakers = yield* Layer.buildWithScope(
          CircuitBreakerRedis.layer({
            defaults: { failureThreshold: 1, resetTimeout: "100 millis" },
            maxBreakers: 1_000,
            prefix,
            commandTimeout: "300 millis"
          }).pipe(Layer.provide(Layer.suspend(() => NodeRedis.layer({ url: server.url, disableOfflineQueue: true })))),
          scope
        ).pipe(Effect.map((context) => Context.get(context, CircuitBreaker.CircuitBreaker)))
        const names = Array.from({ length: 400 }, (_, i) => `host-${i}`)
        for (const name of names) yield* Effect.exit(breakers.execute(name)(Effect.fail("503")))
        yield* Effect.sleep("300 millis") // the openings are shared
        yield* Effect.promise(() => server.command("CONFIG", "RESETSTAT"))
        server.pause()
        // every breaker is due for a probe: 400 probes at once, each wanting a lease
        yield* Effect.forEach(names, (name) => Effect.exit(breakers.execute(name)(Effect.succeed("ok"))), {
          concurrency: "unbounded"
        })
        yield* Effect.sleep("400 millis")
        server.resume()
        yield* Effect.sleep("300 millis")
        const stats = yield* Effect.promise(() => server.command("INFO", "commandstats"))
        const calls = (command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
        // commands run by scripts are counted too: count what the client sent (every breaker
        // command is a script)
        const sent = calls("eval") + calls("evalsha")
        expect(sent).toBeGreaterThan(0)
        expect(sent).toBeLessThanOrEqual(2 * 64 + 16)
      }),
    20_000
  )
})
