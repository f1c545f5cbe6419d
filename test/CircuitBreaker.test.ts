import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Metric, Stream } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker } from "../src/index.js"
import { yieldUntil } from "./support/polling.js"
import { breakerDouble } from "./support/breakerDouble.js"

const failing = Effect.fail("boom" as const)
const ok = Effect.succeed("ok" as const)

/** runs `n` calls of `effect` through `breaker`, ignoring their outcome */
const calls = (n: number, effect: Effect.Effect<unknown, unknown>, breaker = "db") =>
  Effect.forEach(Array.from({ length: n }), () => Effect.exit(effect.pipe(CircuitBreaker.protect(breaker))), {
    discard: true
  })

const stateOf = (breaker = "db") =>
  Effect.map(
    CircuitBreaker.CircuitBreaker.use((s) => s.status(breaker)),
    (s) => s.state
  )

const withBreakers = (options: CircuitBreaker.Options) => Effect.provide(CircuitBreaker.layer(options))

const eventually = (predicate: () => boolean) => yieldUntil(predicate)

describe("CircuitBreaker", () => {
  describe("Closed", () => {
    it.effect("passes calls through and counts successes", () =>
      Effect.gen(function* () {
        expect(yield* ok.pipe(CircuitBreaker.protect("db"))).toBe("ok")
        expect(yield* CircuitBreaker.protect(ok, "db")).toBe("ok")
        const status = yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))
        expect(status).toMatchObject({ state: "Closed", successes: 2, failures: 0, rejected: 0 })
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 3 } } }))
    )

    it.effect("a success resets the consecutive failure count", () =>
      Effect.gen(function* () {
        yield* calls(2, failing)
        yield* calls(1, ok)
        yield* calls(2, failing)
        expect(yield* stateOf()).toBe("Closed")
        yield* calls(1, failing)
        expect(yield* stateOf()).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 3 } } }))
    )

    it.effect("the effect's own error passes through unchanged", () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(failing.pipe(CircuitBreaker.protect("db")))
        expect(exit).toEqual(Exit.fail("boom"))
      }).pipe(withBreakers({}))
    )
  })

  describe("Open", () => {
    it.effect("opens after failureThreshold consecutive failures and rejects without calling", () =>
      Effect.gen(function* () {
        yield* calls(3, failing)
        let invoked = 0
        const error = yield* Effect.flip(Effect.sync(() => invoked++).pipe(CircuitBreaker.protect("db")))
        expect(invoked).toBe(0)
        expect(error._tag).toBe("CircuitBreakerOpen")
        if (error._tag !== "CircuitBreakerOpen") return
        expect(error.breaker).toBe("db")
        expect(error.state).toBe("Open")
        expect(Duration.toMillis(error.retryAfter)).toBe(10_000)
        expect(error.message).toContain("db")
        yield* TestClock.adjust("4 seconds")
        const later = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(later._tag === "CircuitBreakerOpen" && Duration.toMillis(later.retryAfter)).toBe(6_000)
        const status = yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))
        expect(status).toMatchObject({ state: "Open", failures: 3, rejected: 2, openedAt: 0 })
        expect(Duration.toMillis(status.retryAfter!)).toBe(6_000)
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 3, resetTimeout: "10 seconds" } } }))
    )

    it.effect("rejection is catchable by tag", () =>
      Effect.gen(function* () {
        yield* calls(1, failing)
        const result = yield* ok.pipe(
          CircuitBreaker.protect("db"),
          Effect.catchTag("CircuitBreakerOpen", (e) => Effect.succeed(`fallback ${e.breaker}`))
        )
        expect(result).toBe("fallback db")
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1 } } }))
    )
  })

  describe("HalfOpen", () => {
    const policy = { failureThreshold: 2, resetTimeout: "10 seconds" } as const

    it.effect("admits one probe after resetTimeout; a successful probe closes", () =>
      Effect.gen(function* () {
        yield* calls(2, failing)
        yield* TestClock.adjust("9999 millis")
        expect((yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db"))))._tag).toBe("CircuitBreakerOpen")
        yield* TestClock.adjust("1 millis")
        expect(yield* ok.pipe(CircuitBreaker.protect("db"))).toBe("ok")
        expect(yield* stateOf()).toBe("Closed")
      }).pipe(withBreakers({ breakers: { db: policy } }))
    )

    it.effect("a failed probe reopens; backoff grows the reset timeout, closing restores it", () =>
      Effect.gen(function* () {
        yield* calls(2, failing) // open at 0, reopen at 10s
        yield* TestClock.adjust("10 seconds")
        yield* calls(1, failing) // probe fails: attempt 1 -> 20s
        let error = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(error._tag === "CircuitBreakerOpen" && Duration.toMillis(error.retryAfter)).toBe(20_000)
        yield* TestClock.adjust("20 seconds")
        yield* calls(1, failing) // attempt 2 -> 40s
        error = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(error._tag === "CircuitBreakerOpen" && Duration.toMillis(error.retryAfter)).toBe(40_000)
        yield* TestClock.adjust("40 seconds")
        yield* calls(1, failing) // attempt 3 -> 80s capped at 60s
        error = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(error._tag === "CircuitBreakerOpen" && Duration.toMillis(error.retryAfter)).toBe(60_000)
        yield* TestClock.adjust("60 seconds")
        yield* calls(1, ok) // closes, back to base
        expect(yield* stateOf()).toBe("Closed")
        yield* calls(2, failing)
        error = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(error._tag === "CircuitBreakerOpen" && Duration.toMillis(error.retryAfter)).toBe(10_000)
      }).pipe(withBreakers({ breakers: { db: { ...policy, backoff: { factor: 2, max: "1 minute" } } } }))
    )

    it.effect("100 concurrent fibers in HalfOpen: exactly halfOpenMaxCalls probes run", () =>
      Effect.gen(function* () {
        yield* calls(2, failing)
        yield* TestClock.adjust("10 seconds")
        let running = 0
        const probe = Effect.sync(() => running++).pipe(Effect.andThen(Effect.never))
        const fibers = yield* Effect.forEach(Array.from({ length: 100 }), () =>
          Effect.forkChild(probe.pipe(CircuitBreaker.protect("db")), { startImmediately: true })
        )
        yield* eventually(() => fibers.filter((f) => f.pollUnsafe() !== undefined).length === 97)
        expect(running).toBe(3)
        for (const fiber of fibers) {
          const exit = fiber.pollUnsafe()
          if (exit === undefined) continue
          expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({
            _tag: "CircuitBreakerOpen",
            state: "HalfOpen"
          })
        }
        yield* Fiber.interruptAll(fibers)
      }).pipe(withBreakers({ breakers: { db: { ...policy, halfOpenMaxCalls: 3 } } }))
    )

    it.effect("an interrupted probe frees its slot: the breaker never sticks in HalfOpen", () =>
      Effect.gen(function* () {
        yield* calls(2, failing)
        yield* TestClock.adjust("10 seconds")
        const probe = yield* Effect.forkChild(Effect.never.pipe(CircuitBreaker.protect("db")), { startImmediately: true })
        expect((yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db"))))._tag).toBe("CircuitBreakerOpen")
        yield* Fiber.interrupt(probe)
        expect(yield* stateOf()).toBe("HalfOpen")
        expect(yield* ok.pipe(CircuitBreaker.protect("db"))).toBe("ok")
        expect(yield* stateOf()).toBe("Closed")
      }).pipe(withBreakers({ breakers: { db: policy } }))
    )

    it.effect("a probe that never returns is given up after maxWaitInHalfOpen: the circuit reopens, the late result is ignored", () =>
      Effect.gen(function* () {
        yield* calls(2, failing) // open at 0, probe due at 10s
        yield* TestClock.adjust("10 seconds")
        let finish: (value: string) => void = () => {}
        const hung = Effect.callback<string>((resume) => {
          finish = (value) => resume(Effect.succeed(value))
        })
        const probe = yield* Effect.forkChild(hung.pipe(CircuitBreaker.protect("db")), { startImmediately: true })
        yield* TestClock.adjust("4999 millis")
        const full = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        // the probe's verdict is due in 1 ms at the latest (its wait runs out): then the state is known
        expect(full._tag === "CircuitBreakerOpen" && [full.state, Duration.toMillis(full.retryAfter)]).toEqual(["HalfOpen", 1])
        yield* TestClock.adjust("1 millis") // 15s: the probe's wait has run out
        const reopened = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(reopened._tag === "CircuitBreakerOpen" && [reopened.state, Duration.toMillis(reopened.retryAfter)]).toEqual(["Open", 10_000])
        finish("late") // a late success of the lost probe changes nothing
        expect(yield* Fiber.join(probe)).toBe("late")
        expect(yield* stateOf()).toBe("Open")
        yield* TestClock.adjust("10 seconds")
        expect(yield* ok.pipe(CircuitBreaker.protect("db"))).toBe("ok")
        expect(yield* stateOf()).toBe("Closed")
      }).pipe(withBreakers({ breakers: { db: { ...policy, maxWaitInHalfOpen: "5 seconds" } } }))
    )

    it.effect("with no callTimeout, a hung probe does not hold HalfOpen past the default wait (60 s)", () =>
      Effect.gen(function* () {
        yield* calls(2, failing)
        yield* TestClock.adjust("10 seconds")
        yield* Effect.forkChild(Effect.never.pipe(CircuitBreaker.protect("db")), { startImmediately: true })
        yield* TestClock.adjust("59 seconds")
        expect((yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db"))))._tag).toBe("CircuitBreakerOpen")
        expect(yield* stateOf()).toBe("HalfOpen")
        // a call arriving long after the wait ran out (60 s) and a reset timeout (10 s) after
        // it finds the circuit due for a probe at once: the reopening is dated from the deadline
        yield* TestClock.adjust("11 seconds")
        expect(yield* ok.pipe(CircuitBreaker.protect("db"))).toBe("ok")
        expect(yield* stateOf()).toBe("Closed")
      }).pipe(withBreakers({ breakers: { db: policy } }))
    )

    it.effect("a result of a call admitted before the circuit opened is ignored", () =>
      Effect.gen(function* () {
        // a slow call admitted while Closed must not close the circuit that opened meanwhile
        const slow = yield* Effect.forkChild(Effect.sleep("30 seconds").pipe(CircuitBreaker.protect("db")), {
          startImmediately: true
        })
        yield* calls(2, failing)
        expect(yield* stateOf()).toBe("Open")
        yield* TestClock.adjust("30 seconds")
        yield* Fiber.join(slow)
        expect(yield* stateOf()).toBe("Open") // reopenAt passed; moves on at the next call
        const status = yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))
        expect(status.successes).toBe(1)
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 2, resetTimeout: "1 minute" } } }))
    )
  })

  describe("trip rules", () => {
    it.effect("failureThreshold within monitorWindow: failures spread wider than the window do not trip", () =>
      Effect.gen(function* () {
        yield* calls(2, failing)
        yield* TestClock.adjust("6 seconds")
        yield* calls(1, failing) // failures at 0, 0, 6s: oldest of the last 3 is 6s old... within 5s? no
        expect(yield* stateOf()).toBe("Closed")
        yield* TestClock.adjust("1 second")
        yield* calls(1, failing) // last three at 0, 6s, 7s: oldest 7s old -> no
        expect(yield* stateOf()).toBe("Closed")
        yield* calls(1, failing) // last three at 6s, 7s, 7s: oldest 1s old -> trips
        expect(yield* stateOf()).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 3, monitorWindow: "5 seconds" } } }))
    )

    it.effect("successes do not reset a windowed count (Fuse semantics)", () =>
      Effect.gen(function* () {
        yield* calls(1, failing)
        yield* calls(5, ok)
        yield* calls(1, failing)
        expect(yield* stateOf()).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 2, monitorWindow: "1 minute" } } }))
    )

    it.effect("failure rate opens once minimumCalls were made", () =>
      Effect.gen(function* () {
        yield* calls(3, failing)
        expect(yield* stateOf()).toBe("Closed") // 3 calls < minimumCalls 4
        yield* calls(1, ok) // 3/4 = 0.75 >= 0.5
        expect(yield* stateOf()).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: { failureRateThreshold: 0.5, minimumCalls: 4 } } }))
    )

    it.effect("failure rate looks at the last slidingWindowSize calls only", () =>
      Effect.gen(function* () {
        yield* calls(2, failing)
        yield* calls(4, ok) // window [S,S,S,S]: the F,F slid out (never above 0.5 < 0.75)
        expect(yield* stateOf()).toBe("Closed")
        yield* calls(2, failing) // [S,S,F,F] = 0.5
        expect(yield* stateOf()).toBe("Closed")
        yield* calls(1, failing) // [S,F,F,F] = 0.75
        expect(yield* stateOf()).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: { failureRateThreshold: 0.75, minimumCalls: 4, slidingWindowSize: 4 } } }))
    )

    it.effect("slow-call rate opens on slow successes", () =>
      Effect.gen(function* () {
        const slowCall = Effect.sleep("2 seconds").pipe(CircuitBreaker.protect("db"))
        const fibers = yield* Effect.forEach([1, 2], () => Effect.forkChild(slowCall, { startImmediately: true }))
        yield* calls(2, ok)
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.joinAll(fibers)
        expect(yield* stateOf()).toBe("Open") // 2 slow of 4 = 0.5
      }).pipe(
        withBreakers({
          breakers: { db: { slowCallDuration: "1 second", slowCallRateThreshold: 0.5, minimumCalls: 4 } }
        })
      )
    )
  })

  describe("classification and timeouts", () => {
    it.effect("callTimeout fails OperationTimeout and counts as a failure", () =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(Effect.never.pipe(CircuitBreaker.protect("db")), { startImmediately: true })
        yield* TestClock.adjust("1 second")
        const exit = yield* Fiber.await(fiber)
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(error).toMatchObject({ _tag: "OperationTimeout", operation: "db" })
        expect(yield* stateOf()).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1, callTimeout: "1 second" } } }))
    )

    it.effect("isFailure decides which failures count; the rest count as successes", () =>
      Effect.gen(function* () {
        yield* calls(5, Effect.fail({ status: 404 }))
        expect(yield* stateOf()).toBe("Closed")
        yield* calls(2, Effect.fail({ status: 503 }))
        expect(yield* stateOf()).toBe("Open")
      }).pipe(
        withBreakers({
          breakers: {
            db: {
              failureThreshold: 2,
              isFailure: (cause) => {
                const error = Cause.squash(cause) as { status?: number }
                return error.status === undefined || error.status >= 500
              }
            }
          }
        })
      )
    )

    it.effect("defects count as failures", () =>
      Effect.gen(function* () {
        yield* calls(2, Effect.die("bug"))
        expect(yield* stateOf()).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 2 } } }))
    )

    it.effect("interruption mid-call is neither a failure nor a success", () =>
      Effect.gen(function* () {
        const fibers = yield* Effect.forEach(Array.from({ length: 10 }), () =>
          Effect.forkChild(Effect.never.pipe(CircuitBreaker.protect("db")), { startImmediately: true })
        )
        yield* Fiber.interruptAll(fibers)
        const status = yield* CircuitBreaker.CircuitBreaker.use((s) => s.status("db"))
        expect(status).toMatchObject({ state: "Closed", failures: 0, successes: 0, consecutiveFailures: 0 })
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1 } } }))
    )
  })

  describe("names, operations and transitions", () => {
    it.effect("unlisted names get breakers from defaults, capped by maxBreakers (LRU)", () =>
      Effect.gen(function* () {
        const service = yield* CircuitBreaker.CircuitBreaker
        yield* calls(1, failing, "host-a")
        expect(yield* stateOf("host-a")).toBe("Open")
        yield* calls(1, ok, "host-b")
        yield* calls(1, ok, "host-a") // touch a: b is now least recently used
        yield* calls(1, ok, "host-c") // evicts b
        expect(yield* service.names).toEqual(["payments", "host-a", "host-c"])
        expect((yield* Effect.flip(service.status("host-b")))._tag).toBe("ProtectionNotFound")
      }).pipe(withBreakers({ defaults: { failureThreshold: 1 }, breakers: { payments: {} }, maxBreakers: 2 }))
    )

    it.effect("state and reset of an unknown breaker fail ProtectionNotFound", () =>
      Effect.gen(function* () {
        const service = yield* CircuitBreaker.CircuitBreaker
        const error = yield* Effect.flip(service.status("nope"))
        expect(error).toMatchObject({ _tag: "ProtectionNotFound", kind: "circuit_breaker", protection: "nope" })
        expect((yield* Effect.flip(service.reset("nope")))._tag).toBe("ProtectionNotFound")
      }).pipe(withBreakers({}))
    )

    it.effect("not-found errors name the nearest breaker, or list the breakers, or say none is configured", () =>
      Effect.gen(function* () {
        const service = yield* CircuitBreaker.CircuitBreaker
        const typo = yield* Effect.flip(service.status("paymnts"))
        expect(typo).toMatchObject({ _tag: "ProtectionNotFound", kind: "circuit_breaker", protection: "paymnts" })
        expect(typo.message).toBe('no circuit breaker named "paymnts" is configured; did you mean "payments"?')
        expect((yield* Effect.flip(service.reset("serch"))).message).toContain('did you mean "search"?')
        expect((yield* Effect.flip(service.status("ledger"))).message).toContain('configured: "payments", "search"')
      }).pipe(withBreakers({ breakers: { payments: {}, search: {} } }))
    )

    it.effect("a not-found error says when no breaker is configured", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(CircuitBreaker.CircuitBreaker.use((s) => s.status("db")))
        expect(error.message).toBe('no circuit breaker named "db" is configured; none is configured')
      }).pipe(withBreakers({}))
    )

    it.effect("maxBreakers 0: a name not configured fails ProtectionNotFound suggesting the nearest, and gets no breaker", () =>
      Effect.gen(function* () {
        const service = yield* CircuitBreaker.CircuitBreaker
        let ran = 0
        const call = Effect.sync(() => ++ran)
        const error = yield* Effect.flip(call.pipe(CircuitBreaker.protect("upstrem")))
        expect(error).toMatchObject({ _tag: "ProtectionNotFound", kind: "circuit_breaker", protection: "upstrem" })
        expect(error.message).toContain('did you mean "upstream"?')
        expect((yield* Effect.flip(service.execute("upstrem")(call))).message).toContain('did you mean "upstream"?')
        expect((yield* Effect.flip(service.trip("upstrem")))._tag).toBe("ProtectionNotFound")
        expect(ran).toBe(0)
        expect(yield* call.pipe(CircuitBreaker.protect("upstream"))).toBe(1)
        expect(yield* service.names).toEqual(["upstream"])
      }).pipe(withBreakers({ breakers: { upstream: {} }, maxBreakers: 0 }))
    )

    it.effect("without maxBreakers 0, any name gets a breaker from defaults: protect and trip never fail not-found", () =>
      Effect.gen(function* () {
        const service = yield* CircuitBreaker.CircuitBreaker
        expect(yield* ok.pipe(CircuitBreaker.protect("upstrem"))).toBe("ok")
        yield* service.trip("elsewhere")
        expect(yield* stateOf("elsewhere")).toBe("Open")
        expect(yield* service.names).toEqual(["upstream", "upstrem", "elsewhere"])
      }).pipe(withBreakers({ breakers: { upstream: {} } }))
    )

    it.effect("trip forces Open, reset forces Closed, and transitions are published in order", () =>
      Effect.gen(function* () {
        const service = yield* CircuitBreaker.CircuitBreaker
        const collected = yield* service.transitions.pipe(Stream.take(4), Stream.runCollect, Effect.forkChild({ startImmediately: true }))
        yield* service.trip("db")
        expect((yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db"))))._tag).toBe("CircuitBreakerOpen")
        yield* service.reset("db")
        expect(yield* ok.pipe(CircuitBreaker.protect("db"))).toBe("ok")
        yield* calls(1, failing)
        yield* TestClock.adjust("30 seconds")
        yield* calls(1, ok)
        const transitions = yield* Fiber.join(collected)
        expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual(["Closed->Open", "Open->Closed", "Closed->Open", "Open->HalfOpen"])
        expect(transitions[3]).toMatchObject({ breaker: "db", at: 30_000 })
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1 } } }))
    )

    it.effect("a protected effect uses the service of the context it runs in", () =>
      Effect.gen(function* () {
        const call = ok.pipe(CircuitBreaker.protect("db"))
        const count = CircuitBreaker.CircuitBreaker.use((s) => Effect.map(s.status("db"), (x) => x.successes))
        const one = CircuitBreaker.layer({ breakers: { db: {} } })
        const two = CircuitBreaker.layer({ breakers: { db: {} } })
        const first = yield* Effect.andThen(Effect.andThen(call, call), count).pipe(Effect.provide(one))
        const second = yield* Effect.andThen(call, count).pipe(Effect.provide(two))
        expect([first, second]).toEqual([2, 1])
      })
    )

    it.effect("a test double provided with Layer.succeed receives protected calls", () =>
      Effect.gen(function* () {
        const seen: Array<string> = []
        const double = breakerDouble(seen)
        expect(yield* ok.pipe(CircuitBreaker.protect("x"), Effect.provide(double))).toBe("ok")
        expect(seen).toEqual(["x"])
      })
    )
  })

  describe("metrics", () => {
    it.effect("calls, state and transitions are reported under the design's names", () =>
      Effect.gen(function* () {
        yield* calls(2, ok)
        yield* calls(1, failing)
        yield* calls(3, ok) // rejected
        const snapshots = yield* Metric.snapshot
        const find = (id: string, attributes: Record<string, string>) =>
          snapshots.find((s) => s.id === id && Object.entries(attributes).every(([k, v]) => s.attributes?.[k] === v))
        expect(find("foundation.circuit_breaker.calls", { breaker: "db", outcome: "success" })?.state).toMatchObject({ count: 2 })
        expect(find("foundation.circuit_breaker.calls", { breaker: "db", outcome: "failure" })?.state).toMatchObject({ count: 1 })
        expect(find("foundation.circuit_breaker.calls", { breaker: "db", outcome: "rejected" })?.state).toMatchObject({ count: 3 })
        expect(find("foundation.circuit_breaker.state", { breaker: "db" })?.state).toEqual({ value: 2 })
        expect(find("foundation.circuit_breaker.transitions", { breaker: "db", from: "Closed", to: "Open" })?.state).toMatchObject({
          count: 1
        })
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1 } } }), Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("series are removed when the layer's scope closes", () =>
      Effect.gen(function* () {
        yield* calls(1, ok).pipe(withBreakers({ breakers: { db: {} } }))
        const left = (yield* Metric.snapshot).filter((s) => s.id.startsWith("foundation.circuit_breaker.calls"))
        expect(left).toEqual([])
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )
  })
})
