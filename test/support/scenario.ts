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
