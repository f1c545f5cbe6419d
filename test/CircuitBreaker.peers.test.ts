/**
 * Behaviours taken from the peers (resilience4j, cockatiel, opossum), each test translating one
 * of their scenarios to this library's API; the comment names the peer's test.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Logger, Metric, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as CircuitBreaker from "../src/CircuitBreaker.js"

const failing = Effect.fail("boom" as const)
const ok = Effect.succeed("ok" as const)

const calls = (n: number, effect: Effect.Effect<unknown, unknown>, breaker = "db") =>
  Effect.forEach(Array.from({ length: n }), () => Effect.exit(effect.pipe(CircuitBreaker.protect(breaker))), {
    discard: true
  })

/** one successful call that takes `duration` of TestClock time */
const slowCall = (duration: Duration.Input, breaker = "db") =>
  Effect.gen(function* () {
    const fiber = yield* calls(1, Effect.sleep(duration), breaker).pipe(Effect.forkChild({ startImmediately: true }))
    yield* TestClock.adjust(duration)
    yield* Fiber.join(fiber)
  })

const service = CircuitBreaker.CircuitBreaker.use(Effect.succeed)
const statusOf = (breaker = "db") => Effect.flatMap(service, (s) => s.status(breaker))
const withBreakers = (options: CircuitBreaker.Options) => Effect.provide(CircuitBreaker.layer(options))

