/**
 * Waiting in tests without sleeping blindly: `yieldUntil` gives forked fibers scheduler rounds
 * (under TestClock no time passes), `pollUntil` re-checks a condition against real time, for
 * tests with real sockets and servers, and gives up after a bound.
 */
import { expect } from "@effect/vitest"
import { Effect } from "effect"

/** Yields until `done()` holds (forked work may need several scheduler rounds), then asserts it. */
export const yieldUntil = (done: () => boolean, rounds = 1_000) =>
  Effect.gen(function* () {
    for (let i = 0; i < rounds && !done(); i++) yield* Effect.yieldNow
    expect(done()).toBe(true)
  })

/** Re-evaluates `condition` every `everyMillis` of real time until it holds; false after `millis`. */
export const pollUntil = <E, R>(condition: Effect.Effect<boolean, E, R>, millis: number, everyMillis = 10) =>
  Effect.gen(function* () {
    const deadline = Date.now() + millis
    while (!(yield* condition)) {
      if (Date.now() > deadline) return false
      yield* Effect.sleep(everyMillis)
    }
    return true
  })
