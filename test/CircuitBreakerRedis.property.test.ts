/**
 * Property test of the shared breaker with a real redis-server, in real time (each run lasts
 * well under a second): two processes, random calls and outcomes, callers interrupted at
 * random moments (also while a probe waits for its lease), and Redis paused at random. Then
 * Redis and the dependency are healthy: after `resetTimeout` plus `maxWaitInHalfOpen`, a call
 * is admitted in each process. Never stuck.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, References, Scope } from "effect"
import * as fc from "fast-check"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as CircuitBreakerRedis from "../src/CircuitBreakerRedis.js"
import { redisTests, useRedisServer } from "./support/redisServer.js"

const server = useRedisServer()

const RESET = 60
const MAX_WAIT = 150
const COMMAND_TIMEOUT = 80

const step = fc.oneof(
  fc.record({
    kind: fc.constant("call" as const),
    process: fc.integer({ min: 0, max: 1 }),
    does: fc.constantFrom("ok", "fail", "fail", "hang", "slow"),
    interruptAfter: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 120 }))
  }),
  fc.record({ kind: fc.constant("wait" as const), millis: fc.integer({ min: 0, max: 80 }) }),
  fc.record({ kind: fc.constant("pause" as const), millis: fc.integer({ min: 10, max: 150 }) })
)

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never
const call = (process: number, does: "ok" | "fail" | "hang" | "slow", interruptAfter?: number): Step => ({
  kind: "call",
  process,
  does,
  interruptAfter
})
const wait = (millis: number): Step => ({ kind: "wait", millis })

let prefixes = 0

const processIn = (scope: Scope.Scope, prefix: string) =>
  Layer.buildWithScope(
    CircuitBreakerRedis.layer({
      breakers: { dep: { failureThreshold: 2, resetTimeout: RESET, maxWaitInHalfOpen: MAX_WAIT, halfOpenMaxCalls: 1 } },
      prefix,
      commandTimeout: COMMAND_TIMEOUT
    }).pipe(Layer.provide(Layer.suspend(() => NodeRedis.layer({ url: server.url, disableOfflineQueue: true })))),
    scope
  ).pipe(Effect.map((context) => Context.get(context, CircuitBreaker.CircuitBreaker)))

const run = (steps: ReadonlyArray<Step>) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const prefix = `prop${process.pid}-${prefixes++}`
    const processes = [yield* processIn(scope, prefix), yield* processIn(scope, prefix)]
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    let paused = false
    for (const s of steps) {
      if (s.kind === "wait") {
        yield* Effect.sleep(s.millis)
      } else if (s.kind === "pause") {
        // Redis stops answering for a while; the next steps run meanwhile
        if (!paused) {
          server.pause()
          paused = true
          yield* Effect.forkChild(
            Effect.sleep(s.millis).pipe(
              Effect.andThen(
                Effect.sync(() => {
                  server.resume()
                  paused = false
                })
              )
            ),
            { startImmediately: true }
          )
        }
      } else {
        const body =
          s.does === "ok" ? Effect.void : s.does === "fail" ? Effect.fail("503") : s.does === "hang" ? Effect.never : Effect.sleep(30)
        const fiber = yield* Effect.forkChild(Effect.exit(processes[s.process]!.execute("dep")(body)), {
          startImmediately: true
        })
        fibers.push(fiber)
        if (s.interruptAfter !== undefined) {
          yield* Effect.forkChild(Effect.sleep(s.interruptAfter).pipe(Effect.andThen(Fiber.interrupt(fiber))), {
            startImmediately: true
          })
        }
      }
    }
    // healthy from here on: Redis answers, the dependency too; the hung calls stay hung
    if (paused) {
      server.resume()
      paused = false
    }
    yield* Effect.sleep(RESET + MAX_WAIT + 2 * COMMAND_TIMEOUT)
    for (const breakers of processes) {
      // a caller following retryAfter is admitted within one more reset timeout
      let admitted = false
      for (let attempt = 0; attempt < 3 && !admitted; attempt++) {
        const exit = yield* Effect.exit(breakers.execute("dep")(Effect.succeed("ok")))
        admitted = Exit.isSuccess(exit)
        if (!admitted) yield* Effect.sleep(RESET + 10)
      }
      expect(admitted).toBe(true)
    }
    for (const fiber of fibers) {
      const exit = fiber.pollUnsafe()
      if (exit !== undefined && Exit.isSuccess(exit)) {
        const inner = exit.value as Exit.Exit<unknown, unknown>
        if (Exit.isFailure(inner)) expect(inner.cause.reasons.some((r) => r._tag === "Die")).toBe(false)
      }
    }
    yield* Fiber.interruptAll(fibers)
    yield* Scope.close(scope, Exit.void)
  })

describe.skipIf(!redisTests.enabled)("CircuitBreakerRedis properties", () => {
  it("random calls, interruptions and Redis pauses: once healthy, each process admits a call", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), (steps) =>
        Effect.runPromise(run(steps).pipe(Effect.provideService(References.MinimumLogLevel, "None")))
      ),
      {
        numRuns: 8,
        examples: [
          // a probe that never returns
          [[call(0, "fail"), call(0, "fail"), wait(80), call(0, "hang"), wait(10)]],
          // a probe interrupted while it waits for its lease (Redis paused)
          [[call(1, "fail"), call(1, "fail"), wait(80), { kind: "pause", millis: 150 }, call(1, "ok", 20), wait(200)]]
        ]
      }
    )
  }, 60_000)
})