describe("CircuitBreaker, as the peers do it", () => {
  describe("only real state changes are published", () => {
    // resilience4j CircuitBreakerStateMachineTest.circuitBreakerDoesNotPublishStateTransitionEventsForInternalTransitions:
    // a transition to the state the breaker is in publishes no event
    it.effect("reset on Closed and trip on Open publish no event, count no transition and log nothing", () =>
      Effect.gen(function* () {
        const logs: Array<string> = []
        const collector = Logger.make((options) => {
          logs.push(String(options.message))
        })
        yield* Effect.gen(function* () {
          const breakers = yield* service
          const collected = yield* breakers.transitions.pipe(
            Stream.take(2),
            Stream.runCollect,
            Effect.forkChild({ startImmediately: true })
          )
          yield* breakers.reset("db") // Closed -> Closed: nothing
          yield* breakers.trip("db") // Closed -> Open
          yield* breakers.trip("db") // Open -> Open: nothing
          yield* breakers.reset("db") // Open -> Closed
          const transitions = yield* Fiber.join(collected)
          expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual(["Closed->Open", "Open->Closed"])
          yield* Effect.yieldNow
          const snapshots = yield* Metric.snapshot
          const counted = snapshots.filter((s) => s.id === "foundation.circuit_breaker.transitions")
          expect(counted.map((s) => `${s.attributes?.from}->${s.attributes?.to}`).sort()).toEqual(["Closed->Open", "Open->Closed"])
          expect((yield* statusOf()).transitions).toBe(2)
        }).pipe(withBreakers({ breakers: { db: {} } }), Effect.provide(Logger.layer([collector])))
        expect(logs.filter((l) => l.includes("->"))).toEqual([
          'circuit breaker "db": Closed -> Open',
          'circuit breaker "db": Open -> Closed'
        ])
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    // cockatiel CircuitBreakerPolicy.test.ts "uses the given backof factory to decide whether to enter
    // the half open state": the backed-off wait survives; here a trip of an Open breaker restarts it
    it.effect("trip on an Open breaker restarts the current (backed-off) reset timeout", () =>
      Effect.gen(function* () {
        const breakers = yield* service
        yield* calls(1, failing) // opens: 1 s
        yield* TestClock.adjust("1 second")
        yield* calls(1, failing) // failed probe: reopens for 2 s
        yield* TestClock.adjust("1 second")
        yield* breakers.trip("db") // Open: keeps the 2 s timeout, from now
        const status = yield* statusOf()
        expect(status.state).toBe("Open")
        expect(Duration.toMillis(status.retryAfter!)).toBe(2_000)
      }).pipe(
        withBreakers({ breakers: { db: { failureThreshold: 1, resetTimeout: "1 second", backoff: { factor: 2, max: "1 minute" } } } })
      )
    )
  })

  describe("status", () => {
    // resilience4j CircuitBreakerMetricsTest / CircuitBreaker.Metrics (getFailureRate, getNumberOfBufferedCalls,
    // getSlowCallRate); opossum status.stats: what a dashboard reads
    it.effect("reports the last failure time, the transition count and the window's rates and call count", () =>
      Effect.gen(function* () {
        const before = yield* statusOf()
        expect(before.lastFailureAt).toBeUndefined()
        expect(before.window).toEqual({ calls: 0, failureRate: 0, slowCallRate: 0 })
        yield* calls(3, ok)
        yield* TestClock.adjust("5 seconds")
        yield* calls(1, failing)
        yield* slowCall("3 seconds")
        const status = yield* statusOf()
        expect(status).toMatchObject({ state: "Closed", lastFailureAt: 5_000, transitions: 0, failures: 1, successes: 4 })
        expect(status.window).toEqual({ calls: 5, failureRate: 0.2, slowCallRate: 0.2 })
      }).pipe(
        withBreakers({
          breakers: {
            db: { failureRateThreshold: 0.5, minimumCalls: 10, slowCallDuration: "2 seconds", slowCallRateThreshold: 0.9 }
          }
        })
      )
    )

    it.effect("a breaker without a rate rule has no window in its status", () =>
      Effect.gen(function* () {
        yield* calls(1, failing)
        const status = yield* statusOf()
        expect(status.window).toBeUndefined()
        expect(status.lastFailureAt).toBe(0)
      }).pipe(withBreakers({ breakers: { db: {} } }))
    )
  })

  describe("retryAfter in HalfOpen", () => {
    // Not from a peer (cockatiel and Polly report the whole break duration): issue 16 asks for a
    // wait a caller can honestly use. A caller beyond the probe limit is told when the probe's
    // verdict is due at the latest: its call timeout here, not the reset timeout
    it.effect("a caller beyond the probe limit waits at most until the probe's call timeout", () =>
      Effect.gen(function* () {
        yield* calls(1, failing)
        yield* TestClock.adjust("30 seconds")
        const probe = yield* Effect.sleep("1 second").pipe(CircuitBreaker.protect("db"), Effect.forkChild({ startImmediately: true }))
        yield* TestClock.adjust("400 millis")
        const rejected = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(rejected).toMatchObject({ _tag: "CircuitBreakerOpen", state: "HalfOpen" })
        expect(Duration.toMillis((rejected as { retryAfter: Duration.Duration }).retryAfter)).toBe(1_600)
        yield* TestClock.adjust("600 millis")
        yield* Fiber.join(probe)
        expect((yield* statusOf()).state).toBe("Closed")
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1, callTimeout: "2 seconds", maxWaitInHalfOpen: "10 seconds" } } }))
    )

    it.effect("without a call timeout the bound is the probe's maxWaitInHalfOpen deadline", () =>
      Effect.gen(function* () {
        yield* calls(1, failing)
        yield* TestClock.adjust("30 seconds")
        const probe = yield* Effect.never.pipe(CircuitBreaker.protect("db"), Effect.forkChild({ startImmediately: true }))
        yield* TestClock.adjust("4 seconds")
        const rejected = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(Duration.toMillis((rejected as { retryAfter: Duration.Duration }).retryAfter)).toBe(6_000)
        yield* Fiber.interrupt(probe)
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1, maxWaitInHalfOpen: "10 seconds" } } }))
    )
  })

  describe("operator modes", () => {
    // cockatiel CircuitBreakerPolicy.test.ts "handles isolation correctly": isolations nest, the
    // last release closes; resilience4j shouldForceOpenCircuitBreaker: no probe after the wait
    it.effect("isolate forces Open until the last handle is released, past any reset timeout", () =>
      Effect.gen(function* () {
        const breakers = yield* service
        const collected = yield* breakers.transitions.pipe(Stream.take(2), Stream.runCollect, Effect.forkChild({ startImmediately: true }))
        const first = yield* breakers.isolate("db")
        const second = yield* breakers.isolate("db")
        const rejected = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(rejected).toMatchObject({ _tag: "CircuitBreakerOpen", state: "Open" })
        expect(Duration.isFinite((rejected as { retryAfter: Duration.Duration }).retryAfter)).toBe(false)
        yield* TestClock.adjust("1 hour") // far past resetTimeout: still no probe
        expect((yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db"))))._tag).toBe("CircuitBreakerOpen")
        expect((yield* statusOf()).mode).toBe("forcedOpen")
        yield* breakers.trip("db") // no effect on an isolation
        yield* breakers.reset("db") // neither: only the handles end it
        yield* first.release
        yield* first.release // twice: nothing
        expect((yield* statusOf()).state).toBe("Open")
        yield* second.release
        expect(yield* ok.pipe(CircuitBreaker.protect("db"))).toBe("ok")
        expect(yield* statusOf()).toMatchObject({ state: "Closed", mode: "normal" })
        const transitions = yield* Fiber.join(collected)
        expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual(["Closed->Open", "Open->Closed"])
      }).pipe(withBreakers({ breakers: { db: { resetTimeout: "1 second" } } }))
    )

    it.effect("an isolated per-host breaker is not the one maxBreakers evicts", () =>
      Effect.gen(function* () {
        const breakers = yield* service
        yield* breakers.isolate("host-a")
        yield* calls(1, ok, "host-b")
        yield* calls(1, ok, "host-c") // evicts host-b, the least recently used breaker not isolated
        expect(yield* breakers.names).toEqual(["host-a", "host-c"])
        expect((yield* statusOf("host-a")).mode).toBe("forcedOpen")
      }).pipe(withBreakers({ maxBreakers: 2 }))
    )

    // resilience4j CircuitBreakerStateMachineTest.shouldDisableCircuitBreaker: always admits, no metrics
    it.effect("disabled admits every call and never trips; trip does nothing", () =>
      Effect.gen(function* () {
        const breakers = yield* service
        yield* breakers.setMode("db", "disabled")
        yield* calls(5, failing)
        yield* breakers.trip("db")
        expect(yield* ok.pipe(CircuitBreaker.protect("db"))).toBe("ok")
        expect(yield* statusOf()).toMatchObject({ state: "Closed", mode: "disabled", consecutiveFailures: 0, failures: 5 })
        expect((yield* statusOf()).window).toEqual({ calls: 0, failureRate: 0 })
        yield* breakers.setMode("db", "normal")
        yield* calls(2, failing)
        expect((yield* statusOf()).state).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 2, failureRateThreshold: 0.5, minimumCalls: 2 } } }))
    )

    // resilience4j CircuitBreakerStateMachineTest.shouldRecordMetricsInMetricsOnlyState: records, never opens
    it.effect("metricsOnly records the window as usual but never rejects", () =>
      Effect.gen(function* () {
        const breakers = yield* service
        yield* calls(1, failing) // opens
        yield* breakers.setMode("db", "metricsOnly") // a change starts Closed, counts clean
        expect((yield* statusOf()).state).toBe("Closed")
        yield* calls(4, failing)
        yield* calls(1, ok)
        expect(yield* statusOf()).toMatchObject({ state: "Closed", mode: "metricsOnly", consecutiveFailures: 0 })
        expect((yield* statusOf()).window).toEqual({ calls: 5, failureRate: 0.8 })
      }).pipe(withBreakers({ breakers: { db: { failureThreshold: 1, failureRateThreshold: 0.5, minimumCalls: 2 } } }))
    )
  })

  describe("HalfOpen decided by halfOpenMaxCalls probes", () => {
    // cockatiel's sampling counts a failure rate over the threshold (>); ours reopens at it (>=), so
    // its 0.3 is 0.35 here
    const sampled = { failureThreshold: 2, failureRateThreshold: 0.35, minimumCalls: 10, halfOpenMaxCalls: 10, resetTimeout: "1 second" }

    // cockatiel CircuitBreakerPolicy.test.ts "samples multiple half-open calls before closing"
    it.effect("closes once every probe returned and their failure rate is under the threshold", () =>
      Effect.gen(function* () {
        yield* calls(2, failing)
        yield* TestClock.adjust("1 second")
        for (let i = 0; i < 3; i++) {
          yield* calls(1, failing)
          expect((yield* statusOf()).state).toBe("HalfOpen")
        }
        for (let i = 0; i < 6; i++) {
          yield* calls(1, ok)
          expect((yield* statusOf()).state).toBe("HalfOpen")
        }
        yield* calls(1, ok)
        expect((yield* statusOf()).state).toBe("Closed")
      }).pipe(withBreakers({ breakers: { db: sampled } }))
    )

    // cockatiel CircuitBreakerPolicy.test.ts "re-opens when the half-open sample exceeds the failure threshold"
    it.effect("reopens as soon as the probes' failures reach the threshold", () =>
      Effect.gen(function* () {
        yield* calls(2, failing)
        yield* TestClock.adjust("1 second")
        yield* calls(3, failing)
        expect((yield* statusOf()).state).toBe("HalfOpen")
        yield* calls(1, failing)
        expect((yield* statusOf()).state).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: sampled } }))
    )

    // resilience4j CircuitBreakerStateMachineTest.shouldOnlyPermitFourCallsInHalfOpenState and
    // shouldTransitionBackToOpenStateWhenSlowCallRateIsAboveThreshold: 3 of 4 probes slow (successes) reopen
    it.effect("slow successful probes count under the slow-call rule; a fifth caller is rejected meanwhile", () =>
      Effect.gen(function* () {
        yield* calls(1, failing)
        yield* TestClock.adjust("5 seconds")
        const probes = yield* Effect.forEach([5, 5, 5, 1], (seconds) =>
          Effect.sleep(Duration.seconds(seconds)).pipe(CircuitBreaker.protect("db"), Effect.forkChild({ startImmediately: true }))
        )
        const fifth = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("db")))
        expect(fifth).toMatchObject({ _tag: "CircuitBreakerOpen", state: "HalfOpen" })
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.joinAll(probes)
        expect((yield* statusOf()).state).toBe("Open")
      }).pipe(
        withBreakers({
          breakers: {
            db: {
              failureThreshold: 1,
              failureRateThreshold: 0.5,
              slowCallDuration: "4 seconds",
              slowCallRateThreshold: 0.5,
              halfOpenMaxCalls: 4,
              resetTimeout: "5 seconds"
            }
          }
        })
      )
    )
  })

  describe("time-based sliding window", () => {
    const sampling = { failureRateThreshold: 0.5, slidingWindowDuration: "5 seconds", minimumCalls: 15 }

    // cockatiel SamplingBreaker.test.ts "does not start failing if below threshold rps"
    // (minimumRps 3 over 5 s is minimumCalls 15 here)
    it.effect("does not trip below the minimum throughput, however many calls fail", () =>
      Effect.gen(function* () {
        for (let i = 0; i < 10; i++) {
          yield* calls(1, failing)
          expect((yield* statusOf()).state).toBe("Closed")
          yield* TestClock.adjust("500 millis")
        }
      }).pipe(withBreakers({ breakers: { db: sampling } }))
    )

    // cockatiel SamplingBreaker.test.ts "fails once above rps": calls 334 ms apart; the bucket
    // approximation drops the first once 5 s passed, so one more failure is needed
    it.effect("trips once the calls within the window reach the minimum throughput", () =>
      Effect.gen(function* () {
        for (let i = 0; i < 15; i++) {
          yield* TestClock.adjust("334 millis")
          yield* calls(1, failing)
          expect((yield* statusOf()).state).toBe("Closed")
        }
        expect((yield* statusOf()).window).toEqual({ calls: 14, failureRate: 1 })
        yield* calls(1, failing)
        expect((yield* statusOf()).state).toBe("Open")
      }).pipe(withBreakers({ breakers: { db: sampling } }))
    )

    // resilience4j SlidingTimeWindowMetricsTest.testSlidingTimeWindowMetrics: calls older than the
    // window's duration leave it (opossum's rollingCountTimeout does the same), so a quiet service
    // does not keep old failures
    it.effect("a quiet service forgets old failures: they leave the window as time passes", () =>
      Effect.gen(function* () {
        yield* calls(4, failing)
        expect((yield* statusOf()).window).toEqual({ calls: 4, failureRate: 1 })
        yield* TestClock.adjust("1 minute")
        expect((yield* statusOf()).window).toEqual({ calls: 0, failureRate: 0 })
        yield* calls(1, failing) // with a count-based window this would be the fifth: Open
        expect((yield* statusOf()).state).toBe("Closed")
      }).pipe(withBreakers({ breakers: { db: { failureRateThreshold: 0.5, slidingWindowDuration: "10 seconds", minimumCalls: 5 } } }))
    )
  })
})
