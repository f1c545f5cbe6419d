/**
 * The shared-timer timeout against `Effect.timeoutOrElse`, under `TestClock`, on random inner
 * effects: sleeps and yields, then a success, a failure, a defect or a self-interruption;
 * uninterruptible stretches; finalizers that are synchronous or sleep; outer interruption at a
 * random instant. Both must give the same exit and the same events, at the same instants, in
 * the same order.
 *
 * One call per scenario compares the whole event log. Several concurrent calls (sharing one
 * wake-up) compare each call's own log: their interleaving at one instant is not specified
 * (with `Effect.timeoutOrElse` it follows which timer was armed first). There, deadlines are
 * odd instants and the effects' own sleeps end at even ones, so no effect ties its deadline,
 * and the clock moves one millisecond at a time, every fiber settling at each instant.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { describeExit } from "../../../src/internal/runtime/guardedCall.js"
import { pendingOf, timeoutOrElse } from "../../../src/internal/runtime/timeout.js"
import { Clock } from "effect"

type Step = { readonly _tag: "Sleep"; readonly millis: number } | { readonly _tag: "Yield" }
type Outcome = "succeed" | "fail" | "die" | "interrupt"

interface Inner {
  readonly steps: ReadonlyArray<Step>
  /** the first `protectedSteps` steps run uninterruptibly */
  readonly protectedSteps: number
  readonly outcome: Outcome
  /** a finalizer that logs, after sleeping this long (0: synchronous) */
  readonly finalizerSleep: number | undefined
}

interface Call {
  readonly inner: Inner
  readonly timeout: number
  readonly startAfter: number
}

const step = (sleep: fc.Arbitrary<number>): fc.Arbitrary<Step> =>
  fc.oneof(
    sleep.map((millis) => ({ _tag: "Sleep" as const, millis })),
    fc.constant({ _tag: "Yield" as const })
  )

const inner = (sleep: fc.Arbitrary<number>): fc.Arbitrary<Inner> =>
  fc.record({
    steps: fc.array(step(sleep), { maxLength: 4 }),
    protectedSteps: fc.integer({ min: 0, max: 2 }),
    outcome: fc.constantFrom<Outcome>("succeed", "succeed", "fail", "die", "interrupt"),
    finalizerSleep: fc.option(sleep, { nil: undefined })
  })

const single = fc.record({
  call: fc.record({ inner: inner(fc.integer({ min: 0, max: 12 })), timeout: fc.integer({ min: 1, max: 15 }), startAfter: fc.constant(0) }),
  interruptAt: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined })
})

const even = fc.integer({ min: 0, max: 6 }).map((n) => n * 2)
const odd = fc.integer({ min: 0, max: 8 }).map((n) => n * 2 + 1)
const concurrent = fc.record({
  calls: fc.array(fc.record({ inner: inner(even), timeout: odd, startAfter: even }), { minLength: 2, maxLength: 4 }),
  interruptAt: fc.option(fc.integer({ min: 0, max: 24 }), { nil: undefined })
})

type Timeout = <A, E>(self: Effect.Effect<A, E>, millis: number, orElse: Effect.Effect<never, string>) => Effect.Effect<A, E | string>

const reference: Timeout = (self, millis, orElse) => Effect.timeoutOrElse(self, { duration: millis, orElse: () => orElse })
const ours: Timeout = timeoutOrElse

const build = (spec: Inner, log: (event: string) => Effect.Effect<void>): Effect.Effect<string, string> => {
  const steps = spec.steps.map((s) => (s._tag === "Sleep" ? Effect.sleep(s.millis) : Effect.yieldNow))
  const guarded = Effect.uninterruptible(Effect.forEach(steps.slice(0, spec.protectedSteps), (s) => s, { discard: true }))
  const rest = Effect.forEach(steps.slice(spec.protectedSteps), (s) => s, { discard: true })
  const outcome: Effect.Effect<string, string> =
    spec.outcome === "succeed"
      ? Effect.succeed("value")
      : spec.outcome === "fail"
        ? Effect.fail("failure")
        : spec.outcome === "die"
          ? Effect.die("defect")
          : Effect.interrupt
  let effect = log("started").pipe(Effect.andThen(guarded), Effect.andThen(rest), Effect.andThen(outcome))
  if (spec.finalizerSleep !== undefined) {
    const wait = spec.finalizerSleep
    effect = Effect.onExit(effect, (exit) =>
      (wait === 0 ? Effect.void : Effect.sleep(wait)).pipe(Effect.andThen(log(`finalizer saw ${describeExit(exit)}`)))
    )
  }
  return effect
}

/**
 * Moves the clock `millis` forward one millisecond at a time, letting every fiber settle at
 * each instant: a yield takes a scheduler turn, not time, so an effect that only yields ends
 * at the instant it started. (One `TestClock.adjust` over several wake-ups may move past an
 * instant before a fiber yielding there got its turns, and which implementation sees its
 * deadline first then depends on how many fibers each runs, not on time.)
 */
const advance = (millis: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < millis; i++) {
      for (let turn = 0; turn < settleTurns; turn++) yield* Effect.yieldNow
      yield* TestClock.adjust(1)
    }
    for (let turn = 0; turn < settleTurns; turn++) yield* Effect.yieldNow
  })
/** more than any effect's yields at one instant: its steps, its finalizer, the timeout's own */
const settleTurns = 16
/** past every instant a scenario uses: starts, steps and finalizer sleeps, deadlines */
const horizon = 100

