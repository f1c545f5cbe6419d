/**
 * Property test of the local breaker under TestClock: random policies and workloads (calls
 * that succeed, fail, die, hang or run long, interrupted at random moments, with a scheduler
 * that yields almost everywhere) and clock jumps. Then the dependency heals: once the calls in
 * flight have ended (hung ones never do) a caller that waits the `retryAfter` it is given is
 * admitted within `maxWaitInHalfOpen` plus one (backed-off) reset timeout. Never stuck.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { CircuitBreaker } from "../src/index.js"
import { runScenario } from "./support/scenario.js"

const behaviour = fc.constantFrom("ok", "fail", "fail", "fail", "die", "hang", "hang", "slow")

/** `value` in `weight` out of `weight + absent` cases, else undefined */
const sometimes = <A>(value: fc.Arbitrary<A>, weight: number, absent: number) =>
  fc.oneof({ arbitrary: value, weight }, { arbitrary: fc.constant(undefined), weight: absent })

const scenario = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 3 }),
  resetTimeout: fc.integer({ min: 1, max: 50 }),
  backoffFactor: fc.constantFrom(1, 2),
  backoffMaxExtra: fc.integer({ min: 0, max: 100 }),
  halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
  callTimeout: sometimes(fc.integer({ min: 1, max: 40 }), 1, 2),
  maxWaitExtra: sometimes(fc.integer({ min: 0, max: 60 }), 1, 1),
  opsBeforeYield: fc.constantFrom(3, 5, 13, 2048),
  callers: fc.array(
    fc.record({
      startAt: fc.integer({ min: 0, max: 300 }),
      does: behaviour,
      duration: fc.integer({ min: 0, max: 30 }),
      interruptAfter: sometimes(fc.integer({ min: 0, max: 40 }), 1, 3)
    }),
    { minLength: 1, maxLength: 60 }
  ),
  jumps: fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 10 })
})

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

const policyOf = (s: Scenario) => {
  const backoffMax = s.resetTimeout + s.backoffMaxExtra
  const maxWait = s.maxWaitExtra === undefined ? undefined : (s.callTimeout ?? 1) + s.maxWaitExtra
  const policy: CircuitBreaker.BreakerPolicy = {
    failureThreshold: s.failureThreshold,
    resetTimeout: s.resetTimeout,
    halfOpenMaxCalls: s.halfOpenMaxCalls,
    ...(s.backoffFactor > 1 ? { backoff: { factor: s.backoffFactor, max: backoffMax } } : {}),
    ...(s.callTimeout !== undefined ? { callTimeout: s.callTimeout } : {}),
    ...(maxWait !== undefined ? { maxWaitInHalfOpen: maxWait } : {})
  }
  return policy
}

const run = (s: Scenario) =>
  Effect.gen(function* () {
    const backoffMax = s.resetTimeout + s.backoffMaxExtra
    const maxWait = s.maxWaitExtra === undefined ? undefined : (s.callTimeout ?? 1) + s.maxWaitExtra
    const effectiveMaxWait = maxWait ?? Math.max(60_000, s.callTimeout ?? 0)
    const longestReset = s.backoffFactor > 1 ? backoffMax : s.resetTimeout
    const protect = CircuitBreaker.protect("dep")
    const body = (does: string, duration: number): Effect.Effect<string, string> =>
      does === "ok"
        ? Effect.succeed("ok")
        : does === "fail"
          ? Effect.fail("503")
          : does === "die"
            ? Effect.die("bug")
            : does === "hang"
              ? Effect.never
              : Effect.as(Effect.sleep(duration), "slow")

    const fibers: Array<Fiber.Fiber<string, unknown>> = []
    for (const caller of s.callers) {
      const fiber = yield* Effect.forkChild(
        Effect.sleep(caller.startAt).pipe(Effect.andThen(body(caller.does, caller.duration).pipe(protect)))
      )
      fibers.push(fiber)
      if (caller.interruptAfter !== undefined) {
        yield* Effect.forkChild(Effect.sleep(caller.startAt + caller.interruptAfter).pipe(Effect.andThen(Fiber.interrupt(fiber))))
      }
    }
    for (const jump of s.jumps) yield* TestClock.adjust(jump)
    // until every caller has started and every start, duration, interruption and timeout is
    // due: a caller still to start would begin its call (a hung probe) after the healing
    const settled = Math.max(
      ...s.callers.map((caller) => caller.startAt + Math.max(caller.duration, caller.interruptAfter ?? 0, s.callTimeout ?? 0) + 1)
    )
    while ((yield* Clock.currentTimeMillis) < settled) yield* TestClock.adjust(1)
    for (const fiber of fibers) {
      const exit = fiber.pollUnsafe()
      if (exit === undefined || Exit.isSuccess(exit)) continue
      // nothing but the call's own outcome, a rejection, a timeout or an interruption
      for (const reason of exit.cause.reasons) {
        if (reason._tag === "Die") expect(reason.defect).toBe("bug")
        if (reason._tag === "Fail") {
          const error: unknown = reason.error
          const tag = (error as { readonly _tag?: string })._tag
          expect(error === "503" || tag === "CircuitBreakerOpen" || tag === "OperationTimeout").toBe(true)
        }
      }
    }

    // the dependency is healthy from here on
    const started = yield* Clock.currentTimeMillis
    let attempts = 0
    let admitted = 0
    const stateNow = CircuitBreaker.CircuitBreaker.use((service) => Effect.map(service.status("dep"), (x) => x.state))
    for (;;) {
      attempts++
      const exit = yield* Effect.exit(Effect.succeed("healthy").pipe(protect))
      if (Exit.isSuccess(exit)) {
        // HalfOpen closes once its halfOpenMaxCalls probes returned (resilience4j's permitted calls)
        admitted++
        if ((yield* stateNow) === "Closed") break
        expect(admitted).toBeLessThanOrEqual(s.halfOpenMaxCalls)
        continue
      }
      const error = Cause.squash(exit.cause) as CircuitBreaker.BreakerStatus & {
        readonly _tag: string
        readonly retryAfter: Duration.Duration
      }
      expect(error._tag).toBe("CircuitBreakerOpen")
      admitted = 0 // a rejection: the probes so far were lost (a hung one) and a new period starts
      expect(attempts).toBeLessThan(4 + 2 * s.halfOpenMaxCalls)
      yield* TestClock.adjust(Math.max(1, Duration.toMillis(error.retryAfter)))
    }
    const waited = (yield* Clock.currentTimeMillis) - started
    expect(waited).toBeLessThanOrEqual(effectiveMaxWait + longestReset)
    const status = yield* CircuitBreaker.CircuitBreaker.use((service) => service.status("dep"))
    expect(status.state).toBe("Closed")
    yield* Fiber.interruptAll(fibers)
  }).pipe(Effect.provide(CircuitBreaker.layer({ breakers: { dep: policyOf(s) } })))

describe("CircuitBreaker properties", () => {
  it("random workloads, interruptions and clock jumps: once healthy, a caller is admitted in bounded time", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) => runScenario(run(s), s.opsBeforeYield)),
      { numRuns: 200 }
    )
  }, 120_000)
})
