/**
 * How the property tests run one generated scenario: scoped, under a fresh TestClock, with the
 * scenario's run-loop budget (a small one makes fibers yield almost everywhere, so
 * interruptions land between any two steps) and logs off.
 */
import type { Scope } from "effect"
import { Effect, References } from "effect"
import { TestClock } from "effect/testing"

export const runScenario = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>, opsBeforeYield: number): Promise<A> =>
  Effect.runPromise(
    effect.pipe(
      Effect.scoped,
      Effect.provideService(References.MaxOpsBeforeYield, opsBeforeYield),
      Effect.provide(TestClock.layer()),
      Effect.provideService(References.MinimumLogLevel, "None")
    )
  )

/** `n` run-loop steps doing nothing: puts a call at a chosen step of its fiber (interruption tests) */
export const steps = (n: number): Effect.Effect<void> => {
  let effect: Effect.Effect<void> = Effect.void
  for (let i = 0; i < n; i++) {
    const next = effect
    effect = Effect.flatMap(Effect.void, () => next)
  }
  return effect
}