const run = (timeout: Timeout, calls: ReadonlyArray<Call>, interruptAt: number | undefined) =>
  Effect.gen(function* () {
    const logs: Array<Array<string>> = calls.map(() => [])
    const all: Array<string> = []
    const fibers = yield* Effect.forEach(calls, (call, i) => {
      const log = (event: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            logs[i]!.push(`${now}: ${event}`)
            all.push(`${now}: ${i} ${event}`)
          })
        )
      const timed = timeout(build(call.inner, log), call.timeout, Effect.fail("timed out"))
      const program = Effect.sleep(call.startAfter).pipe(
        Effect.andThen(timed),
        Effect.onExit((exit) => log(`caller saw ${describeExit(exit)}`))
      )
      return Effect.forkChild(program, { startImmediately: true })
    })
    if (interruptAt !== undefined) {
      yield* advance(interruptAt)
      // not awaited here: a finalizer that sleeps needs the clock to move on
      yield* Effect.forkChild(Fiber.interruptAll(fibers), { startImmediately: true })
    }
    yield* advance(horizon)
    yield* TestClock.adjust(1_000)
    const exits = yield* Effect.forEach(fibers, Fiber.await)
    // nothing pending on the shared timer once every call settled, and its driver stops
    const clock = yield* Clock.Clock
    yield* Effect.yieldNow
    const state = pendingOf(clock)
    return { exits: exits.map(describeExit), logs, all, state }
  }).pipe(Effect.provide(TestClock.layer()))

describe("shared-timer timeout: same as Effect.timeoutOrElse", () => {
  it("one call: same exit, same events at the same instants, same order", async () => {
    await fc.assert(
      fc.asyncProperty(single, async ({ call, interruptAt }) => {
        const expected = await Effect.runPromise(run(reference, [call], interruptAt))
        const actual = await Effect.runPromise(run(ours, [call], interruptAt))
        expect(actual.exits).toEqual(expected.exits)
        expect(actual.all).toEqual(expected.all)
        expect(actual.state).toEqual({ pending: 0, driver: false })
      }),
      { numRuns: 300, timeout: 2000 }
    )
  })

  it("concurrent calls on one wake-up: same exit and same events for each call", async () => {
    await fc.assert(
      fc.asyncProperty(concurrent, async ({ calls, interruptAt }) => {
        const expected = await Effect.runPromise(run(reference, calls, interruptAt))
        const actual = await Effect.runPromise(run(ours, calls, interruptAt))
        expect(actual.exits).toEqual(expected.exits)
        expect(actual.logs).toEqual(expected.logs)
        expect(actual.state).toEqual({ pending: 0, driver: false })
      }),
      { numRuns: 200, timeout: 2000 }
    )
  })
})

describe("shared-timer timeout", () => {
  it.effect("a synchronous effect arms no timer", () =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      const value = yield* timeoutOrElse(
        Effect.sync(() => 1),
        10,
        Effect.fail("timed out")
      )
      expect(value).toBe(1)
      expect(pendingOf(clock)).toEqual({ pending: 0, driver: false })
    })
  )

  it.effect("a success at the deadline is a success", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(timeoutOrElse(Effect.as(Effect.sleep(10), "done"), 10, Effect.fail("timed out")))
      yield* TestClock.adjust(10)
      expect(yield* Fiber.await(fiber)).toEqual(Exit.succeed("done"))
    })
  )

  it.effect("the effect's finalizer runs before the caller sees the timeout", () =>
    Effect.gen(function* () {
      const events: Array<string> = []
      const slow = Effect.never.pipe(Effect.ensuring(Effect.sleep(5).pipe(Effect.andThen(Effect.sync(() => events.push("finalized"))))))
      const fiber = yield* Effect.forkChild(
        timeoutOrElse(
          slow,
          10,
          Effect.sync(() => events.push("timed out"))
        ).pipe(Effect.andThen(Effect.fail("x")))
      )
      yield* TestClock.adjust(12)
      expect(events).toEqual([])
      yield* TestClock.adjust(5)
      expect(events).toEqual(["finalized", "timed out"])
      yield* Fiber.await(fiber)
    })
  )

  it.effect("the driver wakes once for many calls and stops when none is pending", () =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      const fibers = yield* Effect.forEach(Array.from({ length: 50 }), (_, i) =>
        Effect.forkChild(timeoutOrElse(Effect.as(Effect.sleep(i % 2 === 0 ? 5 : 50), i), 20, Effect.succeed(-1)), {
          startImmediately: true
        })
      )
      expect(pendingOf(clock)).toEqual({ pending: 50, driver: true })
      yield* TestClock.adjust(5)
      expect(pendingOf(clock).pending).toBe(25)
      yield* TestClock.adjust(15)
      const values = yield* Effect.forEach(fibers, Fiber.join)
      expect(values.filter((v) => v === -1)).toHaveLength(25)
      yield* Effect.yieldNow
      expect(pendingOf(clock)).toEqual({ pending: 0, driver: false })
    })
  )

  it.effect("an earlier deadline moves the wake-up earlier", () =>
    Effect.gen(function* () {
      const long = yield* Effect.forkChild(timeoutOrElse(Effect.never, 100, Effect.succeed("long")), { startImmediately: true })
      const short = yield* Effect.forkChild(timeoutOrElse(Effect.never, 10, Effect.succeed("short")), { startImmediately: true })
      yield* TestClock.adjust(10)
      expect(yield* Fiber.join(short)).toBe("short")
      expect(long.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(90)
      expect(yield* Fiber.join(long)).toBe("long")
    })
  )
})
